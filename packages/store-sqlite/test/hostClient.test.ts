import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Jobs, JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { SqliteJobStore } from "../src/index.js"
import { hostClient, makeRow, T0, tempFiles, TOKEN } from "./support.js"

const tempFile = tempFiles("jobloom-sqlite-host-").next

const job = JobType.make({ key: "host-test" })

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
