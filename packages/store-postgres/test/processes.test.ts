/**
 * Several worker processes (real child processes) against one database, with no coordinator beyond Postgres: they
 * drain a backlog without running any job twice and within a type's concurrency limit, survive the crash of one of
 * them, and survive having every connection they hold terminated mid-run.
 */
import { describe, expect, it } from "@effect/vitest"
import { Jobs, JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PgJobStore from "../src/PgJobStore.js"
import { Limited, LIMITED_CONCURRENCY, Probe, setupStatements } from "./fixtures/types.js"
import { startWorker, type WorkerProcessOptions } from "./processes.js"
import { adminQuery, databaseUrl, freshSchema } from "./utils.js"

const TIMEOUT = 240_000

/** A fresh schema with the store migrated and the handlers' tables, and the engine of this (parent) process. */
const setup = Effect.gen(function* () {
  const schema = yield* freshSchema
  const context = yield* Layer.build(
    Jobs.layer({ types: [Probe, Limited] }).pipe(
      Layer.provideMerge(PgJobStore.layer({ url: databaseUrl, schema, applicationName: "jobloom-test-parent" }))
    )
  )
  for (const statement of setupStatements(schema)) yield* adminQuery(statement)
  return {
    schema,
    jobs: Context.get(context, Jobs.Jobs),
    store: Context.get(context, JobStore.JobStore)
  }
})

const enqueue = (jobs: Jobs.Jobs.Service, inputs: ReadonlyArray<Jobs.CreateJob>, chunk = 500) =>
  Effect.forEach(
    Array.from({ length: Math.ceil(inputs.length / chunk) }, (_, i) => inputs.slice(i * chunk, (i + 1) * chunk)),
    (batch) => jobs.createMany(batch, { startNow: true }),
    { discard: true }
  )

/** Waits until every job of the schema is SUCCEEDED; fails at once if any reached another terminal status. */
const awaitAllSucceeded = (store: JobStore.JobStore.Service, total: number) =>
  Effect.gen(function* () {
    while (true) {
      const stats = yield* store.stats({ filter: {} })
      const count = (status: string) => stats.filter((s) => s.status === status).reduce((n, s) => n + s.count, 0)
      const failed = count("FAILED") + count("CANCELLED") + count("TIMED_OUT")
      if (failed > 0) return yield* Effect.fail(new Error(`jobs ended unsuccessfully: ${JSON.stringify(stats)}`))
      if (count("SUCCEEDED") === total) return
      yield* Effect.sleep("200 millis")
    }
  })

const completions = (schema: string) =>
  adminQuery(`SELECT job_id, completions, worker FROM "${schema}".runs`).pipe(
    Effect.map((rows) => new Map(rows.map((r) => [r.job_id as string, r] as const)))
  )

const attempts = (schema: string) =>
  adminQuery(`SELECT id, attempt, status FROM "${schema}".jobloom_jobs`).pipe(
    Effect.map((rows) => new Map(rows.map((r) => [r.id as string, Number(r.attempt)] as const)))
  )

const awaitRuns = (schema: string, atLeast: number) =>
  Effect.gen(function* () {
    while (true) {
      const [row] = yield* adminQuery(`SELECT count(*)::int AS n FROM "${schema}".runs`)
      if ((row!.n as number) >= atLeast) return
      yield* Effect.sleep("50 millis")
    }
  })

const workers = (schema: string, options: Partial<WorkerProcessOptions> = {}) =>
  Effect.all(
    [0, 1, 2].map((i) => startWorker({ schema, workerId: `w${i}`, appName: `jt-${schema}-w${i}`, ...options })),
    { concurrency: "unbounded" }
  )

describe("PgJobStore with a worker process", () => {
  it.live(
    "a cancel reaches the worker process running the job through NOTIFY, long before any heartbeat",
    () =>
      Effect.gen(function* () {
        const { jobs, schema } = yield* setup
        // leases and heartbeats far longer than the wait below: only the signal can stop the handler in time
        yield* startWorker({
          schema,
          workerId: "w0",
          appName: `jt-${schema}-w0`,
          leaseMs: 300_000,
          heartbeatMs: 120_000
        })
        const job = yield* jobs.enqueue({ type: "probe", params: { sleepMs: 120_000 } })
        const awaitStatus = (status: string) =>
          Effect.gen(function* () {
            while ((yield* jobs.get(job.id)).status !== status) yield* Effect.sleep("20 millis")
          }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`never ${status}`) }))
        yield* awaitStatus("RUNNING")
        yield* jobs.cancel(job.id)
        yield* awaitStatus("CANCELLED")
        const interrupts = yield* adminQuery(`SELECT job_id, worker FROM "${schema}".interrupts`)
        expect(interrupts, "the handler was interrupted in the worker process").toEqual([
          { job_id: job.id, worker: "w0" }
        ])
      }).pipe(Effect.scoped),
    TIMEOUT
  )
})

describe("PgJobStore with three worker processes", () => {
  it.live(
    "drain 5,000 jobs: all SUCCEEDED, no handler succeeded twice, the type limit held across processes",
    () =>
      Effect.gen(function* () {
        const { jobs, schema, store } = yield* setup
        const processes = yield* workers(schema)
        const inputs: Array<Jobs.CreateJob> = Array.from({ length: 5000 }, (_, i) =>
          i % 25 === 0 ? { type: "limited", params: { sleepMs: 10 } } : { type: "probe", params: { sleepMs: 1 } }
        )
        yield* enqueue(jobs, inputs)
        yield* awaitAllSucceeded(store, 5000)

        const runs = yield* completions(schema)
        expect(runs.size, "every job's handler completed").toBe(5000)
        const twice = Array.from(runs.values()).filter((r) => (r.completions as number) !== 1)
        expect(twice, "no job's handler completed twice").toEqual([])
        const byWorker = new Set(Array.from(runs.values(), (r) => r.worker))
        expect(byWorker.size, "every process ran jobs").toBe(3)
        const [gauge] = yield* adminQuery(`SELECT current, peak FROM "${schema}".gauge`)
        expect(gauge!.peak as number, "the limited type never ran more than its limit at once").toBeLessThanOrEqual(
          LIMITED_CONCURRENCY
        )
        expect(gauge!.peak as number, "the limited type ran").toBeGreaterThanOrEqual(1)
        expect(gauge!.current, "every limited handler finished").toBe(0)

        const exits = yield* Effect.forEach(processes, (p) => p.kill("SIGTERM"))
        expect(exits, "workers shut down gracefully on SIGTERM").toEqual(["code 0", "code 0", "code 0"])
      }).pipe(Effect.scoped),
    TIMEOUT
  )

  it.live(
    "SIGKILL of one worker mid-run: its jobs are rescued after the lease expires and finish elsewhere",
    () =>
      Effect.gen(function* () {
        const { jobs, schema, store } = yield* setup
        const [victim] = yield* workers(schema, { leaseMs: 2_000, heartbeatMs: 500, rescueMs: 500 })
        const total = 1500
        yield* enqueue(
          jobs,
          Array.from({ length: total }, () => ({ type: "probe", params: { sleepMs: 100 } }))
        )
        yield* awaitRuns(schema, 150)
        yield* victim!.kill("SIGKILL")
        // a statement the victim sent before dying still runs to its end: wait for its sessions to go
        while (true) {
          const [row] = yield* adminQuery(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`,
            [`jt-${schema}-w0%`]
          )
          if ((row!.n as number) === 0) break
          yield* Effect.sleep("50 millis")
        }
        const orphans = (yield* adminQuery(
          `SELECT id FROM "${schema}".jobloom_jobs WHERE lease_owner = 'w0' AND status = 'RUNNING'`
        )).map((r) => r.id as string)
        expect(orphans.length, "the killed worker held running jobs").toBeGreaterThan(0)

        yield* awaitAllSucceeded(store, total)

        const runs = yield* completions(schema)
        const attempt = yield* attempts(schema)
        expect(runs.size, "nothing lost: every job's handler completed").toBe(total)
        for (const id of orphans) {
          expect(attempt.get(id), `orphan ${id} ran again after the rescue`).toBeGreaterThanOrEqual(2)
          expect(runs.get(id)?.worker, `orphan ${id} finished on another worker`).not.toBe("w0")
        }
        const orphanSet = new Set(orphans)
        const twice = Array.from(runs.values()).filter(
          (r) => !orphanSet.has(r.job_id as string) && (r.completions as number) !== 1
        )
        expect(twice, "no other job's handler completed twice").toEqual([])
      }).pipe(Effect.scoped),
    TIMEOUT
  )

  it.live(
    "pg_terminate_backend of every worker connection mid-run: the run completes with nothing lost",
    () =>
      Effect.gen(function* () {
        const { jobs, schema, store } = yield* setup
        yield* workers(schema, { leaseMs: 3_000, heartbeatMs: 1_000, rescueMs: 1_000 })
        const total = 3000
        yield* enqueue(
          jobs,
          Array.from({ length: total }, (_, i) =>
            i % 20 === 0 ? { type: "limited", params: { sleepMs: 5 } } : { type: "probe", params: { sleepMs: 5 } }
          )
        )
        const terminate = adminQuery(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`,
          [`jt-${schema}-%`]
        ).pipe(Effect.map((rows) => rows[0]!.n as number))
        yield* awaitRuns(schema, 300)
        const first = yield* terminate
        yield* awaitRuns(schema, 1500)
        const second = yield* terminate
        expect(first, "the workers' connections were terminated").toBeGreaterThan(3)
        expect(second, "the workers' connections were terminated again").toBeGreaterThan(3)

        yield* awaitAllSucceeded(store, total)

        const runs = yield* completions(schema)
        const attempt = yield* attempts(schema)
        expect(runs.size, "nothing lost: every job's handler completed").toBe(total)
        const twiceInOneAttempt = Array.from(runs.values()).filter(
          (r) => attempt.get(r.job_id as string) === 1 && (r.completions as number) !== 1
        )
        expect(twiceInOneAttempt, "no job completed twice within one attempt").toEqual([])

        // each worker's listener is back on a connection of its own
        while (true) {
          const [row] = yield* adminQuery(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`,
            [`jt-${schema}-% (listen)`]
          )
          if ((row!.n as number) === 3) break
          yield* Effect.sleep("100 millis")
        }
      }).pipe(Effect.scoped),
    TIMEOUT
  )
})
