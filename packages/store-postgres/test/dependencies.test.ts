/**
 * Dependencies on PostgreSQL beyond the conformance suite: the claim's plan still walks the due index with thousands
 * of jobs waiting on a dependency (they are not in it), and one settle releases them all.
 */
import { it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import { makeRow, T0, TOKEN } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pg from "pg"
import { describe, expect } from "vitest"
import { databaseUrl, freshSchema } from "./utils.js"
import { PgJobStore } from "@jobloom/store-postgres"

/** Runs statements on one session of its own, answering the rows of the last. */
const session = (statements: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      let rows: Array<Record<string, unknown>> = []
      for (const text of statements) rows = (await client.query(text)).rows
      return rows
    } finally {
      await client.end()
    }
  })

describe("PgJobStore dependencies", () => {
  it.scoped(
    "the claim walks the due index, which holds no waiting job, and one settle releases them all",
    () =>
      Effect.gen(function* () {
        const schema = yield* freshSchema
        const context = yield* Layer.build(PgJobStore.layer({ url: databaseUrl, schema }))
        const store = Context.get(context, JobStore.JobStore)
        const parent = makeRow({ queue: "parents" })
        yield* store.insert({ jobs: [parent] })
        yield* store.claim({
          token: TOKEN,
          workerId: "w",
          now: T0,
          leaseMs: 60_000,
          limit: 1,
          queues: ["parents"],
          typeLimits: {},
          queueLimits: {}
        })
        const waiting = Array.from({ length: 2000 }, () =>
          makeRow({ queue: "q", priority: 10, dependsOn: [parent.id], waitingOn: 1 })
        )
        for (let i = 0; i < waiting.length; i += 500) yield* store.insert({ jobs: waiting.slice(i, i + 500) })
        yield* store.insert({ jobs: Array.from({ length: 5 }, () => makeRow({ queue: "q" })) })
        const jobs = `"${schema}"."jobloom_jobs"`
        const plan = yield* session([
          `ANALYZE ${jobs}`,
          // the claim function's settings (migration 1): a generic plan, no seq scan, bitmap scan or sort
          "SET plan_cache_mode = force_generic_plan",
          "SET enable_seqscan = off",
          "SET enable_bitmapscan = off",
          "SET enable_sort = off",
          `PREPARE due(text, bigint, integer) AS SELECT id FROM ${jobs}
            WHERE status = 'QUEUED' AND waiting_on = 0 AND queue = $1 AND run_at <= $2
            ORDER BY priority DESC, run_at, id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED`,
          `EXPLAIN EXECUTE due('q', ${T0}, 10)`
        ])
        const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n")
        expect(text, "the claim's select walks jobs_due in claim order").toMatch(/Index Scan using jobloom_jobs_due on/)
        expect(text, "no sort").not.toMatch(/Sort/)

        yield* store.settle({
          workerId: "w",
          now: T0 + 10,
          settlements: [{ _tag: "Complete", id: parent.id, token: TOKEN, progress: null, result: null }]
        })
        const released = yield* store.list({
          filter: { queues: ["q"], waiting: false },
          sort: "createdAt",
          order: "asc",
          limit: 1,
          cursor: null,
          withTotal: true
        })
        expect(released.total, "every dependent is released").toBe(2005)
      }),
    120_000
  )
})
