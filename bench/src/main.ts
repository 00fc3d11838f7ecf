/**
 * `pnpm bench`: jobloom against graphile-worker and pg-boss, side by side, on this machine, in this run.
 *
 * Every engine runs in child processes (see `protocol.ts`): one client per engine and round (enqueues, ANALYZE),
 * and a fresh worker process per drain and per latency run, so each worker's peak RSS is its own. The drivers run as
 * plain JavaScript under `node` (built first by `buildDrivers`), not under tsx, whose loader thread alone adds tens of
 * MB to a process. Each round gives every engine a fresh schema (or SQLite file) and runs each measurement for
 * every engine before the next measurement (the engine order rotates per round), so machine drift hits them alike.
 * Medians of the rounds are reported with min and max; the ratios jobloom/peer are the result, not the absolute
 * figures.
 *
 * A round: bulk enqueue of N (timed); drain at concurrency 10; bulk enqueue of N again; drain at the engine's best
 * setting; one-at-a-time enqueue of `--each` jobs (timed); latency run (its worker first drains those jobs as a
 * warm-up, then the samples are enqueued from the worker's own process, so every engine wakes its worker its own way:
 * LISTEN/NOTIFY for the three Postgres engines, an in-process signal for SQLite). Drain figures run from the first
 * handler start until the store reports no unsettled job; ANALYZE runs on the engine's tables before each drain.
 *
 * Options: `--quick` (CI smoke run), `--n` jobs per drain and bulk enqueue (20,000), `--reps` rounds (3),
 * `--samples` latency samples (500), `--spacing` ms between them (10), `--each` jobs enqueued one at a time (2,000),
 * `--batch` jobs per bulk call (1,000), `--engines a,b`, `--cpu-prof <engine>` (profiles its worker processes into
 * `bench/out/prof`), `--json <file>` (also writes the JSON lines there), `--skip c10,best,each,latency,http` (steps to
 * leave out while tuning). The last step, `http`, is `http.ts`: create latency with 200 keep-alive HTTP clients.
 */
import { execFileSync, fork } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import pg from "pg"
import type { Command, Commands, Memory, Request, Response, Setting, Target } from "./protocol.js"
import { fmt, percentile, summarize } from "./stats.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const outDir = path.resolve(here, "../out")
/**
 * This run's compiled drivers: a directory of its own, so that another run starting meanwhile (CI in the same tree)
 * cannot swap the code under this one's later processes.
 */
const buildDir = path.join(outDir, `run-${process.pid}-${randomBytes(3).toString("hex")}`)

/** The engines, in the table's column order. */
const ALL_ENGINES = ["jobloom-postgres", "jobloom-sqlite", "graphile-worker", "pg-boss"] as const
type EngineName = (typeof ALL_ENGINES)[number]

const JOBLOOM: ReadonlyArray<EngineName> = ["jobloom-postgres", "jobloom-sqlite"]
const PEERS: ReadonlyArray<EngineName> = ["graphile-worker", "pg-boss"]

interface Options {
  readonly quick: boolean
  readonly n: number
  readonly reps: number
  readonly samples: number
  readonly spacingMs: number
  readonly each: number
  readonly batch: number
  readonly engines: ReadonlyArray<EngineName>
  readonly cpuProf: ReadonlyArray<string>
  readonly json: string | null
  readonly skip: ReadonlyArray<string>
  readonly databaseUrl: string
}

const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const flags = new Map<string, string>()
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!
    if (arg === "--") continue
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`)
    const [key, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
    if (key === "quick") flags.set(key, "true")
    else flags.set(key, inline ?? argv[++k] ?? "")
  }
  const known = ["quick", "n", "reps", "samples", "spacing", "each", "batch", "engines", "cpu-prof", "json", "skip"]
  for (const key of flags.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}`)
  const quick = flags.has("quick")
  const int = (key: string, full: number, small: number) => {
    const raw = flags.get(key)
    const value = raw === undefined ? (quick ? small : full) : Number(raw)
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a positive integer`)
    return value
  }
  // by default every engine whose driver is present
  const present = ALL_ENGINES.filter((e) => existsSync(path.join(here, "engines", `${e}.ts`)))
  const engines = (flags.get("engines")?.split(",") ?? present).map((e) => e.trim())
  for (const e of engines) if (!ALL_ENGINES.includes(e as EngineName)) throw new Error(`unknown engine ${e}`)
  return {
    quick,
    n: int("n", 20_000, 500),
    reps: int("reps", 3, 1),
    samples: int("samples", 500, 30),
    spacingMs: int("spacing", 10, 10),
    each: int("each", 2_000, 100),
    batch: int("batch", 1_000, 250),
    engines: ALL_ENGINES.filter((e) => engines.includes(e)),
    cpuProf: flags.get("cpu-prof")?.split(",") ?? [],
    json: flags.get("json") ?? null,
    skip: flags.get("skip")?.split(",") ?? [],
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  }
}

/**
 * Compiles each engine driver to one ES module under `out/run-<pid>-<id>/engines`: the sources of the bench and of
 * jobloom are bundled, every npm package stays external and loads from `bench/node_modules` as in any deployment.
 */
const buildDrivers = async (engines: ReadonlyArray<EngineName>): Promise<void> => {
  await esbuild.build({
    entryPoints: engines.map((engine) => path.join(here, "engines", `${engine}.ts`)),
    outdir: path.join(buildDir, "engines"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
    plugins: [
      {
        name: "npm-packages-external",
        setup: (build) => {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@jobloom/") ? undefined : { external: true }
          )
        }
      }
    ]
  })
}

/** A driver process and a typed way to call it. */
class Driver {
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private exited: Error | null = null

  private constructor(
    readonly engine: EngineName,
    readonly child: ChildProcess
  ) {
    child.on("message", (message: Response) => {
      const waiter = this.waiting.get(message.id)
      if (waiter === undefined) return
      this.waiting.delete(message.id)
      if (message.ok) waiter.resolve(message.value)
      else waiter.reject(new Error(`${engine}: ${message.error}`))
    })
    child.on("exit", (code, signal) => {
      this.exited = new Error(`${engine} driver exited (code ${code}, signal ${signal})`)
      for (const waiter of this.waiting.values()) waiter.reject(this.exited)
      this.waiting.clear()
    })
  }

  static async spawn(engine: EngineName, profile: boolean): Promise<Driver> {
    // tuning aid: BENCH_NODE_FLAGS="--trace-gc" adds flags to every driver process alike
    const execArgv = [
      "--enable-source-maps",
      "--expose-gc",
      ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "")
    ]
    if (profile) {
      mkdirSync(path.join(outDir, "prof"), { recursive: true })
      execArgv.push("--cpu-prof", `--cpu-prof-dir=${path.join(outDir, "prof")}`)
    }
    const child = fork(path.join(buildDir, "engines", `${engine}.mjs`), [], {
      execArgv,
      cwd: path.resolve(here, ".."),
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    // drivers' stdout (stray logs of the engines) goes to our stderr, keeping our stdout for the report
    child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(chunk))
    const driver = new Driver(engine, child)
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (typeof m === "object" && m !== null && "ready" in m) {
          child.off("message", onMessage)
          resolve()
        }
      }
      child.on("message", onMessage)
      child.once("exit", (code) => reject(new Error(`${engine} driver exited before ready (code ${code})`)))
    })
    return driver
  }

  call<C extends Command>(cmd: C, args: Commands[C]["args"]): Promise<Commands[C]["result"]> {
    if (this.exited) return Promise.reject(this.exited)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ id, cmd, args } satisfies Request)
    })
  }

  /** Asks the driver to close and waits for the process to end. */
  async close(): Promise<void> {
    if (this.exited) return
    const ended = new Promise<void>((resolve) => this.child.once("exit", () => resolve()))
    await this.call("close", null)
    await ended
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL")
  }
}

/** The metrics, their units and which way is better. */
const METRICS = {
  "bulk-enqueue": { label: "bulk enqueue", unit: "jobs/s", higher: true },
  "enqueue-one": { label: "one-at-a-time enqueue", unit: "jobs/s", higher: true },
  "drain-c10": { label: "drain, concurrency 10", unit: "jobs/s", higher: true },
  drain: { label: "drain, best setting", unit: "jobs/s", higher: true },
  "latency-p50": { label: "latency p50", unit: "ms", higher: false },
  "latency-p95": { label: "latency p95", unit: "ms", higher: false },
  "latency-p99": { label: "latency p99", unit: "ms", higher: false },
  "cpu-c10": { label: "worker CPU per job, drain c10", unit: "µs", higher: false },
  "cpu-drain": { label: "worker CPU per job, drain best", unit: "µs", higher: false },
  "rss-c10": { label: "worker peak RSS, drain c10", unit: "MB", higher: false },
  "rss-drain": { label: "worker peak RSS, drain best", unit: "MB", higher: false },
  "rss-latency": { label: "worker peak RSS, latency run", unit: "MB", higher: false }
} as const
type Metric = keyof typeof METRICS

const samples = new Map<string, Array<number>>()
const record = (engine: EngineName, metric: Metric, rep: number, value: number, jsonLines: Array<string>) => {
  const key = `${engine} ${metric}`
  samples.set(key, [...(samples.get(key) ?? []), value])
  jsonLines.push(JSON.stringify({ kind: "sample", engine, metric, rep, value, unit: METRICS[metric].unit }))
}

const randomSuffix = () => randomBytes(4).toString("hex")

const main = async () => {
  const options = parseOptions(process.argv.slice(2))
  const admin = new pg.Pool({ connectionString: options.databaseUrl, max: 1 })
  const jsonLines: Array<string> = []
  const live = new Set<Driver>()
  const schemas = new Set<string>()
  const files = new Set<string>()
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const cleanup = async () => {
    for (const driver of live) driver.kill()
    for (const schema of schemas) await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => {})
    for (const file of files) for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true })
    rmSync(buildDir, { recursive: true, force: true })
  }
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130))
  })
  const spawn = async (engine: EngineName) => {
    const driver = await Driver.spawn(engine, options.cpuProf.includes(engine))
    live.add(driver)
    return driver
  }
  const retire = async (driver: Driver) => {
    await driver.close()
    live.delete(driver)
  }
  /** Runs `step` for each engine in this round's order. */
  const each = async (order: ReadonlyArray<EngineName>, step: (engine: EngineName) => Promise<void>) => {
    for (const engine of order) await step(engine)
  }

  log(
    `bench: engines ${options.engines.join(", ")}; n ${options.n}, ${options.reps} round(s), ${options.samples} latency samples ${options.spacingMs} ms apart, ${options.each} one-at-a-time`
  )
  const versions = await admin.query<{ v: string }>("select current_setting('server_version') as v")
  const started = new Date()
  const revision = gitRevision()
  await buildDrivers(options.engines)
  try {
    for (let rep = 0; rep < options.reps; rep++) {
      // rotate the order each round so no engine always runs first or last
      const order = options.engines.map((_, k) => options.engines[(k + rep) % options.engines.length]!)
      log(`round ${rep + 1}/${options.reps}: ${order.join(", ")}`)
      const targets = new Map<EngineName, Target>()
      const clients = new Map<EngineName, Driver>()
      await each(order, async (engine) => {
        const schema = `bench_${engine.replace(/-/g, "_")}_${randomSuffix()}`
        const sqliteFile = path.join(os.tmpdir(), `${schema}.db`)
        schemas.add(schema)
        files.add(sqliteFile)
        const target = { databaseUrl: options.databaseUrl, schema, sqliteFile }
        targets.set(engine, target)
        const client = await spawn(engine)
        await client.call("open", { target, role: "client" })
        clients.set(engine, client)
      })
      const drain = async (engine: EngineName, setting: Setting) => {
        await clients.get(engine)!.call("analyze", null)
        const worker = await spawn(engine)
        await worker.call("open", { target: targets.get(engine)!, role: "worker" })
        const result = await worker.call("drain", { count: options.n, setting })
        await retire(worker)
        const rate = options.n / (result.ms / 1000)
        record(engine, setting === "c10" ? "drain-c10" : "drain", rep, rate, jsonLines)
        record(engine, setting === "c10" ? "rss-c10" : "rss-drain", rep, result.rssMb, jsonLines)
        const cpuPerJob = (result.cpuMs * 1000) / options.n
        record(engine, setting === "c10" ? "cpu-c10" : "cpu-drain", rep, cpuPerJob, jsonLines)
        log(
          `  ${engine} drain ${setting}: ${fmt(rate)} jobs/s (startup ${fmt(result.startupMs)} ms), worker CPU ${fmt(cpuPerJob)} µs/job, peak RSS ${fmt(result.rssMb)} MB (${fmt(result.rssBeforeMb)} MB before the worker started, heap ${fmt(result.heapAfterMb)} MB retained after)`
        )
        const mem = (m: Memory) =>
          `RSS ${fmt(m.rss)}, heap ${fmt(m.heapUsed)} used of ${fmt(m.heapTotal)} (young ${fmt(m.young)}, old ${fmt(m.old)}, large objects ${fmt(m.large)} resident), external ${fmt(m.external)} (array buffers ${fmt(m.arrayBuffers)})`
        log(`    memory MB before: ${mem(result.memoryBefore)}; at the sampled peak: ${mem(result.memoryAtPeak)}`)
        jsonLines.push(
          JSON.stringify({
            kind: "memory",
            engine,
            setting,
            rep,
            unit: "MB",
            before: result.memoryBefore,
            atPeak: result.memoryAtPeak
          })
        )
      }
      await each(order, async (engine) => {
        const { ms } = await clients.get(engine)!.call("enqueueMany", { count: options.n, batch: options.batch })
        record(engine, "bulk-enqueue", rep, options.n / (ms / 1000), jsonLines)
        log(`  ${engine} bulk enqueue: ${fmt(options.n / (ms / 1000))} jobs/s`)
      })
      const skip = (step: string) => options.skip.includes(step)
      if (!skip("c10")) {
        await each(order, (engine) => drain(engine, "c10"))
        await each(order, async (engine) => {
          await clients.get(engine)!.call("enqueueMany", { count: options.n, batch: options.batch })
        })
      }
      if (!skip("best")) await each(order, (engine) => drain(engine, "best"))
      if (!skip("each"))
        await each(order, async (engine) => {
          const { ms } = await clients.get(engine)!.call("enqueueEach", { count: options.each })
          record(engine, "enqueue-one", rep, options.each / (ms / 1000), jsonLines)
          log(`  ${engine} one-at-a-time enqueue: ${fmt(options.each / (ms / 1000))} jobs/s`)
        })
      if (!skip("latency"))
        await each(order, async (engine) => {
          await clients.get(engine)!.call("analyze", null)
          const worker = await spawn(engine)
          await worker.call("open", { target: targets.get(engine)!, role: "worker" })
          const { latenciesMs, rssMb } = await worker.call("latency", {
            samples: options.samples,
            spacingMs: options.spacingMs
          })
          await retire(worker)
          const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(latenciesMs, p)) as [number, number, number]
          record(engine, "latency-p50", rep, p50, jsonLines)
          record(engine, "latency-p95", rep, p95, jsonLines)
          record(engine, "latency-p99", rep, p99, jsonLines)
          record(engine, "rss-latency", rep, rssMb, jsonLines)
          log(`  ${engine} latency: p50 ${fmt(p50)} ms, p95 ${fmt(p95)} ms, p99 ${fmt(p99)} ms`)
        })
      await each(order, async (engine) => {
        await retire(clients.get(engine)!)
        const { schema, sqliteFile } = targets.get(engine)!
        await admin.query(`drop schema if exists "${schema}" cascade`)
        schemas.delete(schema)
        for (const suffix of ["", "-wal", "-shm"]) rmSync(sqliteFile + suffix, { force: true })
        files.delete(sqliteFile)
      })
    }
  } finally {
    await cleanup()
    await admin.end()
  }

  const report = render(options, started, revision, versions.rows[0]!.v, jsonLines)
  process.stdout.write(report)
  if (options.json !== null) writeFileSync(options.json, jsonLines.join("\n") + "\n")
  // fair service over HTTP, in processes of its own (also runnable alone: `pnpm --filter @jobloom/bench http`)
  if (!options.skip.includes("http")) {
    const httpArgs = [
      ...(options.quick ? ["--requests", "5"] : []),
      ...(options.json === null ? [] : ["--json", options.json])
    ]
    execFileSync(process.execPath, ["--import", "tsx", path.join(here, "http.ts"), ...httpArgs], { stdio: "inherit" })
  }
  // one remote worker draining no-op jobs over loopback HTTP (`remote.ts`, runnable alone too)
  if (!options.skip.includes("remote"))
    execFileSync(
      process.execPath,
      ["--import", "tsx", path.join(here, "remote.ts"), ...(options.quick ? ["--n", "500"] : [])],
      { stdio: "inherit" }
    )
}

/** The commit the drivers were built from, marked `+changes` when the work tree differs from it. */
const gitRevision = (): string => {
  try {
    const git = (args: ReadonlyArray<string>) =>
      execFileSync("git", args, { cwd: here, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== ""
    return `${git(["rev-parse", "--short", "HEAD"])}${dirty ? " +changes" : ""}`
  } catch {
    return "unknown (not a git work tree)"
  }
}

/** The installed version of an engine's package (workspace packages are linked into bench/node_modules). */
const engineVersion = (engine: EngineName): string => {
  const pkg: Record<EngineName, string> = {
    "jobloom-postgres": "@jobloom/store-postgres",
    "jobloom-sqlite": "@jobloom/store-sqlite",
    "graphile-worker": "graphile-worker",
    "pg-boss": "pg-boss"
  }
  try {
    const json = JSON.parse(readFileSync(path.resolve(here, "../node_modules", pkg[engine], "package.json"), "utf8"))
    return String(json.version)
  } catch {
    return "?"
  }
}

const render = (
  options: Options,
  started: Date,
  revision: string,
  pgVersion: string,
  jsonLines: Array<string>
): string => {
  const lines: Array<string> = []
  const cpus = os.cpus()
  lines.push(`## jobloom benchmark, ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`)
  lines.push("")
  lines.push(
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${fmt(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}; Node ${process.version}; PostgreSQL ${pgVersion}.`
  )
  lines.push(`Tree: ${revision} (the sources the drivers were built from).`)
  lines.push(
    `Engines: ${options.engines.map((e) => `${e} ${engineVersion(e)}`).join(", ")}. N = ${options.n}, ${options.reps} round(s), ${options.samples} latency samples ${options.spacingMs} ms apart, ${options.each} jobs enqueued one at a time, bulk batches of ${options.batch}.`
  )
  lines.push("")
  lines.push("Median of the rounds, (min–max) below it when there are several.")
  lines.push("")
  lines.push(`| metric | ${options.engines.join(" | ")} |`)
  lines.push(`|---|${options.engines.map(() => "---:").join("|")}|`)
  for (const [metric, info] of Object.entries(METRICS) as Array<[Metric, (typeof METRICS)[Metric]]>) {
    const cells = options.engines.map((engine) => {
      const s = summarize(samples.get(`${engine} ${metric}`) ?? [])
      jsonLines.push(JSON.stringify({ kind: "summary", engine, metric, unit: info.unit, ...s }))
      return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median)
    })
    lines.push(`| ${info.label} (${info.unit}) | ${cells.join(" | ")} |`)
  }
  lines.push("")
  const ratioLines: Array<string> = []
  const median = (engine: EngineName, metric: Metric) => summarize(samples.get(`${engine} ${metric}`) ?? []).median
  const ratioMetrics: ReadonlyArray<Metric> = [
    "drain",
    "drain-c10",
    "latency-p50",
    "latency-p99",
    "bulk-enqueue",
    "enqueue-one",
    "cpu-drain"
  ]
  for (const a of JOBLOOM.filter((e) => options.engines.includes(e))) {
    for (const b of PEERS.filter((e) => options.engines.includes(e))) {
      for (const metric of ratioMetrics) {
        const value = median(a, metric) / median(b, metric)
        ratioLines.push(`ratio ${a}/${b} ${metric}: ${value.toFixed(2)}`)
        jsonLines.push(JSON.stringify({ kind: "ratio", a, b, metric, value }))
      }
    }
  }
  if (ratioLines.length > 0) {
    lines.push("Ratios jobloom/peer of the medians (above 1 is better for jobs/s, below 1 is better for latency):")
    lines.push("")
    lines.push("```")
    lines.push(...ratioLines)
    lines.push("```")
    lines.push("")
  }
  const targets: Array<string> = []
  const check = (name: string, ok: boolean, detail: string) => {
    targets.push(`- ${ok ? "met" : "MISSED"}: ${name} (${detail})`)
    jsonLines.push(JSON.stringify({ kind: "target", name, ok, detail }))
  }
  const has = (e: EngineName) => options.engines.includes(e)
  if (has("jobloom-postgres")) {
    if (has("graphile-worker")) {
      const r = median("jobloom-postgres", "drain") / median("graphile-worker", "drain")
      check("Postgres drain ≥ 1.5× graphile-worker's best", r >= 1.5, `${r.toFixed(2)}×`)
      const p = median("jobloom-postgres", "latency-p50")
      const g = median("graphile-worker", "latency-p50")
      check("Postgres latency p50 below graphile-worker's", p < g, `${fmt(p)} ms vs ${fmt(g)} ms`)
    }
    if (has("pg-boss")) {
      const r = median("jobloom-postgres", "drain") / median("pg-boss", "drain")
      check("Postgres drain ≥ 3× pg-boss", r >= 3, `${r.toFixed(2)}×`)
    }
    const p50 = median("jobloom-postgres", "latency-p50")
    const p99 = median("jobloom-postgres", "latency-p99")
    check("Postgres latency p50 < 5 ms", p50 < 5, `${fmt(p50)} ms`)
    check("Postgres latency p99 < 20 ms", p99 < 20, `${fmt(p99)} ms`)
  }
  if (has("jobloom-sqlite")) {
    const d = median("jobloom-sqlite", "drain")
    check("SQLite drain ≥ 20,000 jobs/s", d >= 20_000, `${fmt(d)} jobs/s`)
  }
  for (const engine of JOBLOOM.filter(has)) {
    const measured = [median(engine, "rss-c10"), median(engine, "rss-drain")].filter(Number.isFinite)
    if (measured.length === 0) continue
    const rss = Math.max(...measured)
    check(`${engine} worker RSS < 150 MB while draining`, rss < 150, `${fmt(rss)} MB`)
  }
  if (targets.length > 0) {
    lines.push("Targets:")
    lines.push("")
    lines.push(...targets)
    lines.push("")
  }
  lines.push("JSON lines:")
  lines.push("")
  lines.push("```jsonl")
  lines.push(...jsonLines)
  lines.push("```")
  lines.push("")
  return lines.join("\n")
}

main()
  .then(async () => {
    process.exit(0)
  })
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
