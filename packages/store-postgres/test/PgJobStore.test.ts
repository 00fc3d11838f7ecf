/**
 * What only the Postgres store does: migrations raced by several processes, signals across connections and schemas,
 * enqueueing inside the host's transaction, limits held by several pools claiming at once, and recovery from
 * terminated connections.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Jobs, JobStore } from "@jobloom/core"
import { makeRow, T0 } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as PgJobStore from "../src/PgJobStore.js"
import { adminQuery, clientLayer, databaseUrl, freshSchema } from "./utils.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

/** A QUEUED row with a fresh id: the conformance suite's factory. */
const row = (overrides: Partial<JobStore.JobRow> = {}): JobStore.JobRow => makeRow(overrides)

/** Builds a store of its own (its own pool) in `schema`, for the life of the scope. */
const storeIn = (
  schema: string,
  options: Omit<PgJobStore.LayerOptions, "url" | "schema"> = {}
): Effect.Effect<JobStore.JobStore.Service, JobStore.JobStoreError, Scope.Scope> =>
  Effect.map(Layer.build(PgJobStore.layer({ url: databaseUrl, schema, ...options })), (context) =>
    Context.get(context, JobStore.JobStore)
  )

const uniqueName = (label: string) => `jt-${label}-${Math.random().toString(36).slice(2, 10)}`

const terminate = (applicationName: string) =>
  adminQuery(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1`, [
    applicationName
  ]).pipe(Effect.map((rows) => rows[0]!.n as number))

const connections = (applicationName: string) =>
  adminQuery(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [applicationName]).pipe(
    Effect.map((rows) => rows[0]!.n as number)
  )

/** Takes the first signal that satisfies `match`, waiting at most `millis` in all. */
const nextSignal = (
  queue: Queue.Dequeue<JobStore.StoreSignal>,
  match: (signal: JobStore.StoreSignal) => boolean,
  millis = 10_000
) =>
  Effect.gen(function* () {
    while (true) {
      const signal = yield* Queue.take(queue)
      if (match(signal)) return signal
    }
  }).pipe(Effect.timeoutOption(millis))

describe("PgJobStore", () => {
  it.live("migrations started by two processes at once both succeed, and run once", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const stores = yield* Effect.all([storeIn(schema), storeIn(schema), storeIn(schema)], {
        concurrency: "unbounded"
      })
      expect(stores.length).toBe(3)
      const migrations = yield* adminQuery(`SELECT migration_id, name FROM "${schema}".jobloom_migrations`)
      expect(migrations).toEqual([
        { migration_id: 1, name: "init" },
        { migration_id: 2, name: "items" },
        { migration_id: 3, name: "trace" },
        { migration_id: 4, name: "schedules" },
        { migration_id: 5, name: "scale" },
        { migration_id: 6, name: "trace_insert" },
        { migration_id: 7, name: "dependencies" },
        { migration_id: 8, name: "pause" },
        { migration_id: 9, name: "scale" },
        { migration_id: 10, name: "drain" },
        { migration_id: 11, name: "insert_compact" }
      ])
      const [inserted] = yield* stores[0]!.insert({ jobs: [row()] })
      expect(Option.isSome(yield* stores[2]!.get({ id: inserted!.row.id }))).toBe(true)
    }).pipe(Effect.scoped)
  )

  it.live("a table prefix keeps two stores apart in one schema", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const a = yield* storeIn(schema, { tablePrefix: "a_" })
      const b = yield* storeIn(schema, { tablePrefix: "b_" })
      const [inserted] = yield* a.insert({ jobs: [row()] })
      expect(Option.isSome(yield* a.get({ id: inserted!.row.id }))).toBe(true)
      expect(Option.isNone(yield* b.get({ id: inserted!.row.id }))).toBe(true)
      const tables = yield* adminQuery(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [schema]
      )
      const names = [
        "callbacks",
        "counts",
        "dependencies",
        "items",
        "jobs",
        "logs",
        "migrations",
        "results",
        "schedules"
      ]
      expect(tables.map((t) => t.table_name)).toEqual(["a_", "b_"].flatMap((prefix) => names.map((n) => prefix + n)))
    }).pipe(Effect.scoped)
  )

  it.live("rejects a schema name that is not a plain lower-case identifier", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(storeIn('bad"name'))
      expect(Either.isLeft(result) && result.left.message).toContain("invalid schema name")
    }).pipe(Effect.scoped)
  )

  it.live("signals cross connection pools: an insert, a cancel and a re-queue reach another pool's subscriber", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const writer = yield* storeIn(schema)
      const reader = yield* storeIn(schema)
      expect(reader.crossProcessSignals).toBe(true)
      const signals = yield* reader.subscribe
      const [inserted] = yield* writer.insert({ jobs: [row({ queue: "q1" })] })
      const id = inserted!.row.id
      const enqueued = yield* nextSignal(signals, (s) => s._tag === "Enqueued")
      expect(enqueued).toEqual(Option.some({ _tag: "Enqueued", queue: "q1" }))

      const [claimed] = yield* writer.claim({
        token: TOKEN,
        workerId: "w",
        now: T0,
        leaseMs: 1000,
        limit: 1,
        queues: ["q1"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed?.id).toBe(id)
      yield* writer.update({ id, from: ["RUNNING"], patch: { status: "CANCELLING" }, now: T0 + 1 })
      const changed = yield* nextSignal(signals, (s) => s._tag === "Changed")
      expect(changed).toEqual(Option.some({ _tag: "Changed", id, status: "CANCELLING" }))

      const [other] = yield* writer.insert({ jobs: [row({ queue: "q2", status: "PAUSED" })] })
      yield* writer.update({ id: other!.row.id, from: ["PAUSED"], patch: { status: "QUEUED" }, now: T0 + 2 })
      const resumed = yield* nextSignal(signals, (s) => s._tag === "Enqueued")
      expect(resumed).toEqual(Option.some({ _tag: "Enqueued", queue: "q2" }))
    }).pipe(Effect.scoped)
  )

  it.live("a store's own insert reaches its subscribers in-process, once; inside a transaction, at commit", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const store = yield* storeIn(schema)
      const writer = yield* storeIn(schema)
      const signals = yield* store.subscribe
      const enqueued = (s: JobStore.StoreSignal) => s._tag === "Enqueued"
      // keyed and unkeyed inserts take different paths
      yield* store.insert({ jobs: [row({ queue: "own" })] })
      expect(yield* Queue.size(signals), "published by the time the insert returns").toBe(1)
      yield* store.insert({ jobs: [row({ queue: "own-keyed", idempotencyKey: uniqueName("key") })] })
      // the writer's NOTIFY is delivered after any the store's own inserts sent: had the listener passed those on,
      // they would come first
      yield* writer.insert({ jobs: [row({ queue: "other" })] })
      expect(yield* nextSignal(signals, enqueued)).toEqual(Option.some({ _tag: "Enqueued", queue: "own" }))
      expect(yield* nextSignal(signals, enqueued)).toEqual(Option.some({ _tag: "Enqueued", queue: "own-keyed" }))
      expect(yield* nextSignal(signals, enqueued)).toEqual(Option.some({ _tag: "Enqueued", queue: "other" }))

      // on the host's client, inside its transaction: nothing before the commit, then the NOTIFY wakes everyone
      const context = yield* Layer.build(PgJobStore.layerClient({ schema }).pipe(Layer.provideMerge(clientLayer())))
      const hosted = Context.get(context, JobStore.JobStore)
      const sql = Context.get(context, SqlClient.SqlClient)
      const hostedSignals = yield* hosted.subscribe
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* hosted.insert({ jobs: [row({ queue: "in-transaction" })] })
          expect(yield* Queue.size(hostedSignals), "nothing is published before the commit").toBe(0)
        })
      )
      expect(yield* nextSignal(hostedSignals, enqueued)).toEqual(
        Option.some({ _tag: "Enqueued", queue: "in-transaction" })
      )
    }).pipe(Effect.scoped)
  )

  it.live("signals never cross schemas", () =>
    Effect.gen(function* () {
      const schemaA = yield* freshSchema
      const schemaB = yield* freshSchema
      const a = yield* storeIn(schemaA)
      const b = yield* storeIn(schemaB)
      const signalsA = yield* a.subscribe
      const signalsB = yield* b.subscribe
      yield* b.insert({ jobs: [row({ queue: "only-b" })] })
      // b's own subscriber hears it, so it was sent; a's heard nothing by then
      expect(yield* nextSignal(signalsB, (s) => s._tag === "Enqueued")).toEqual(
        Option.some({ _tag: "Enqueued", queue: "only-b" })
      )
      // a's insert commits after b's: had a's listener heard b's channel, b's hint would come first
      yield* a.insert({ jobs: [row({ queue: "only-a" })] })
      const heardByA: Array<JobStore.StoreSignal> = []
      const last = yield* nextSignal(signalsA, (s) => {
        heardByA.push(s)
        return s._tag === "Enqueued" && s.queue === "only-a"
      })
      expect(Option.isSome(last)).toBe(true)
      expect(heardByA).toEqual([{ _tag: "Enqueued", queue: "only-a" }])
    }).pipe(Effect.scoped)
  )

  it.live("enqueue inside the host's transaction: the job exists only if the transaction commits", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const context = yield* Layer.build(
        Jobs.layer().pipe(Layer.provideMerge(PgJobStore.layerClient({ schema })), Layer.provideMerge(clientLayer()))
      )
      const jobs = Context.get(context, Jobs.Jobs)
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* sql`CREATE TABLE ${sql(`${schema}.orders`)} (id text PRIMARY KEY, job_id text NOT NULL)`

      class Rollback {
        readonly _tag = "Rollback"
        constructor(readonly jobId: string) {}
      }
      const rolledBack = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            const job = yield* jobs.enqueue({ type: "delay", params: { seconds: 0 } })
            yield* sql`INSERT INTO ${sql(`${schema}.orders`)} VALUES ('o1', ${job.id})`
            // inside the transaction the job is visible
            expect((yield* jobs.get(job.id)).status).toBe("QUEUED")
            return yield* Effect.fail(new Rollback(job.id))
          })
        )
        .pipe(Effect.flip)
      expect(rolledBack._tag).toBe("Rollback")
      const gone = yield* Effect.flip(jobs.get((rolledBack as Rollback).jobId))
      expect(gone._tag).toBe("JobNotFound")

      const committed = yield* sql.withTransaction(
        Effect.gen(function* () {
          const job = yield* jobs.enqueue({ type: "delay", params: { seconds: 0 } })
          yield* sql`INSERT INTO ${sql(`${schema}.orders`)} VALUES ('o2', ${job.id})`
          return job
        })
      )
      expect((yield* jobs.get(committed.id)).status).toBe("QUEUED")
      const orders = yield* sql`SELECT id, job_id FROM ${sql(`${schema}.orders`)}`
      expect(orders).toEqual([{ id: "o2", job_id: committed.id }])
    }).pipe(Effect.scoped)
  )

  it.live("type and queue limits hold while many pools claim at once", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const stores = yield* Effect.all(
        Array.from({ length: 4 }, () => storeIn(schema, { maxConnections: 4 })),
        { concurrency: "unbounded" }
      )
      yield* stores[0]!.insert({
        jobs: [
          // in two queues, so that claimers of different queues would pick different rows without the locks
          ...Array.from({ length: 60 }, (_, i) => row({ type: "limited", queue: i % 2 === 0 ? "default" : "other" })),
          ...Array.from({ length: 60 }, () => row({ type: "free", queue: "narrow" })),
          ...Array.from({ length: 60 }, () => row({ type: "free" }))
        ]
      })
      const options = { now: T0, leaseMs: 60_000, typeLimits: { limited: 3 }, queueLimits: { narrow: 2 } }
      // 4 pools × 4 claimers, each claiming until a claim returns nothing; half of them serve other queues
      const claimer = (store: JobStore.JobStore.Service, k: number) =>
        Effect.gen(function* () {
          const queues = k % 2 === 0 ? ["default", "narrow"] : ["other", "narrow"]
          let total = 0
          while (true) {
            const rows = yield* store.claim({ token: TOKEN, ...options, queues, workerId: `w${k}`, limit: 2 })
            if (rows.length === 0) return total
            total += rows.length
          }
        })
      const claimed = yield* Effect.all(
        stores.flatMap((store, i) => [0, 1, 2, 3].map((j) => claimer(store, i * 4 + j))),
        { concurrency: "unbounded" }
      )
      const running = yield* adminQuery(
        `SELECT type, queue, count(*)::int AS n FROM "${schema}".jobloom_jobs WHERE status = 'RUNNING'
         GROUP BY type, queue ORDER BY type, queue`
      )
      const count = (type: string, queue?: string) =>
        running
          .filter((r) => r.type === type && (queue === undefined || r.queue === queue))
          .reduce((n, r) => n + (r.n as number), 0)
      expect(count("limited"), "the type limit held").toBe(3)
      expect(count("free", "narrow"), "the queue limit held").toBe(2)
      expect(count("free", "default"), "unlimited jobs were all claimed").toBe(60)
      expect(claimed.reduce((a, b) => a + b, 0)).toBe(65)

      // settling frees room: exactly that much more is claimed, again across every pool
      const held = yield* stores[0]!.list({
        filter: { types: ["limited"], statuses: ["RUNNING"] },
        sort: "createdAt",
        order: "asc",
        limit: 10,
        cursor: null,
        withTotal: false
      })
      const first = held.rows[0]!
      yield* stores[1]!.settle({
        workerId: first.leaseOwner!,
        now: T0 + 1,
        settlements: [{ _tag: "Complete", id: first.id, token: TOKEN, progress: null, result: null }]
      })
      const more = yield* Effect.all(
        stores.map((store, i) => claimer(store, 100 + i)),
        { concurrency: "unbounded" }
      )
      expect(more.reduce((a, b) => a + b, 0)).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.live("a type limit holds when claimers of different queues all claim at the same instant, round after round", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const stores = yield* Effect.all(
        Array.from({ length: 4 }, () => storeIn(schema, { maxConnections: 4 })),
        { concurrency: "unbounded" }
      )
      // warm every pool, so that no claimer waits for a connection while the others race
      yield* Effect.all(
        stores.flatMap((store) => Array.from({ length: 4 }, () => store.get({ id: "warm-up" }))),
        { concurrency: "unbounded" }
      )
      const peaks: Array<number> = []
      for (let round = 0; round < 8; round++) {
        yield* stores[0]!.insert({
          jobs: Array.from({ length: 16 }, (_, i) => row({ type: "limited", queue: `q${i % 4}` }))
        })
        const go = yield* Effect.makeLatch(false)
        const claimers = stores.flatMap((store, i) =>
          [0, 1, 2, 3].map((j) =>
            Effect.zipRight(
              go.await,
              store.claim({
                token: TOKEN,
                workerId: `w${i}-${j}`,
                now: T0,
                leaseMs: 60_000,
                limit: 1,
                // each claimer serves one queue: without the locks they would all see room and take different rows
                queues: [`q${j}`],
                typeLimits: { limited: 3 },
                queueLimits: {}
              })
            )
          )
        )
        const fibers = yield* Effect.forkAll(claimers)
        yield* go.open
        yield* fibers.await
        const running = yield* stores[0]!.list({
          filter: { types: ["limited"], statuses: ["RUNNING"] },
          sort: "createdAt",
          order: "asc",
          limit: 100,
          cursor: null,
          withTotal: false
        })
        peaks.push(running.rows.length)
        yield* Effect.forEach(running.rows, (job) =>
          stores[0]!.settle({
            workerId: job.leaseOwner!,
            now: T0,
            settlements: [{ _tag: "Complete", id: job.id, token: TOKEN, progress: null, result: null }]
          })
        )
      }
      expect(peaks, "never more than 3 running, and the limit reached each round").toEqual([3, 3, 3, 3, 3, 3, 3, 3])
    }).pipe(Effect.scoped)
  )

  it.live("a claim under limits keeps claim order: a limited job is not starved by free jobs ranked after it", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const store = yield* storeIn(schema)
      const [limited] = yield* store.insert({ jobs: [row({ type: "limited", runAt: T0 - 1 })] })
      yield* store.insert({ jobs: Array.from({ length: 30 }, () => row({ type: "free" })) })
      const [urgent] = yield* store.insert({ jobs: [row({ type: "free", priority: 5 })] })
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w",
        now: T0,
        leaseMs: 60_000,
        limit: 3,
        queues: ["default"],
        typeLimits: { limited: 1 },
        queueLimits: {}
      })
      expect(claimed.map((job) => job.type)).toEqual(["free", "limited", "free"])
      expect(claimed[0]!.id).toBe(urgent!.row.id)
      expect(claimed[1]!.id).toBe(limited!.row.id)
    }).pipe(Effect.scoped)
  )

  it.live("the listener reconnects by itself after its connection is terminated", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const applicationName = uniqueName("listen")
      const store = yield* storeIn(schema, { applicationName })
      // another pool inserts: the store's own inserts reach its subscribers in-process, not through its listener
      const writer = yield* storeIn(schema)
      const signals = yield* store.subscribe
      expect(yield* terminate(`${applicationName} (listen)`)).toBe(1)
      // hints sent while no session listens are lost: insert until one is heard
      let heard = Option.none<JobStore.StoreSignal>()
      for (let attempt = 0; attempt < 100 && Option.isNone(heard); attempt++) {
        yield* writer.insert({ jobs: [row({ queue: "after" })] })
        heard = yield* nextSignal(signals, (s) => s._tag === "Enqueued", 200)
      }
      expect(heard).toEqual(Option.some({ _tag: "Enqueued", queue: "after" }))
      expect(yield* connections(`${applicationName} (listen)`)).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.live("the pool recovers after every connection is terminated; failures in between are Unavailable", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const applicationName = uniqueName("pool")
      const store = yield* storeIn(schema, { applicationName })
      const [inserted] = yield* store.insert({ jobs: [row()] })
      // several idle connections in the pool
      yield* Effect.all(
        Array.from({ length: 5 }, () => store.get({ id: inserted!.row.id })),
        { concurrency: "unbounded" }
      )
      expect(yield* terminate(applicationName)).toBeGreaterThan(0)
      const failures: Array<JobStore.JobStoreError> = []
      let found = false
      for (let attempt = 0; attempt < 50 && !found; attempt++) {
        const result = yield* Effect.either(store.get({ id: inserted!.row.id }))
        if (Either.isRight(result)) found = Option.isSome(result.right)
        else failures.push(result.left)
      }
      expect(found).toBe(true)
      for (const failure of failures) expect(failure.reason).toBe("Unavailable")
    }).pipe(Effect.scoped)
  )
})
