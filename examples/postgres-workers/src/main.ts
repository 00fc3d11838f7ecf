/**
 * `pnpm start` of this example: one API process and `WORKERS` (default 3) worker processes, all children of this one.
 * In production each would be its own service; this launcher only saves typing. Ctrl-C stops them all gracefully.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const workers = Number(process.env.WORKERS ?? 3)
const run = (file: string, env: Record<string, string> = {}) =>
  spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL(file, import.meta.url))], {
    stdio: "inherit",
    // a group of their own: a Ctrl-C reaches only this launcher, which passes one SIGTERM on (a second signal
    // would cut a child's graceful shutdown short)
    detached: true,
    env: { ...process.env, ...env }
  })

const children = [
  run("./api.ts"),
  // no WORKER_ID: each worker process names itself uniquely (a restarted worker is a new worker, never the old one)
  ...Array.from({ length: workers }, () => run("./worker.ts"))
]
let stopping = false
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return
  stopping = true
  for (const child of children) child.kill(signal)
}
process.on("SIGINT", () => stop("SIGTERM"))
process.on("SIGTERM", () => stop("SIGTERM"))
let left = children.length
let failed = false
for (const child of children) {
  child.on("exit", (code) => {
    failed ||= code !== 0
    // one child dying takes the others down with it, as a supervisor would restart the lot
    stop("SIGTERM")
    if (--left === 0) process.exit(failed ? 1 : 0)
  })
}
