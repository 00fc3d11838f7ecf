/**
 * The maintenance part of the store conformance suite: `rescue` of expired leases and `expire` of jobs past their
 * deadline, each judged only by the test's own jobs (both act store-wide). Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { JobStore } from "../JobStore.js"
import { leasesOf, makeRow, T0 } from "./rows.js"
import {
  comparable,
  getRow,
  insertRows,
  markCancelling,
  runningJob,
  sortedChanges,
  unique,
  type StoreIt
} from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const maintenanceTests = (it: StoreIt): void => {
  it.effect("rescue re-queues or fails jobs whose lease expired, cancels CANCELLING ones, leaves live leases", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const retryable = yield* runningJob({ workerId, leaseMs: 1_000 })
      const spent = yield* runningJob({ workerId, leaseMs: 1_000, row: { maxAttempts: 1 } })
      const cancelling = yield* runningJob({ workerId, leaseMs: 1_000 })
      yield* markCancelling(cancelling.id, T0 + 1)
      const alive = yield* runningJob({ workerId, leaseMs: 1_001 })
      const now = T0 + 1_000
      const changes = yield* store.rescue({ now })
      const mine = [retryable.id, spent.id, cancelling.id, alive.id]
      expect(
        sortedChanges(changes.filter((c) => mine.includes(c.id))),
        "rescue: reports each rescued job (leaseExpiresAt <= now) with its new status"
      ).toEqual(
        sortedChanges([
          { id: retryable.id, status: "QUEUED" },
          { id: spent.id, status: "FAILED" },
          { id: cancelling.id, status: "CANCELLED" }
        ])
      )
      const r = yield* getRow(retryable.id)
      expect(
        [r.status, r.runAt, r.attempt, r.leaseOwner, r.leaseExpiresAt, r.leaseToken, r.finishedAt, r.updatedAt],
        "rescue: RUNNING with attempts left → QUEUED, runAt kept (its place in the queue), lease cleared, attempt kept"
      ).toEqual(["QUEUED", retryable.runAt, 1, null, null, null, null, now])
      const s = yield* getRow(spent.id)
      expect(
        [s.status, s.terminalReason, s.finishedAt, s.leaseOwner],
        "rescue: RUNNING without attempts left → FAILED (stalled)"
      ).toEqual(["FAILED", "stalled", now, null])
      const c = yield* getRow(cancelling.id)
      expect([c.status, c.terminalReason, c.finishedAt, c.leaseOwner], "rescue: CANCELLING → CANCELLED (user)").toEqual(
        ["CANCELLED", "user", now, null]
      )
      expect(comparable(yield* getRow(alive.id)), "rescue: an unexpired lease is untouched").toEqual(comparable(alive))
    })
  )

  it.effect("expire times out QUEUED, RUNNING and PAUSED jobs past their deadline, nothing else", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const now = T0 + 500
      const queued = makeRow({ deadline: now })
      const paused = makeRow({ deadline: now - 100, status: "PAUSED" })
      const created = makeRow({ deadline: now - 100, status: "CREATED" })
      const future = makeRow({ deadline: now + 1 })
      const done = makeRow({ deadline: now - 100, status: "SUCCEEDED", finishedAt: T0 })
      yield* insertRows([queued, paused, created, future, done])
      const running = yield* runningJob({ workerId, leaseMs: 100_000, row: { deadline: now } })
      const changes = yield* store.expire({ now })
      const mine = [queued, paused, created, future, done, running].map((r) => r.id)
      expect(
        sortedChanges(changes.filter((c) => mine.includes(c.id))),
        "expire: reports QUEUED, RUNNING and PAUSED jobs with deadline <= now as TIMED_OUT"
      ).toEqual(sortedChanges([queued, paused, running].map((r) => ({ id: r.id, status: "TIMED_OUT" as const }))))
      for (const row of [queued, paused, running]) {
        const after = yield* getRow(row.id)
        expect(
          [after.status, after.terminalReason, after.finishedAt, after.leaseOwner, after.leaseExpiresAt],
          `expire: a ${row.status} job → TIMED_OUT (expired), finishedAt, lease cleared`
        ).toEqual(["TIMED_OUT", "expired", now, null, null])
      }
      for (const row of [created, future, done]) {
        expect(
          (yield* getRow(row.id)).status,
          `expire: a ${row.status} job (deadline ${row.deadline! - now}) stays`
        ).toBe(row.status)
      }
      const lost = yield* store.heartbeat({ workerId, leases: leasesOf([running.id]), now, leaseMs: 1_000 })
      expect(lost, "heartbeat: an expired job is lost to its worker").toEqual([])
    })
  )
}
