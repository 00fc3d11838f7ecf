/**
 * The chaos suite's harness: worker processes, a private PostgreSQL cluster (never the machine's main one), the
 * execution records the workers write, and the figures drawn from them.
 */
import { Jobs } from "@jobloom/core"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Esbuild from "esbuild"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Chaos } from "./types.js"

const cwd = fileURLToPath(new URL("..", import.meta.url))

// The worker is bundled once into one file: a process then starts in about a second rather than the several it takes
// tsx to load the workspace's sources on a busy machine, so a killed worker's replacement is up before the next kill.
// Under node_modules, so the bundle finds the native modules it leaves out, and git never sees it.
let bundled: Promise<string> | undefined
const bundle = () =>
  (bundled ??= (async () => {
    const outfile = Path.join(cwd, "node_modules", ".chaos", "worker.mjs")
    await Esbuild.build({
      entryPoints: [fileURLToPath(new URL("./worker.ts", import.meta.url))],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      banner: { js: `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);` },
      external: ["better-sqlite3", "pg-native"],
      // the packages' sources, as the tests use them (their exports point at a dist/ a clean clone lacks)
      alias: {
        "@jobloom/core": Path.join(cwd, "..", "packages/core/src/index.ts"),
        "@jobloom/store-sqlite": Path.join(cwd, "..", "packages/store-sqlite/src/index.ts"),
        "@jobloom/store-postgres": Path.join(cwd, "..", "packages/store-postgres/src/index.ts")
      },
      logLevel: "error"
    })
    return outfile
  })())

/** How a worker process reaches its store. */
export type StoreEnv =
  | { readonly store: "pg"; readonly url: string; readonly schema: string }
  | { readonly store: "sqlite"; readonly file: string }

/** Settings of a worker process. */
export interface WorkerSettings {
  readonly concurrency: number
  readonly leaseMs: number
  readonly heartbeatMs: number
  readonly rescueMs: number
}

/** A running worker process. */
export interface WorkerProcess {
  readonly pid: number
  readonly child: ChildProcess
  readonly output: () => string
  /** Epoch ms of its death, once dead. */
  readonly diedAt: () => number | undefined
  readonly exited: Promise<string>
  readonly kill: (signal: NodeJS.Signals) => Promise<string>
}

const storeVars = (store: StoreEnv): Record<string, string> =>
  store.store === "pg"
    ? { CHAOS_STORE: "pg", CHAOS_URL: store.url, CHAOS_SCHEMA: store.schema }
    : { CHAOS_STORE: "sqlite", CHAOS_FILE: store.file }

/** Starts a worker process and waits for its `ready` line. */
export const startWorker = async (
  store: StoreEnv,
  records: string,
  settings: WorkerSettings,
  extraEnv: Record<string, string> = {}
): Promise<WorkerProcess> => {
  let output = ""
  let diedAt: number | undefined
  const child = spawn(process.execPath, [await bundle()], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...storeVars(store),
      ...extraEnv,
      CHAOS_RECORDS: records,
      CHAOS_CONCURRENCY: String(settings.concurrency),
      CHAOS_LEASE_MS: String(settings.leaseMs),
      CHAOS_HEARTBEAT_MS: String(settings.heartbeatMs),
      CHAOS_RESCUE_MS: String(settings.rescueMs)
    }
  })
  const exited = new Promise<string>((resolve) =>
    child.on("exit", (code, signal) => {
      diedAt = Date.now()
      resolve(signal ?? `code ${code}`)
    })
  )
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (/^ready$/m.test(output)) resolve()
    })
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    void exited.then((how) => reject(new Error(`worker ${child.pid} exited (${how}) before ready:\n${output}`)))
    setTimeout(() => reject(new Error(`worker ${child.pid} not ready after 60 s:\n${output}`)), 60_000).unref()
  })
  const handle: WorkerProcess = {
    pid: child.pid!,
    child,
    output: () => output,
    diedAt: () => diedAt,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
  await ready.catch(async (error) => {
    await handle.kill("SIGKILL")
    throw error
  })
  return handle
}

/** A free TCP port on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
    server.on("error", reject)
  })

/** A fresh temp directory. */
export const tempDir = (label: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), `jobloom-chaos-${label}-`))

const pgBin = "/usr/lib/postgresql/15/bin"

/** A PostgreSQL cluster of the suite's own (initdb in a temp dir, its own port), run as user postgres. */
export interface PrivateCluster {
  readonly port: number
  readonly url: (user?: string) => string
  readonly restart: () => void
  readonly stop: () => void
  readonly start: () => void
  readonly psql: (sql: string) => string
  readonly destroy: () => void
}

const asPostgres = (args: ReadonlyArray<string>) => {
  // we run as root: the server refuses to; `runuser` drops to the postgres user (no password, no shell)
  const argv = process.getuid?.() === 0 ? ["-u", "postgres", "--", ...args] : args.slice(1)
  const file = process.getuid?.() === 0 ? "runuser" : args[0]!
  return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
}

/** Creates and starts a private cluster. */
export const privateCluster = async (): Promise<PrivateCluster> => {
  const dir = tempDir("pg")
  Fs.chmodSync(dir, 0o777)
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir])
  const data = Path.join(dir, "data")
  const port = await freePort()
  asPostgres([`${pgBin}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  const ctl = (...args: Array<string>) => asPostgres([`${pgBin}/pg_ctl`, "-D", data, ...args])
  const start = () => void ctl("-o", options, "-l", Path.join(dir, "log"), "-w", "start")
  const stop = () => void ctl("-m", "fast", "-w", "stop")
  start()
  const url = (user = "postgres") => `postgres://${user}@127.0.0.1:${port}/postgres`
  return {
    port,
    url,
    start,
    stop,
    restart: () => void ctl("-o", options, "-l", Path.join(dir, "log"), "-m", "fast", "-w", "restart"),
    psql: (sql) => asPostgres([`${pgBin}/psql`, "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-Atc", sql]),
    destroy: () => {
      try {
        stop()
      } catch {
        // already stopped
      }
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** An engine over `store` in this process, to enqueue jobs and read them back. */
export const engineOver = (store: Layer.Layer<JobStore.JobStore, JobStore.JobStoreError>) =>
  ManagedRuntime.make(Jobs.layer({ types: [Chaos] }).pipe(Layer.provideMerge(store)))

/** Enqueues `count` chaos jobs of 0 to `maxMs` ms, in batches; returns their ids. */
export const enqueue = async (engine: ReturnType<typeof engineOver>, count: number, maxMs: number) => {
  const ids: Array<string> = []
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, () => ({
      type: Chaos.key,
      params: { ms: Math.floor(Math.random() * (maxMs + 1)) }
    }))
    const created = await engine.runPromise(
      Effect.flatMap(Jobs.Jobs, (jobs) => jobs.createMany(batch, { startNow: true }))
    )
    ids.push(...created.jobs.map((job) => job.id))
  }
  return ids
}

/** Jobs of the chaos type not yet terminal. */
export const openJobs = (engine: ReturnType<typeof engineOver>) =>
  engine.runPromise(
    Effect.map(
      Effect.flatMap(Jobs.Jobs, (jobs) => jobs.stats({ types: [Chaos.key] })),
      (stats) =>
        ["CREATED", "QUEUED", "RUNNING", "PAUSING", "PAUSED", "CANCELLING"].reduce(
          (n, status) => n + (stats.byStatus[status as keyof typeof stats.byStatus] ?? 0),
          0
        )
    )
  )

/** Waits until no chaos job is open, or fails after `seconds`. */
export const awaitDrained = async (engine: ReturnType<typeof engineOver>, seconds: number, tick?: () => void) => {
  const end = Date.now() + seconds * 1000
  for (;;) {
    // the database may be restarting: a failed poll is only a poll to make again
    const open = await openJobs(engine).catch(() => Number.POSITIVE_INFINITY)
    if (open === 0) return
    if (Date.now() > end) throw new Error(`${open} jobs still open after ${seconds} s`)
    tick?.()
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** One recorded execution of a job. */
export interface Execution {
  readonly jobId: string
  readonly attempt: number
  readonly pid: number
  readonly start: number
  /** Its end, or the death of its process when it never recorded one. */
  readonly end: number
  readonly how: "ok" | "stopped" | "killed"
}

/** Reads every execution record; an execution without an end line ended with its process. */
export const readExecutions = (records: string, deaths: ReadonlyMap<number, number>): Array<Execution> => {
  const open = new Map<string, { jobId: string; attempt: number; pid: number; start: number }>()
  const done: Array<Execution> = []
  for (const file of Fs.readdirSync(records)) {
    for (const line of Fs.readFileSync(Path.join(records, file), "utf8").split("\n")) {
      const [kind, jobId, attempt, pid, at, how] = line.split(" ")
      if (kind === undefined || jobId === undefined || at === undefined) continue
      const key = `${jobId} ${attempt} ${pid}`
      if (kind === "S") open.set(key, { jobId, attempt: Number(attempt), pid: Number(pid), start: Number(at) })
      else if (kind === "E") {
        const started = open.get(key)
        open.delete(key)
        if (started !== undefined) done.push({ ...started, end: Number(at), how: how === "ok" ? "ok" : "stopped" })
      }
    }
  }
  for (const started of open.values()) {
    done.push({ ...started, end: deaths.get(started.pid) ?? Number.POSITIVE_INFINITY, how: "killed" })
  }
  return done
}

/** The figures of a run. */
export interface Figures {
  readonly jobs: number
  readonly executions: number
  /** Executions beyond one per job. */
  readonly reExecutions: number
  /** Pairs of executions of one job that overlapped in time. */
  readonly overlaps: number
  /** From a killed execution's death to the next execution's start, ms. */
  readonly rescueP50: number | null
  readonly rescueMax: number | null
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** Counts overlaps, re-executions and rescue times. */
export const figuresOf = (executions: ReadonlyArray<Execution>, jobIds: ReadonlyArray<string>): Figures => {
  const byJob = new Map<string, Array<Execution>>()
  for (const e of executions) byJob.set(e.jobId, [...(byJob.get(e.jobId) ?? []), e])
  let overlaps = 0
  const rescues: Array<number> = []
  for (const list of byJob.values()) {
    list.sort((a, b) => a.start - b.start)
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) if (list[j]!.start < list[i]!.end) overlaps++
      if (list[i]!.how === "killed" && i + 1 < list.length) rescues.push(list[i + 1]!.start - list[i]!.end)
    }
  }
  rescues.sort((a, b) => a - b)
  return {
    jobs: jobIds.length,
    executions: executions.length,
    reExecutions: executions.length - byJob.size,
    overlaps,
    rescueP50: percentile(rescues, 0.5),
    rescueMax: rescues.length === 0 ? null : rescues[rescues.length - 1]!
  }
}

/** Final status of every job, and how many succeeded more than once (the engine's end lines, counted). */
export const outcomes = async (engine: ReturnType<typeof engineOver>, ids: ReadonlyArray<string>) =>
  engine.runPromise(
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const statuses = new Map<string, number>()
      let doubleSucceeded = 0
      yield* Effect.forEach(
        ids,
        (id) =>
          Effect.gen(function* () {
            const job = yield* jobs.get(id)
            statuses.set(job.status, (statuses.get(job.status) ?? 0) + 1)
            const logs = yield* jobs.logs(id, { limit: 5000 })
            if (logs.items.filter((line) => / succeeded$/.test(line.message)).length > 1) doubleSucceeded++
          }),
        { concurrency: 8, discard: true }
      )
      return { statuses: Object.fromEntries(statuses), doubleSucceeded }
    })
  )
