/**
 * Starts an example's entry point as a child process (node with the tsx loader, not through pnpm, so signals reach
 * the server itself), waits for a line of its output, and stops it with a signal.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = fileURLToPath(new URL("../../../", import.meta.url))

/** A running child process and everything it printed so far. */
export interface Running {
  readonly child: ChildProcess
  /** Stdout and stderr, interleaved. */
  readonly output: () => string
  /** The exit code (or the signal's name), once it has exited. */
  readonly exited: Promise<number | string>
}

/** Spawns `node --import tsx <entry>` from the repository root with extra environment variables. */
export const start = (entry: string, env: Record<string, string | undefined>): Running => {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  return { child, output: () => output, exited }
}

/** Resolves with the first match of `pattern` in the output; rejects if the process exits first or after `ms`. */
export const waitFor = (running: Running, pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> =>
  new Promise((resolve, reject) => {
    const check = () => {
      const match = running.output().match(pattern)
      if (match !== null) {
        done()
        resolve(match)
      }
    }
    const onExit = () => {
      done()
      reject(new Error(`process exited before printing ${pattern}:\n${running.output()}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no ${pattern} within ${ms} ms:\n${running.output()}`))
    }, ms)
    const done = () => {
      clearTimeout(timer)
      running.child.stdout!.off("data", check)
      running.child.stderr!.off("data", check)
      running.child.off("exit", onExit)
    }
    running.child.stdout!.on("data", check)
    running.child.stderr!.on("data", check)
    running.child.once("exit", onExit)
    check()
  })

/** Sends `signal` and resolves with the exit code; kills it outright if it has not exited after `ms`. */
export const stop = async (running: Running, signal: NodeJS.Signals = "SIGTERM", ms = 30_000) => {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.exited
  running.child.kill(signal)
  const timer = setTimeout(() => running.child.kill("SIGKILL"), ms)
  try {
    return await running.exited
  } finally {
    clearTimeout(timer)
  }
}

/** Fetches JSON, failing with the body on a status other than `expected`. */
export const request = async (
  url: string,
  init: { readonly method?: string; readonly body?: unknown } = {},
  expected: ReadonlyArray<number> = [200, 201]
): Promise<any> => {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    ...(init.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } })
  })
  const text = await response.text()
  if (!expected.includes(response.status)) {
    throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${text}`)
  }
  return text === "" ? null : JSON.parse(text)
}

/** Polls a job until `until` holds for it (default: a terminal status), every 100 ms, for at most `ms`. */
export const follow = async (
  api: string,
  id: string,
  until: (job: any) => boolean = (job) => ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(job.status),
  ms = 30_000
): Promise<any> => {
  const deadline = Date.now() + ms
  for (;;) {
    const job = await request(`${api}/jobs/${id}`)
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
