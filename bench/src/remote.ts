/**
 * `pnpm bench` remote-worker line (also runnable alone: `tsx bench/src/remote.ts`): one remote worker drains `--n`
 * no-op jobs (5,000) over loopback HTTP from a server process of its own (`remote/server.ts`, SQLite), claiming in
 * batches of `--batch` (100) and settling each claimed job with its own `succeed` request, the batch's requests in
 * flight together over keep-alive connections (as a worker with a small connection pool would). The figure is jobs/s
 * from the first claim until the last job is settled: the cost of the HTTP path per job, beside the in-process
 * drains above.
 *
 * Options: `--n` (5000), `--batch` (100), `--json <file>` (appends one JSON line).
 */
import { spawn } from "node:child_process"
import { appendFileSync, mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { fmt } from "./stats.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const n = Number(flag("--n", "5000"))
const batch = Number(flag("--batch", "100"))
const jsonOut = flag("--json", "")

const post = async (url: string, body: unknown): Promise<any> => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text}`)
  return text === "" ? null : JSON.parse(text)
}

const dir = mkdtempSync(path.join(os.tmpdir(), "jobloom-bench-remote-"))
const child = spawn(
  process.execPath,
  ["--import", "tsx", path.join(here, "remote/server.ts"), "--file", path.join(dir, "jobs.db")],
  { stdio: ["ignore", "pipe", "inherit"] }
)
try {
  const port = await new Promise<number>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const match = /listening (\d+)/.exec(out)
      if (match !== null) resolve(Number(match[1]))
    })
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)))
  })
  const api = `http://127.0.0.1:${port}/api`
  for (let created = 0; created < n; created += 1000) {
    const jobs = Array.from({ length: Math.min(1000, n - created) }, () => ({ type: "noop" }))
    await post(`${api}/jobs?startNow=true`, { jobs })
  }

  const started = performance.now()
  let settled = 0
  let claims = 0
  while (settled < n) {
    const { jobs } = await post(`${api}/workers/claim`, { workerId: "bench", types: ["noop"], limit: batch })
    claims++
    if (jobs.length === 0) throw new Error(`nothing to claim after ${settled} of ${n} jobs`)
    await Promise.all(
      jobs.map((claimed: { job: { id: string }; token: string }) =>
        post(`${api}/workers/jobs/${claimed.job.id}/succeed`, { token: claimed.token })
      )
    )
    settled += jobs.length
  }
  const seconds = (performance.now() - started) / 1000
  const rate = n / seconds
  process.stdout.write(
    `\nremote worker over HTTP (SQLite, loopback): drained ${n} no-op jobs in ${fmt(seconds)} s with ${claims} ` +
      `claims of up to ${batch}: ${fmt(rate)} jobs/s\n`
  )
  if (jsonOut !== "") {
    appendFileSync(jsonOut, JSON.stringify({ bench: "remote-drain", store: "sqlite", n, batch, seconds, rate }) + "\n")
  }
} finally {
  child.kill("SIGTERM")
  await new Promise((resolve) => child.once("exit", resolve))
  rmSync(dir, { recursive: true, force: true })
}
