/**
 * Migration 10 (the drain's triggers) on a database that has data: jobs waiting on a dependency when the upgrade runs
 * are released by its end afterwards (the upgrade flags the jobs that pending edges name), and a job nobody depends
 * on is never flagged; and the race of a dependency ending while a dependent's insert holds it locked (the settle waits,
 * then updates the row version the insert flagged, and its trigger counts the end). The rules themselves (release,
 * cascade, 10,000 dependents) are the conformance suite's.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import { makeRow, T0, TOKEN } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as PgJobStore from "../src/PgJobStore.js"
import { migrations } from "../src/internal/migrate.js"
import * as Names from "../src/internal/names.js"
import { toJsonRow } from "../src/internal/rows.js"
import * as Pg from "pg"
import { adminQuery, clientLayer, databaseUrl, freshSchema } from "./utils.js"

describe("PgJobStore migration 10", () => {
  it.live("a job waiting on a dependency at the upgrade is released by the dependency's end after it", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const names = yield* Names.make(schema, "jobloom_")
      const parent = makeRow({ queue: "parents" })
      const child = makeRow({ queue: "children", dependsOn: [parent.id], waitingOn: 1 })
      const lone = makeRow({ queue: "parents", priority: -1 })
      // the schema as migration 9 left it, with a pending edge
      yield* Effect.gen(function* () {
        const sql = (yield* SqlClient.SqlClient).withoutTransforms()
        yield* sql`CREATE SCHEMA ${sql(schema)}`
        const all = migrations(names)
        const upTo9 = Object.fromEntries(Object.entries(all).filter(([name]) => name < "0010"))
        yield* Migrator.make({})({ loader: Migrator.fromRecord(upTo9), table: names.migrations }).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )
        const rows = JSON.stringify([parent, child, lone].map(toJsonRow))
        yield* sql`SELECT * FROM ${sql(`${schema}.jobloom_insert_unkeyed`)}(${rows}::json, NULL::text)`
        yield* sql`INSERT INTO ${sql(names.dependencies)} (job_id, depends_on, done) VALUES (${child.id}, ${parent.id}, false)`
      }).pipe(Effect.provide(clientLayer({ maxConnections: 1 })), Effect.scoped)

      const context = yield* Layer.build(PgJobStore.layer({ url: databaseUrl, schema }))
      const store = Context.get(context, JobStore.JobStore)
      const flags = yield* adminQuery(
        `SELECT id, has_dependents FROM "${schema}".jobloom_jobs WHERE id = ANY($1::text[]) ORDER BY has_dependents DESC`,
        [[parent.id, lone.id]]
      )
      expect(flags, "the upgrade flags the job a pending edge names, and only it").toEqual([
        { id: parent.id, has_dependents: true },
        { id: lone.id, has_dependents: false }
      ])
      const claimed = yield* store.claim({
        workerId: "w",
        token: TOKEN,
        now: T0,
        leaseMs: 60_000,
        limit: 2,
        queues: ["parents"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed.map((r) => r.id).sort(), "both parents-queue jobs claimed").toEqual([parent.id, lone.id].sort())
      yield* store.settle({
        workerId: "w",
        now: T0 + 1,
        settlements: [
          { _tag: "Complete", id: parent.id, token: TOKEN, progress: null, result: null },
          { _tag: "Complete", id: lone.id, token: TOKEN, progress: null, result: null }
        ]
      })
      const released = yield* store.claim({
        workerId: "w",
        token: TOKEN,
        now: T0 + 2,
        leaseMs: 60_000,
        limit: 10,
        queues: ["children"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(
        released.map((r) => [r.id, r.waitingOn]),
        "the dependent, counted by the trigger, is claimable"
      ).toEqual([[child.id, 0]])
    }).pipe(Effect.scoped)
  )

  it.live("a dependency that ends while its dependent is being inserted counts that end for it", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const context = yield* Layer.build(PgJobStore.layer({ url: databaseUrl, schema }))
      const store = Context.get(context, JobStore.JobStore)
      const parent = makeRow({ queue: "parents" })
      yield* store.insert({ jobs: [parent] })
      const claimOf = (queue: string, now: number) =>
        store.claim({
          workerId: "w",
          token: TOKEN,
          now,
          leaseMs: 60_000,
          limit: 10,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
      expect((yield* claimOf("parents", T0)).map((r) => r.id)).toEqual([parent.id])
      const child = makeRow({ queue: "children", dependsOn: [parent.id], waitingOn: 1 })
      // the insert of a dependent, as insert.ts makes it, held open in its transaction after the edge is written
      const inserter = new Pg.Client({ connectionString: databaseUrl })
      yield* Effect.promise(() => inserter.connect())
      yield* Effect.addFinalizer(() => Effect.promise(() => inserter.end()))
      const [found] = yield* Effect.promise(async () => {
        await inserter.query("BEGIN")
        const locked = await inserter.query(
          `SELECT id, status FROM "${schema}".jobloom_jobs WHERE id = $1 ORDER BY id FOR NO KEY UPDATE`,
          [parent.id]
        )
        await inserter.query(`SELECT * FROM "${schema}".jobloom_insert_unkeyed($1::json, NULL::text)`, [
          JSON.stringify([toJsonRow(child)])
        ])
        await inserter.query(
          `INSERT INTO "${schema}".jobloom_dependencies (job_id, depends_on, done) VALUES ($1, $2, false)`,
          [child.id, parent.id]
        )
        return locked.rows
      })
      expect(found?.status, "the insert reads the dependency still running").toBe("RUNNING")
      // the dependency's settle meanwhile: it waits on the inserter's row lock
      const settling = yield* Effect.fork(
        store.settle({
          workerId: "w",
          now: T0 + 1,
          settlements: [{ _tag: "Complete", id: parent.id, token: TOKEN, progress: null, result: null }]
        })
      )
      const waiting = adminQuery(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${schema}%jobloom_settle%`]
      )
      yield* Effect.repeat(waiting, {
        until: (rows) => Number(rows[0]?.n ?? 0) >= 1,
        schedule: Schedule.spaced("10 millis")
      })
      yield* Effect.promise(() => inserter.query("COMMIT"))
      expect(yield* Fiber.join(settling), "the settle applies once the insert committed").toEqual([
        { id: parent.id, status: "SUCCEEDED" }
      ])
      expect(
        (yield* claimOf("children", T0 + 2)).map((r) => [r.id, r.waitingOn]),
        "the dependent, counted by the settle's trigger on the row the insert flagged, is claimable"
      ).toEqual([[child.id, 0]])
    }).pipe(Effect.scoped)
  )

  it.live("the settle finds its rows by key and joins them by hash after an ANALYZE that saw no held job", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const context = yield* Layer.build(PgJobStore.layer({ url: databaseUrl, schema }))
      const store = Context.get(context, JobStore.JobStore)
      yield* store.insert({ jobs: Array.from({ length: 1000 }, () => makeRow({ queue: "plan" })) })
      // the statistics of a table where every job waits: the held statuses look empty to the planner
      yield* adminQuery(`ANALYZE "${schema}".jobloom_jobs`)
      const claimed = yield* store.claim({
        workerId: "w",
        token: TOKEN,
        now: T0,
        leaseMs: 60_000,
        limit: 500,
        queues: ["plan"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed).toHaveLength(500)
      const input = JSON.stringify(
        claimed.map((row) => ({ worker_id: "w", token: TOKEN, at: T0 + 1, kind: "Complete", id: row.id }))
      )
      const { plans, settled } = yield* Effect.promise(async () => {
        const client = new Pg.Client({ connectionString: databaseUrl })
        const notices: Array<string> = []
        client.on("notice", (m) => notices.push(m.message ?? ""))
        await client.connect()
        try {
          await client.query(`LOAD 'auto_explain'`)
          await client.query(`SET auto_explain.log_min_duration = 0`)
          await client.query(`SET auto_explain.log_analyze = on`)
          await client.query(`SET auto_explain.log_nested_statements = on`)
          await client.query(`SET client_min_messages = log`)
          const result = await client.query(
            `SELECT * FROM ${Pg.escapeIdentifier(schema)}.jobloom_settle($1::json, false, '{}'::text[], '{}'::text[], NULL::json, 0)`,
            [input]
          )
          return { plans: notices.join("\n"), settled: result.rows.length }
        } finally {
          await client.end()
        }
      })
      expect(settled, "every settlement applied").toBe(500)
      const update = plans.slice(plans.indexOf("Update on"))
      expect(update, "the settle's UPDATE was explained").toContain("jobloom_jobs_pkey")
      // a nested loop with the input inside parsed the whole batch again for every row: 250,000 comparisons
      expect(update, "each row found by key, no row compared with every settlement").not.toMatch(
        /Rows Removed by Join Filter: \d{3,}/
      )
    }).pipe(Effect.scoped)
  )
})
