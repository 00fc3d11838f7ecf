/**
 * `pnpm --filter @jobloom/bench micro`: micro-benchmarks of the store hot paths (insert, claim, settle, progress
 * write) straight on the `JobStore` port, with tinybench, to guide optimisation. Each store gets a fresh schema or
 * file. Every operation is measured for one job and for ten jobs per call (the worker batches claims and settles).
 *
 * Options: `--stores memory,sqlite,postgres` (default sqlite and postgres), `--time <ms>` of measurement per task
 * (default 1000).
 */
import { JobStore, MemoryJobStore } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import pg from "pg"
import { Bench } from "tinybench"
import { noopRow } from "./noopRow.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

const args = process.argv.slice(2).filter((a) => a !== "--")
const flag = (name: string): string | undefined => {
  const k = args.indexOf(`--${name}`)
  return k === -1 ? undefined : args[k + 1]
}
// the memory store is opt-in: its claim scans every job, and the settle tasks claim anew every 50 settles
const storeNames = (flag("stores") ?? "sqlite,postgres").split(",")
const timeMs = Number(flag("time") ?? 1000)
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const progressJson = `{"summary":{"status":"RUNNING","progress":0.5},"stages":[],"items":null}`

const row = (queue: string, now: number): JobStore.NewJobRow => noopRow(queue, now)

const benchStore = async (name: string, layer: Layer.Layer<JobStore.JobStore, unknown>) => {
  const runtime = ManagedRuntime.make(layer)
  const store = await runtime.runPromise(JobStore.JobStore)
  const run = <A>(effect: Effect.Effect<A, unknown>) => runtime.runPromise(effect)
  const [claimer, settler, progressWorker] = ["micro-claim", "micro-settle", "micro-progress"]
  const claimOptions = (queue: string, limit: number, workerId = claimer) => ({
    token: TOKEN,
    workerId,
    now: Date.now(),
    leaseMs: 60_000,
    limit,
    queues: [queue],
    typeLimits: {},
    queueLimits: {}
  })
  const insert = (queue: string, count: number) =>
    run(store.insert({ jobs: Array.from({ length: count }, () => row(queue, Date.now() - 1)) }))

  // queued jobs per claim task, topped up outside the timed window
  const queued = new Map<string, number>()
  const ensureQueued = async (queue: string, need: number) => {
    if ((queued.get(queue) ?? 0) >= need) return
    await insert(queue, 2_000)
    queued.set(queue, (queued.get(queue) ?? 0) + 2_000)
  }
  // jobs held for the settle tasks: like a worker at concurrency 50, never more than about 50 at once (a store may
  // find a worker's jobs through its lease, so a worker holding thousands would measure something no worker does)
  const held: Array<string> = []
  const ensureHeld = async (need: number) => {
    if (held.length >= need) return
    await ensureQueued("settle", 50)
    const rows = await run(store.claim(claimOptions("settle", 50, settler)))
    queued.set("settle", (queued.get("settle") ?? 0) - rows.length)
    held.push(...rows.map((r) => r.id))
  }
  // ten jobs held by a worker of their own for the whole run, for the progress tasks
  await insert("progress", 10)
  const progressIds = (await run(store.claim(claimOptions("progress", 10, progressWorker)))).map((r) => r.id)

  const bench = new Bench({ name, time: timeMs, iterations: 20, warmupIterations: 5, warmupTime: 100 })
  for (const size of [1, 10]) {
    bench.add(`${name} insert ×${size}`, () => insert("insert", size))
  }
  bench.add(`${name} insert ×100`, () => insert("insert", 100))
  for (const size of [1, 10]) {
    const queue = `claim${size}`
    bench.add(
      `${name} claim ×${size}`,
      async () => {
        const rows = await run(store.claim(claimOptions(queue, size)))
        queued.set(queue, (queued.get(queue) ?? 0) - rows.length)
      },
      { beforeEach: () => ensureQueued(queue, size) }
    )
  }
  for (const size of [1, 10]) {
    bench.add(
      `${name} settle Complete ×${size}`,
      async () => {
        const ids = held.splice(0, size)
        await run(
          store.settle({
            workerId: settler,
            now: Date.now(),
            settlements: ids.map((id) => ({ _tag: "Complete", id, token: TOKEN, progress: null, result: null }))
          })
        )
      },
      { beforeEach: () => ensureHeld(size) }
    )
  }
  for (const size of [1, 10]) {
    bench.add(`${name} saveProgress ×${size}`, () =>
      run(
        store.saveProgress({
          workerId: progressWorker,
          now: Date.now(),
          updates: progressIds.slice(0, size).map((id) => ({ id, token: TOKEN, progress: progressJson }))
        })
      )
    )
  }
  await bench.run()
  await runtime.dispose()
  return bench
}

const main = async () => {
  const suffix = randomBytes(4).toString("hex")
  const schema = `bench_micro_${suffix}`
  const file = path.join(os.tmpdir(), `bench_micro_${suffix}.db`)
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  const rows: Array<Record<string, string | number>> = []
  try {
    const stores: Record<string, () => Layer.Layer<JobStore.JobStore, unknown>> = {
      memory: () => MemoryJobStore.layer,
      sqlite: () => SqliteJobStore.layer({ filename: file }),
      postgres: () => PgJobStore.layer({ url: databaseUrl, schema })
    }
    for (const name of storeNames) {
      const make = stores[name]
      if (make === undefined) throw new Error(`unknown store ${name}`)
      process.stderr.write(`micro: ${name}\n`)
      const bench = await benchStore(name, make())
      for (const task of bench.tasks) {
        const result = task.result
        if (result.state !== "completed") throw new Error(`${task.name}: ${result.state}`)
        const entry = {
          task: task.name,
          "ops/s": Math.round(result.throughput.mean),
          "mean ms": Number(result.latency.mean.toFixed(3)),
          "p50 ms": Number(result.latency.p50.toFixed(3)),
          "p99 ms": Number(result.latency.p99.toFixed(3)),
          samples: result.latency.samplesCount
        }
        rows.push(entry)
        console.log(JSON.stringify({ kind: "micro", ...entry }))
      }
    }
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`)
    await admin.end()
    for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true })
  }
  console.table(rows)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`micro failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  }
)
