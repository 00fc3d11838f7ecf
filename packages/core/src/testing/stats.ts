/**
 * The stats part of the store conformance suite: counts by type and status over a filter. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobStatus } from "../Job.js"
import type { JobFilter } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, TOKEN } from "./rows.js"
import { insertRows, unique, type StoreIt } from "./support.js"

type Counts = Partial<Record<JobStatus, number>>

/** Stats rows as `{ status: count }` (one type). */
const byStatus = (rows: ReadonlyArray<{ readonly status: JobStatus; readonly count: number }>): Counts =>
  Object.fromEntries(rows.map((row) => [row.status, row.count]))

/**
 * Checks the counts of one type (in its own queue and batch) three ways: the stats and the list total over
 * `{ types }` alone (which a store may answer from counters it keeps) against the same under `{ types, batchId }`
 * (which it must count row by row) and against what the test expects.
 */
const checkCounts = (type: string, batchId: string, expected: Counts, step: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const total = (filter: JobFilter) =>
      Effect.map(
        store.list({ filter, sort: "createdAt", order: "desc", limit: 1, cursor: null, withTotal: true }),
        (page) => page.total
      )
    const sum = Object.values(expected).reduce((a, b) => a + b, 0)
    expect(byStatus(yield* store.stats({ filter: { types: [type] } })), `stats by type after ${step}`).toEqual(expected)
    expect(
      byStatus(yield* store.stats({ filter: { types: [type], batchId } })),
      `stats counted row by row after ${step}`
    ).toEqual(expected)
    expect(yield* total({ types: [type] }), `list total by type after ${step}`).toBe(sum)
    expect(yield* total({ types: [type], batchId }), `list total counted row by row after ${step}`).toBe(sum)
    expect(
      byStatus(yield* store.stats({ filter: { types: [type], statuses: ["QUEUED", "FAILED"] } })),
      `stats by type and status after ${step}`
    ).toEqual(Object.fromEntries(Object.entries(expected).filter(([status]) => ["QUEUED", "FAILED"].includes(status))))
  })

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const statsTests = (it: StoreIt): void => {
  it.effect("stats counts jobs by type and status over the filter", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const typeA = unique("a")
      const typeB = unique("b")
      yield* insertRows([
        makeRow({ batchId, type: typeA, status: "QUEUED" }),
        makeRow({ batchId, type: typeA, status: "QUEUED" }),
        makeRow({ batchId, type: typeA, status: "FAILED" }),
        makeRow({ batchId, type: typeB, status: "QUEUED" }),
        makeRow({ batchId: unique("batch"), type: typeA, status: "QUEUED" })
      ])
      const order = (rows: ReadonlyArray<{ type: string; status: JobStatus; count: number }>) =>
        rows
          .map(({ type, status, count }) => ({ type, status, count }))
          .sort((x, y) => `${x.type} ${x.status}`.localeCompare(`${y.type} ${y.status}`))
      expect(
        order(yield* store.stats({ filter: { batchId } })),
        "stats: one row per type and status present, none for absent combinations"
      ).toEqual(
        order([
          { type: typeA, status: "QUEUED", count: 2 },
          { type: typeA, status: "FAILED", count: 1 },
          { type: typeB, status: "QUEUED", count: 1 }
        ])
      )
      expect(
        order(yield* store.stats({ filter: { batchId, statuses: ["QUEUED"], types: [typeA] } })),
        "stats: the filter applies before counting"
      ).toEqual([{ type: typeA, status: "QUEUED", count: 2 }])
      expect(
        yield* store.stats({ filter: { batchId, statuses: [] } }),
        "stats: a filter matching nothing gives no rows"
      ).toEqual([])
    })
  )

  it.effect("stats and totals stay exact through insert, claim, settle, cancel, expire, rescue, delete and prune", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      // long before any other test's times, so store-wide rescue, expire and prune only reach this test's jobs
      const P = 400_000_000_000
      const type = unique("counted")
      const queue = unique("q")
      const batchId = unique("batch")
      const workerId = unique("w")
      const row = (overrides: Parameters<typeof makeRow>[0] = {}) =>
        makeRow({ type, queue, batchId, runAt: P, createdAt: P, updatedAt: P, ...overrides })
      const queued = Array.from({ length: 8 }, (_, i) => row({ priority: 10 - i }))
      const expiring = row({ priority: -5, deadline: P + 50 })
      yield* insertRows([...queued, expiring, row({ status: "CREATED" }), row({ status: "PAUSED" })])
      yield* checkCounts(type, batchId, { QUEUED: 9, CREATED: 1, PAUSED: 1 }, "insert")

      const claim = (now: number, limit: number, leaseMs = 1_000) =>
        store.claim({ token: TOKEN, workerId, now, leaseMs, limit, queues: [queue], typeLimits: {}, queueLimits: {} })
      const claimed = (yield* claim(P, 6)).map((r) => r.id)
      expect(claimed, "claim takes the six best").toEqual(queued.slice(0, 6).map((r) => r.id))
      yield* checkCounts(type, batchId, { QUEUED: 3, RUNNING: 6, CREATED: 1, PAUSED: 1 }, "claim")

      const [done, failed, retried, cancelled, cancelling, stalled] = claimed as [string, ...Array<string>]
      yield* store.settle({
        workerId,
        now: P + 10,
        settlements: [
          { _tag: "Complete", id: done, token: TOKEN, progress: null, result: null },
          {
            _tag: "Fail",
            id: failed!,
            token: TOKEN,
            status: "FAILED",
            reason: "error",
            lastError: "{}",
            progress: null
          },
          { _tag: "Retry", id: retried!, token: TOKEN, runAt: P + 20, lastError: "{}", progress: null },
          { _tag: "Cancelled", id: cancelled!, token: TOKEN, progress: null }
        ]
      })
      const after = { QUEUED: 4, RUNNING: 2, SUCCEEDED: 1, FAILED: 1, CANCELLED: 1, CREATED: 1, PAUSED: 1 }
      yield* checkCounts(type, batchId, after, "settle and retry")

      const update = (id: string, from: JobStatus, status: JobStatus) =>
        Effect.map(
          store.update({ id, from: [from], patch: { status, finishedAt: P + 30 }, now: P + 30 }),
          Option.isSome
        )
      expect(yield* update(cancelling!, "RUNNING", "CANCELLING"), "cancel of a running job").toBe(true)
      expect(yield* update(queued[6]!.id, "QUEUED", "CANCELLED"), "cancel of a queued job").toBe(true)
      expect(yield* update(queued[6]!.id, "QUEUED", "CANCELLED"), "a refused update changes nothing").toBe(false)
      yield* checkCounts(
        type,
        batchId,
        { ...after, QUEUED: 3, RUNNING: 1, CANCELLING: 1, CANCELLED: 2 },
        "cancel (a refused one included)"
      )

      yield* store.expire({ now: P + 60 })
      yield* checkCounts(
        type,
        batchId,
        { ...after, QUEUED: 2, RUNNING: 1, CANCELLING: 1, CANCELLED: 2, TIMED_OUT: 1 },
        "expire"
      )

      // the stalled job's and the cancelling job's leases ran out at P + 1000
      expect(stalled, "the sixth claimed job").toBeDefined()
      yield* store.rescue({ now: P + 2_000 })
      const rescued = { QUEUED: 3, SUCCEEDED: 1, FAILED: 1, CANCELLED: 3, TIMED_OUT: 1, CREATED: 1, PAUSED: 1 }
      yield* checkCounts(type, batchId, rescued, "rescue")

      expect(yield* store.delete({ id: done, from: ["SUCCEEDED"] }), "delete of one job").toBe(true)
      expect(yield* store.delete({ id: failed!, from: ["SUCCEEDED"] }), "a refused delete").toBe(false)
      const { SUCCEEDED: _deleted, ...remaining } = rescued
      yield* checkCounts(type, batchId, remaining, "delete")

      expect(yield* store.deleteMany({ filter: { batchId, statuses: ["CREATED", "PAUSED"] } }), "bulk delete").toBe(2)
      const bulk = { QUEUED: 3, FAILED: 1, CANCELLED: 3, TIMED_OUT: 1 }
      yield* checkCounts(type, batchId, bulk, "bulk delete")

      const pruned = yield* store.prune({ bounds: [{ status: "CANCELLED", before: P + 1_000_000 }], limit: 100 })
      expect(
        pruned.filter((c) => c.status === "CANCELLED").length,
        "prune of the cancelled jobs"
      ).toBeGreaterThanOrEqual(3)
      yield* checkCounts(type, batchId, { QUEUED: 3, FAILED: 1, TIMED_OUT: 1 }, "prune")

      // nothing left behind for the store-wide prune tests
      expect(yield* store.deleteMany({ filter: { batchId } }), "bulk delete of the rest").toBe(5)
      yield* checkCounts(type, batchId, {}, "bulk delete of the rest")
    })
  )
}
