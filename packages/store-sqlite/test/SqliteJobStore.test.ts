import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Job, Jobs, JobStore, JobType } from "@jobloom/core"
import { makeRow, T0 } from "./support.js"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
let files = 0
const tempFile = () => Path.join(dir, `test-${++files}.db`)

/** The schema as SQLite stores it, sorted, one statement per entry. */
const schemaOf = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ type: string; name: string; sql: string | null }>`
    SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`
  return rows.map((row) => `-- ${row.type} ${row.name}\n${row.sql ?? ""};`).join("\n\n") + "\n"
})

/** A store for the life of the current scope. */
const storeOf = (layer: Layer.Layer<JobStore.JobStore, JobStore.JobStoreError>) =>
  Effect.map(Layer.build(layer), Context.get(JobStore.JobStore))

const hostClient = (filename: string) => SqliteClient.layer({ filename })

const job = JobType.make({ key: "host-test" })

describe("migrations", () => {
  it.effect("migrate a fresh file, and a re-run applies nothing and changes nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const first = yield* SqliteJobStore.migrate()
      const before = yield* schemaOf
      const second = yield* SqliteJobStore.migrate()
      const after = yield* schemaOf
      expect(first).toEqual([
        [1, "init"],
        [2, "items"],
        [4, "schedules"]
      ])
      expect(second).toEqual([])
      expect(after).toEqual(before)
      // recorded in jobloom's own table, never in the host's default one
      const recorded = yield* sql<{ migration_id: number }>`SELECT migration_id FROM jobloom_migrations`
      expect(recorded.map((row) => row.migration_id)).toEqual([1, 2, 4])
      const defaults = yield* sql`SELECT name FROM sqlite_master WHERE name = 'effect_sql_migrations'`
      expect(defaults).toEqual([])
    }).pipe(Effect.provide(hostClient(tempFile())))
  )

  it.effect("match the committed schema snapshot", () =>
    Effect.gen(function* () {
      yield* SqliteJobStore.migrate()
      const schema = yield* schemaOf
      yield* Effect.promise(() => expect(schema).toMatchFileSnapshot("./__snapshots__/schema.sql"))
    }).pipe(Effect.provide(hostClient(":memory:")))
  )

  it.effect("put every table and index under the table prefix", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqliteJobStore.migrate({ tablePrefix: "acme_jl_" })
      const names = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`
      expect(names.length).toBeGreaterThan(5)
      for (const { name } of names) expect(name.startsWith("acme_jl_")).toBe(true)
    }).pipe(Effect.provide(hostClient(":memory:")))
  )

  it.effect("are skipped when migrate is false, so a host can run them itself", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqliteJobStore.make({ migrate: false })
      expect(yield* sql`SELECT name FROM sqlite_master WHERE name = 'jobloom_jobs'`).toEqual([])
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})

describe("connection", () => {
  it.effect("opens its connection with WAL, synchronous NORMAL, a busy timeout, a 2 MB cache and foreign keys on", () =>
    Effect.gen(function* () {
      const filename = tempFile()
      const issued: Array<string> = []
      // every statement the layer runs while it opens, as compiled
      yield* Effect.scoped(Layer.build(SqliteJobStore.layer({ filename, busyTimeout: "2 seconds" }))).pipe(
        Statement.withTransformer((statement) => {
          issued.push(statement.compile()[0])
          return Effect.succeed(statement)
        })
      )
      expect(issued).toEqual(
        expect.arrayContaining([
          "PRAGMA synchronous = NORMAL",
          "PRAGMA busy_timeout = 2000",
          "PRAGMA cache_size = -2000",
          "PRAGMA foreign_keys = ON"
        ])
      )
      const sized: Array<string> = []
      yield* Effect.scoped(Layer.build(SqliteJobStore.layer({ filename, cacheSizeKiB: 64_000 }))).pipe(
        Statement.withTransformer((statement) => {
          sized.push(statement.compile()[0])
          return Effect.succeed(statement)
        })
      )
      expect(sized).toContain("PRAGMA cache_size = -64000")
      // WAL is a property of the file, so a second connection sees it
      const [mode] = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ journal_mode: string }>`PRAGMA journal_mode`),
        SqliteClient.layer({ filename, disableWAL: true })
      )
      expect(mode?.journal_mode).toBe("wal")
    })
  )

  it.effect("fails with Unavailable when the file cannot be opened", () =>
    Effect.gen(function* () {
      // a missing directory is created (the quickstart's behaviour); a parent that is a plain file cannot be
      const blocker = Path.join(dir, "not-a-directory")
      Fs.writeFileSync(blocker, "")
      const exit = yield* Effect.exit(
        Effect.provide(JobStore.JobStore, SqliteJobStore.layer({ filename: Path.join(blocker, "x.db") }))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error).toBeInstanceOf(JobStore.JobStoreError)
        expect((error as JobStore.JobStoreError).reason).toBe("Unavailable")
      }
    })
  )

  it.effect("works on :memory: by default", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const row = makeRow()
      yield* store.insert({ jobs: [row] })
      expect(Option.isSome(yield* store.get({ id: row.id }))).toBe(true)
    }).pipe(Effect.provide(SqliteJobStore.layerWith()))
  )
})

describe("claims", () => {
  it.effect("never hand one job to two workers, across two connections to one file", () => {
    const filename = tempFile()
    const a = SqliteJobStore.layer({ filename })
    return Effect.gen(function* () {
      const first = yield* storeOf(a)
      const second = yield* storeOf(SqliteJobStore.layer({ filename }))
      const queue = "claim-race"
      const rows = Array.from({ length: 300 }, (_, i) => makeRow({ queue, type: i % 2 === 0 ? "even" : "odd" }))
      yield* first.insert({ jobs: rows })
      const claimer = (store: JobStore.JobStore, index: number) =>
        Effect.gen(function* () {
          const mine: Array<string> = []
          while (true) {
            // half the claimers use limits, so multi-statement claim transactions interleave with single ones
            const claimed = yield* store.claim({
              token: TOKEN,
              workerId: `w${index}`,
              now: T0,
              leaseMs: 60_000,
              limit: 1 + (index % 4),
              queues: [queue],
              typeLimits: index % 2 === 0 ? { even: 1000 } : {},
              queueLimits: index % 3 === 0 ? { [queue]: 1000 } : {}
            })
            if (claimed.length === 0) return mine
            mine.push(...claimed.map((row) => row.id))
            yield* Effect.yieldNow()
          }
        })
      const all = yield* Effect.all(
        Array.from({ length: 12 }, (_, i) => claimer(i % 2 === 0 ? first : second, i)),
        { concurrency: "unbounded" }
      )
      const ids = all.flat()
      expect(ids.length).toBe(rows.length)
      expect(new Set(ids).size).toBe(rows.length)
    }).pipe(Effect.scoped)
  })

  it.effect("respect a type limit that other workers' running jobs already use up", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const queue = "limits"
      yield* store.insert({
        jobs: [
          makeRow({ queue, type: "heavy", priority: 9 }),
          makeRow({ queue, type: "heavy", priority: 8 }),
          makeRow({ queue, type: "heavy", priority: 7 }),
          makeRow({ queue, type: "light", priority: 1 }),
          makeRow({ queue, type: "light", priority: 0 })
        ]
      })
      const options = {
        now: T0,
        leaseMs: 1000,
        queues: [queue],
        typeLimits: { heavy: 2 },
        queueLimits: {}
      }
      const one = yield* store.claim({ token: TOKEN, ...options, workerId: "a", limit: 1 })
      const rest = yield* store.claim({ token: TOKEN, ...options, workerId: "b", limit: 10 })
      expect(one.map((row) => row.priority)).toEqual([9])
      // one heavy slot left: the second heavy job fits, the third waits; both light jobs follow in order
      expect(rest.map((row) => row.priority)).toEqual([8, 1, 0])
    }).pipe(Effect.provide(SqliteJobStore.layerWith()))
  )

  // a claim returns the columns most jobs leave NULL packed into one value: every one of them must come back
  it.effect("return every column as stored, the rarely set ones and a BLOB where text belongs included", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* SqliteJobStore.make()
      const queue = "columns"
      const full = makeRow({
        queue,
        priority: 2,
        owner: "owner-1",
        idempotencyKey: "key-1",
        terminalReason: "timeout",
        batchId: "batch-1",
        callbackUrl: "https://example.com/hook",
        timeoutMs: 5000,
        deadline: T0 + 9000,
        finishedAt: T0 - 5,
        lastError: `{"message":"it said \\"no\\"\\nthen"}`,
        resultId: "result-1",
        tags: ["a", "b"]
      })
      const plain = makeRow({ queue, priority: 1 })
      const blob = makeRow({ queue, priority: 0 })
      const [stored] = yield* store.insert({ jobs: [full, plain, blob] })
      yield* sql`UPDATE jobloom_jobs SET last_error = X'6869' WHERE id = ${blob.id}`
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w",
        now: T0,
        leaseMs: 1000,
        limit: 10,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed.map((row) => row.id)).toEqual([full.id, plain.id, blob.id])
      for (const row of claimed) expect(row).toEqual(Option.getOrThrow(yield* store.get({ id: row.id })))
      expect(claimed[0]).toEqual({
        ...stored!.row,
        status: "RUNNING",
        attempt: 1,
        startedAt: T0,
        updatedAt: T0,
        leaseOwner: "w",
        leaseExpiresAt: T0 + 1000,
        leaseToken: TOKEN
      })
      expect(claimed[2]!.lastError).toBe("hi")
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})

describe("settle", () => {
  // A batch of Completes only is written by a statement of its own (the common case, kept lean); both statements
  // must give the same rows, so the same Completes are settled alone and in a batch with another tag.
  it.effect.each([
    ["a batch of Completes only", false],
    ["a batch with another tag in it", true]
  ])(
    "%s: a RUNNING job succeeds with its result, a CANCELLING one is CANCELLED, another's lease is untouched",
    ([, mixed]) =>
      Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const held = { leaseOwner: "w", leaseExpiresAt: T0 + 1000, leaseToken: TOKEN, attempt: 1, startedAt: T0 }
        const given = {
          running: makeRow({ ...held, status: "RUNNING" }),
          cancelling: makeRow({ ...held, status: "CANCELLING" }),
          foreign: makeRow({ ...held, status: "RUNNING", leaseOwner: "other" })
        }
        const retried = makeRow({ ...held, status: "RUNNING" })
        // the rows as stored, with the numbers the store gave them
        const [running, cancelling, foreign] = (yield* store.insert({
          jobs: [given.running, given.cancelling, given.foreign, retried]
        })).map((outcome) => outcome.row) as [JobStore.JobRow, JobStore.JobRow, JobStore.JobRow]
        const changes = yield* store.settle({
          workerId: "w",
          now: T0 + 5,
          settlements: [
            { _tag: "Complete", id: running.id, token: TOKEN, progress: "p1", result: { id: "res-1", value: "1" } },
            { _tag: "Complete", id: cancelling.id, token: TOKEN, progress: null, result: { id: "res-2", value: "2" } },
            { _tag: "Complete", id: foreign.id, token: TOKEN, progress: null, result: null },
            ...(mixed
              ? [
                  {
                    _tag: "Retry" as const,
                    id: retried.id,
                    token: TOKEN,
                    runAt: T0 + 50,
                    lastError: "{}",
                    progress: null
                  }
                ]
              : [])
          ]
        })
        expect(changes).toEqual([
          { id: running.id, status: "SUCCEEDED" },
          { id: cancelling.id, status: "CANCELLED" },
          ...(mixed ? [{ id: retried.id, status: "QUEUED" }] : [])
        ])
        const get = (id: string) => Effect.map(store.get({ id }), Option.getOrThrow)
        const done = { finishedAt: T0 + 5, updatedAt: T0 + 5, leaseOwner: null, leaseExpiresAt: null, leaseToken: null }
        expect(yield* get(running.id)).toEqual({
          ...running,
          ...done,
          status: "SUCCEEDED",
          terminalReason: null,
          resultId: "res-1",
          progress: "p1"
        })
        expect(yield* get(cancelling.id)).toEqual({
          ...cancelling,
          ...done,
          status: "CANCELLED",
          terminalReason: "user"
        })
        expect(yield* get(foreign.id)).toEqual(foreign)
        expect(Option.isSome(yield* store.getResult({ resultId: "res-1" }))).toBe(true)
        expect(Option.isNone(yield* store.getResult({ resultId: "res-2" }))).toBe(true)
      }).pipe(Effect.provide(SqliteJobStore.layerWith()))
  )
})

describe("signals", () => {
  it.effect("wake a worker's store when another store of this process inserts into the same file", () => {
    const filename = tempFile()
    return Effect.gen(function* () {
      const worker = yield* storeOf(SqliteJobStore.layer({ filename }))
      const api = yield* storeOf(SqliteJobStore.layer({ filename }))
      const signals = yield* worker.subscribe
      yield* api.insert({ jobs: [makeRow({ queue: "wake" })] })
      expect(yield* Queue.take(signals)).toEqual({ _tag: "Enqueued", queue: "wake" })
      expect(worker.crossProcessSignals).toBe(false)
    }).pipe(Effect.scoped)
  })

  it.effect("stay within one database: a :memory: store never hears another", () =>
    Effect.gen(function* () {
      const one = yield* storeOf(SqliteJobStore.layerWith())
      const other = yield* storeOf(SqliteJobStore.layerWith())
      const signals = yield* one.subscribe
      yield* other.insert({ jobs: [makeRow()] })
      yield* one.insert({ jobs: [makeRow({ queue: "mine" })] })
      expect(yield* Queue.take(signals)).toEqual({ _tag: "Enqueued", queue: "mine" })
    }).pipe(Effect.scoped)
  )
})

describe("host client", () => {
  const setup = (filename: string) =>
    Jobs.layer({ types: [job] }).pipe(
      Layer.provideMerge(SqliteJobStore.layerClient()),
      Layer.provideMerge(hostClient(filename))
    )

  it.effect("an enqueue in a host transaction that rolls back leaves no job; one that commits leaves one", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const jobs = yield* Jobs.Jobs
      yield* sql`CREATE TABLE orders (id TEXT PRIMARY KEY)`

      const placeOrder = (id: string, fail: boolean) =>
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO orders (id) VALUES (${id})`
            yield* jobs.enqueue({ type: job.key, params: { order: id } })
            if (fail) return yield* Effect.fail("payment declined" as const)
          })
        )

      const rolledBack = yield* Effect.exit(placeOrder("o-1", true))
      expect(Exit.isFailure(rolledBack)).toBe(true)
      expect((yield* jobs.list({ types: [job.key], withTotal: true })).total).toBe(0)
      expect(yield* sql`SELECT id FROM orders`).toEqual([])

      yield* placeOrder("o-2", false)
      const page = yield* jobs.list({ types: [job.key], withTotal: true })
      expect(page.total).toBe(1)
      expect(page.items[0]?.params).toEqual({ order: "o-2" })
      expect(yield* sql`SELECT id FROM orders`).toEqual([{ id: "o-2" }])
    }).pipe(Effect.provide(setup(tempFile())))
  )

  it.effect("delete takes a job's logs, result and callbacks along, even with the host's foreign keys off", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`PRAGMA foreign_keys = OFF`
      const store = yield* SqliteJobStore.make()
      const row = makeRow({ callbackUrl: "https://example.com/hook" })
      yield* store.insert({ jobs: [row] })
      yield* store.claim({
        token: TOKEN,
        workerId: "w",
        now: T0,
        leaseMs: 1000,
        limit: 1,
        queues: [row.queue],
        typeLimits: {},
        queueLimits: {}
      })
      yield* store.appendLogs({ cap: 10, entries: [{ jobId: row.id, at: T0, level: "info", message: "hello" }] })
      yield* store.settle({
        workerId: "w",
        now: T0 + 1,
        settlements: [
          { _tag: "Complete", id: row.id, token: TOKEN, progress: null, result: { id: "r-1", value: "42" } }
        ]
      })
      const count = (table: string) =>
        Effect.map(sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(table)}`, (rows) => rows[0]?.n)
      expect([
        yield* count("jobloom_logs"),
        yield* count("jobloom_results"),
        yield* count("jobloom_callbacks")
      ]).toEqual([1, 1, 1])
      expect(yield* store.delete({ id: row.id, from: ["SUCCEEDED"] })).toBe(true)
      expect([
        yield* count("jobloom_logs"),
        yield* count("jobloom_results"),
        yield* count("jobloom_callbacks")
      ]).toEqual([0, 0, 0])
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})

describe("bad data", () => {
  it.effect("a row with corrupted JSON columns is still read, listed and filtered, never an error", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* SqliteJobStore.make()
      const row = makeRow({ tags: ["a"] })
      const other = makeRow({ tags: ["a"] })
      yield* store.insert({ jobs: [row, other] })
      yield* sql`UPDATE jobloom_jobs SET params = '{not json', tags = 'oops[', progress = 'x', metadata = '7'
        WHERE id = ${row.id}`
      const read = Option.getOrThrow(yield* store.get({ id: row.id }))
      expect(read.params).toBe("{not json")
      expect(read.tags).toEqual([])
      expect(Job.fromRow(read).params).toBe("{not json")
      const tagged = yield* store.list({
        filter: { tag: "a" },
        sort: "createdAt",
        order: "desc",
        limit: 10,
        cursor: null,
        withTotal: true
      })
      expect(tagged.rows.map((r) => r.id)).toEqual([other.id])
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})
