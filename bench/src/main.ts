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
 * `--batch` jobs per bulk call (1,000), `--tracing` / `--no-metrics` (jobloom's drivers under a tracer / recording no
 * metric: their cost, run against the default, which records metrics and installs no tracer), `--engines a,b`, `--cpu-prof <engine>` (profiles its worker processes into
 * `bench/out/prof`), `--json <file>` (also writes the JSON lines there), `--skip c10,best,each,latency,http` (steps to
 * leave out while tuning). The last step, `http`, is `http.ts`: create latency with 200 keep-alive HTTP clients.
 *
 * This file runs the rounds; `options.ts` reads the command line, `driver.ts` builds and calls the driver processes,
 * `report.ts` keeps the samples and renders the table.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { buildDir, buildDrivers, Driver } from "./driver.js"
import { type EngineName, parseOptions } from "./options.js"
import type { Memory, Setting, Target } from "./protocol.js"
import { gitRevision, type Metric, record as recordIn, render, type Samples } from "./report.js"
import { fmt, percentile } from "./stats.js"

const here = path.dirname(fileURLToPath(import.meta.url))

const samples: Samples = new Map()
const record = (engine: EngineName, metric: Metric, rep: number, value: number, jsonLines: Array<string>) =>
  recordIn(samples, engine, metric, rep, value, jsonLines)

const randomSuffix = () => randomBytes(4).toString("hex")

const main = async () => {
  const options = parseOptions(process.argv.slice(2))
  // read by jobloom's drivers (`jobloom.ts`), which inherit this environment
  if (options.tracing) process.env.BENCH_TRACING = "1"
  if (!options.metrics) process.env.BENCH_METRICS = "off"
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
    `bench: engines ${options.engines.join(", ")}; n ${options.n}, ${options.reps} round(s), ${options.samples} latency samples ${options.spacingMs} ms apart, ${options.each} one-at-a-time; jobloom ${options.tracing ? "traced" : "untraced"}, metrics ${options.metrics ? "on" : "off"}`
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

  const report = render(options, samples, started, revision, versions.rows[0]!.v, jsonLines)
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
  // cost as the history grows (`scale.ts`, runnable alone too); tiny under --quick
  if (!options.skip.includes("scale"))
    execFileSync(
      process.execPath,
      ["--import", "tsx", path.join(here, "scale.ts"), ...(options.quick ? ["--quick"] : [])],
      {
        stdio: "inherit"
      }
    )
  // one remote worker draining no-op jobs over loopback HTTP (`remote.ts`, runnable alone too)
  if (!options.skip.includes("remote"))
    execFileSync(
      process.execPath,
      ["--import", "tsx", path.join(here, "remote.ts"), ...(options.quick ? ["--n", "500"] : [])],
      { stdio: "inherit" }
    )
}

main()
  .then(async () => {
    process.exit(0)
  })
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
