import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import type { JobStore } from "@jobloom/core"
import { makeRow, T0 } from "./support.js"
import * as Effect from "effect/Effect"
import { SqliteJobStore } from "../src/index.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

/**
 * The plans SQLite picks for the statements the store really runs: each store call is run once while its compiled
 * statements are captured, then each captured statement matching `pick` is explained with the same parameters.
 */
const plansOf = <A, E>(
  call: (store: JobStore.JobStore.Service) => Effect.Effect<A, E>,
  pick: RegExp
): Effect.Effect<ReadonlyArray<string>, E | unknown, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* SqliteJobStore.make()
    const captured: Array<readonly [string, ReadonlyArray<unknown>]> = []
    yield* call(store).pipe(
      Statement.withTransformer((statement) => {
        captured.push(statement.compile())
        return Effect.succeed(statement)
      })
    )
    const plans: Array<string> = []
    for (const [text, params] of captured.filter(([text]) => pick.test(text))) {
      const rows = yield* sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)
      plans.push(rows.map((row) => row.detail).join("\n"))
    }
    expect(plans.length).toBeGreaterThan(0)
    return plans
  })

const seed = Effect.gen(function* () {
  const store = yield* SqliteJobStore.make()
  // enough rows of several kinds that a full scan would be a real choice for the planner
  yield* store.insert({
    jobs: Array.from({ length: 2000 }, (_, i) =>
      makeRow({
        queue: i % 2 === 0 ? "default" : "other",
        status: i % 3 === 0 ? "SUCCEEDED" : "QUEUED",
        finishedAt: i % 3 === 0 ? T0 + i : null,
        deadline: i % 10 === 0 ? T0 + i : null,
        priority: i % 5,
        createdAt: T0 + i
      })
    )
  })
})

const claimOptions: JobStore.ClaimOptions = {
  workerId: "w",
  token: TOKEN,
  now: T0,
  leaseMs: 1000,
  limit: 10,
  queues: ["default"],
  typeLimits: {},
  queueLimits: {}
}

// Without statistics (a fresh file), and with the statistics ANALYZE (or the PRAGMA optimize the store runs at close)
// leaves behind, which can change the planner's mind.
describe.each([
  ["query plans", false],
  ["query plans after ANALYZE", true]
])("%s", (_, analyze) => {
  const plans = <A, E>(call: (store: JobStore.JobStore.Service) => Effect.Effect<A, E>, pick: RegExp) =>
    seed.pipe(
      Effect.zipRight(analyze ? Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ANALYZE`) : Effect.void),
      Effect.zipRight(plansOf(call, pick)),
      Effect.provide(SqliteClient.layer({ filename: ":memory:" }))
    )

  it.effect("the claim walks the due-jobs index in claim order, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.claim(claimOptions), /^UPDATE/)
      expect(plan).toMatch(/USING (COVERING )?INDEX jobloom_jobs_due \(queue=\?\)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("a claim under limits picks candidates from the due-jobs index too", () =>
    Effect.gen(function* () {
      const found = yield* plans(
        (store) => store.claim({ ...claimOptions, typeLimits: { conformance: 5 } }),
        /status = 'QUEUED' AND waiting_on = 0 AND queue IN/
      )
      expect(found.join("\n")).toMatch(/INDEX jobloom_jobs_due/)
    })
  )

  it.effect("the default list (createdAt desc, no filter) reads the created index backwards, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) =>
          store.list({ filter: {}, sort: "createdAt", order: "desc", limit: 50, cursor: null, withTotal: false }),
        /^SELECT id, type, name/
      )
      expect(plan).toMatch(/INDEX jobloom_jobs_created/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("a list by one status in the default sort uses the status index, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) =>
          store.list({
            filter: { statuses: ["SUCCEEDED"] },
            sort: "createdAt",
            order: "desc",
            limit: 50,
            cursor: { value: T0 + 1000, id: "z" },
            withTotal: false
          }),
        /^SELECT id, type, name/
      )
      expect(plan).toMatch(/INDEX jobloom_jobs_status \(status=\? AND \(created_at,id\)<\(\?,\?\)\)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("stats over everything read the counters, not the jobs", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.stats({ filter: {} }), /GROUP BY/)
      expect(plan).toMatch(/jobloom_counts/)
      expect(plan).not.toMatch(/jobloom_jobs/)
    })
  )

  it.effect("stats under a filter the counters cannot answer count from the status index alone", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.stats({ filter: { createdAfter: T0 } }), /GROUP BY/)
      expect(plan).toMatch(/COVERING INDEX jobloom_jobs_status/)
    })
  )

  it.effect("a list by status and type reads the status index, which carries the type, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) =>
          store.list({
            filter: { statuses: ["FAILED"], types: ["conformance"] },
            sort: "createdAt",
            order: "desc",
            limit: 50,
            cursor: null,
            withTotal: false
          }),
        /ORDER BY/
      )
      expect(plan).toMatch(/INDEX jobloom_jobs_status \(status=\?\)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("a list by finishedAt reads the finished order index, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) =>
          store.list({
            filter: {},
            sort: "finishedAt",
            order: "desc",
            limit: 50,
            cursor: { value: T0 + 30, id: "x" },
            withTotal: false
          }),
        /ORDER BY/
      )
      expect(plan).toMatch(/INDEX jobloom_jobs_finished_order/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("running counts of limited types come from the status index alone", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) => store.claim({ ...claimOptions, typeLimits: { conformance: 5 } }),
        /GROUP BY type/
      )
      expect(plan).toMatch(/COVERING INDEX jobloom_jobs_status \(status=\?\)/)
    })
  )

  it.effect("a list by type in the default sort uses the type index, with no sort", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) =>
          store.list({
            filter: { types: ["conformance"] },
            sort: "createdAt",
            order: "desc",
            limit: 50,
            cursor: null,
            withTotal: false
          }),
        /^SELECT id/
      )
      expect(plan).toMatch(/INDEX jobloom_jobs_type \(type=\?\)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )

  it.effect("retention deletes by finishedBefore use the finished index", () =>
    Effect.gen(function* () {
      const found = yield* plans(
        (store) => store.deleteMany({ filter: { finishedBefore: T0 + 100, statuses: ["SUCCEEDED"] } }),
        /^DELETE FROM "jobloom_jobs"/
      )
      expect(found.join("\n")).toMatch(/INDEX jobloom_jobs_finished \(finished_at<\?\)/)
    })
  )

  it.effect("expiry looks only at live jobs with a deadline, through their partial index", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.expire({ now: T0 + 50 }), /^UPDATE/)
      expect(plan).toMatch(/INDEX jobloom_jobs_deadline \(deadline>\? AND deadline<\?\)/)
    })
  )

  // a batch of Completes only has a statement of its own; any other batch the general one
  it.effect.each([
    ["of Completes", { _tag: "Complete", id: "x", token: TOKEN, progress: null, result: null }],
    ["of other settlements", { _tag: "Release", id: "x", token: TOKEN, progress: null }]
  ] as const)("settling a batch %s looks each job up by its primary key", ([, settlement]) =>
    Effect.gen(function* () {
      const [plan] = yield* plans(
        (store) => store.settle({ workerId: "w", now: T0, settlements: [settlement] }),
        /^UPDATE/
      )
      expect(plan).toMatch(/INDEX sqlite_autoindex_jobloom_jobs_1 \(id=\?\)/)
      expect(plan).not.toMatch(/SCAN "?j"?\b(?! USING)/)
    })
  )

  it.effect("heartbeats, progress writes and status polls look jobs up by primary key", () =>
    Effect.gen(function* () {
      const found = [
        ...(yield* plans(
          (store) =>
            store.heartbeat({
              workerId: "w",
              leases: [
                { id: "a", token: TOKEN },
                { id: "b", token: TOKEN }
              ],
              now: T0,
              leaseMs: 5
            }),
          /^UPDATE/
        )),
        ...(yield* plans(
          (store) =>
            store.saveProgress({ workerId: "w", now: T0, updates: [{ id: "a", token: TOKEN, progress: "{}" }] }),
          /^UPDATE/
        )),
        ...(yield* plans((store) => store.statuses({ ids: ["a", "b"] }), /^SELECT/))
      ]
      expect(found).toHaveLength(3)
      for (const plan of found) expect(plan).toMatch(/INDEX sqlite_autoindex_jobloom_jobs_1 \(id=\?\)/)
    })
  )

  it.effect("the rescue looks only at running jobs", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.rescue({ now: T0 }), /^UPDATE/)
      expect(plan).toMatch(/INDEX jobloom_jobs_status \(status=\?\)/)
    })
  )

  it.effect("an insert finds the holders of its idempotency keys through their unique index", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.insert({ jobs: [makeRow({ idempotencyKey: "k" })] }), /^SELECT/)
      expect(plan).toMatch(/INDEX jobloom_jobs_idempotency \(idempotency_key=\?\)/)
    })
  )

  it.effect("a page of logs and the log cap walk the (job, id) index", () =>
    Effect.gen(function* () {
      const [read] = yield* plans((store) => store.logs({ jobId: "a", limit: 5, cursor: "10" }), /^SELECT/)
      // more lines than the cap for a seeded job, so the trim finds it over its cap and deletes
      const [probe, trim] = yield* plans(
        (store) =>
          store.list({ filter: {}, sort: "createdAt", order: "desc", limit: 1, cursor: null, withTotal: false }).pipe(
            Effect.flatMap(({ rows }) =>
              store.appendLogs({
                cap: 5,
                entries: Array.from({ length: 7 }, () => ({ jobId: rows[0]!.id, at: 1, level: "info", message: "x" }))
              })
            )
          ),
        /^(SELECT j\.value|DELETE)/
      )
      expect(read).toMatch(/INDEX jobloom_logs_job \(job_id=\? AND id<\?\)/)
      expect(probe).toMatch(/INDEX jobloom_logs_job \(job_id=\?\)/)
      expect(probe).not.toMatch(/SCAN jobloom_logs\b/)
      expect(trim).toMatch(/INDEX jobloom_logs_job \(job_id=\? AND id<\?\)/)
      expect(trim).not.toMatch(/SCAN jobloom_logs\b/)
    })
  )

  it.effect("callbacks are taken oldest due first from their due index", () =>
    Effect.gen(function* () {
      const [plan] = yield* plans((store) => store.claimCallbacks({ now: T0, limit: 5, leaseMs: 5 }), /^SELECT/)
      expect(plan).toMatch(/INDEX jobloom_callbacks_due \(due_at<\?\)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
    })
  )
})
