/**
 * The callbacks part of the store conformance suite: a pending callback is recorded on every terminal write of a job
 * with a callbackUrl, taken under a lease, and deleted or rescheduled when settled. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import type { JobStatus } from "../Job.js"
import type { CallbackRow, JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"
import { complete, errorText, markCancelling, runningJob, takeCallbacks, unique, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const callbackTests = (it: StoreIt): void => {
  it.effect("callbacks are recorded on every terminal write of a job with a callbackUrl, and only then", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const url = (label: string) => `https://example.com/${label}`
      const withCb = (label: string, row: Partial<JobRow> = {}) => ({ callbackUrl: url(label), ...row })

      const cancelled = makeRow(withCb("update"))
      yield* store.insert({ jobs: [cancelled] })
      yield* store.update({
        id: cancelled.id,
        from: ["QUEUED"],
        patch: { status: "CANCELLED", terminalReason: "user", finishedAt: T0 + 10 },
        now: T0 + 10
      })
      const succeeded = yield* runningJob({ workerId, row: withCb("complete") })
      const failed = yield* runningJob({ workerId, row: withCb("fail") })
      const lateCancel = yield* runningJob({ workerId, row: withCb("cancelling") })
      yield* markCancelling(lateCancel.id, T0 + 5)
      const retried = yield* runningJob({ workerId, row: withCb("retry") })
      const silent = yield* runningJob({ workerId })
      const resultId = uuidv7()
      yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [
          complete(succeeded.id, { id: resultId, value: "{}" }),
          {
            _tag: "Fail",
            id: failed.id,
            token: TOKEN,
            status: "FAILED",
            reason: "error",
            lastError: errorText("e"),
            progress: null
          },
          complete(lateCancel.id),
          {
            _tag: "Retry",
            id: retried.id,
            token: TOKEN,
            runAt: T0 + 99_999,
            lastError: errorText("e"),
            progress: null
          },
          complete(silent.id)
        ]
      })
      const stalled = yield* runningJob({ workerId, leaseMs: 10, row: withCb("stalled", { maxAttempts: 1 }) })
      const abandoned = yield* runningJob({ workerId, leaseMs: 10, row: withCb("abandoned") })
      yield* markCancelling(abandoned.id, T0 + 5)
      yield* store.rescue({ now: T0 + 10 })
      const expired = makeRow(withCb("expire", { deadline: T0 + 10, status: "PAUSED" }))
      yield* store.insert({ jobs: [expired] })
      yield* store.expire({ now: T0 + 10 })

      const all = [cancelled, succeeded, failed, lateCancel, retried, silent, stalled, abandoned, expired]
      const taken = yield* takeCallbacks(
        all.map((r) => r.id),
        T0 + 10
      )
      const shape = (c: CallbackRow) => ({
        jobId: c.jobId,
        url: c.url,
        status: c.status,
        terminalReason: c.terminalReason,
        resultId: c.resultId,
        finishedAt: c.finishedAt,
        attempts: c.attempts
      })
      const expected = (
        row: JobRow,
        label: string,
        status: JobStatus,
        reason: string | null,
        rid = null as string | null
      ) => ({
        jobId: row.id,
        url: url(label),
        status,
        terminalReason: reason,
        resultId: rid,
        finishedAt: T0 + 10,
        attempts: 0
      })
      expect(
        taken.map(shape).sort((a, b) => (a.jobId < b.jobId ? -1 : 1)),
        "callbacks: one per terminal write (update, settle, rescue, expire), none for Retry or without callbackUrl"
      ).toEqual(
        [
          expected(cancelled, "update", "CANCELLED", "user"),
          expected(succeeded, "complete", "SUCCEEDED", null, resultId),
          expected(failed, "fail", "FAILED", "error"),
          expected(lateCancel, "cancelling", "CANCELLED", "user"),
          expected(stalled, "stalled", "FAILED", "stalled"),
          expected(abandoned, "abandoned", "CANCELLED", "user"),
          expected(expired, "expire", "TIMED_OUT", "expired")
        ].sort((a, b) => (a.jobId < b.jobId ? -1 : 1))
      )
      expect(new Set(taken.map((c) => c.id)).size, "callbacks: each has its own id").toBe(taken.length)
    })
  )

  it.effect("claimCallbacks hides a taken callback until its lease passes; settleCallback deletes or reschedules", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const makeDone = () =>
        Effect.gen(function* () {
          const row = makeRow({ callbackUrl: "https://example.com/x", queue: unique("q") })
          yield* store.insert({ jobs: [row] })
          yield* store.update({
            id: row.id,
            from: ["QUEUED"],
            patch: { status: "CANCELLED", terminalReason: "user", finishedAt: T0 },
            now: T0
          })
          return row.id
        })
      const delivered = yield* makeDone()
      const retried = yield* makeDone()
      const ids = [delivered, retried]
      expect(yield* takeCallbacks(ids, T0 - 1), "claimCallbacks: a callback is not due before its write").toEqual([])
      const first = yield* takeCallbacks(ids, T0, 1_000)
      expect(first.map((c) => c.jobId).sort(), "claimCallbacks: due callbacks are taken").toEqual(ids.slice().sort())
      expect(yield* takeCallbacks(ids, T0 + 999), "claimCallbacks: taken callbacks hide during the lease").toEqual([])
      const again = yield* takeCallbacks(ids, T0 + 1_000)
      expect(again.map((c) => c.jobId).sort(), "claimCallbacks: they come back when the lease passes").toEqual(
        ids.slice().sort()
      )
      const byJob = new Map(again.map((c) => [c.jobId, c]))
      yield* store.settleCallback({ id: byJob.get(delivered)!.id, retryAt: null, now: T0 + 1_001 })
      yield* store.settleCallback({ id: byJob.get(retried)!.id, retryAt: T0 + 5_000, now: T0 + 1_001 })
      expect(yield* takeCallbacks(ids, T0 + 4_999), "settleCallback: a retry is hidden until retryAt").toEqual([])
      const last = yield* takeCallbacks(ids, T0 + 5_000)
      expect(
        last.map((c) => [c.jobId, c.attempts]),
        "settleCallback: null deletes; retryAt makes it due then with attempts + 1"
      ).toEqual([[retried, 1]])
      yield* store.settleCallback({ id: last[0]!.id, retryAt: null, now: T0 + 5_001 })
      expect(yield* takeCallbacks(ids, T0 + 1e9), "settleCallback: a delivered callback never returns").toEqual([])
      const limited = yield* store.claimCallbacks({ now: T0 + 1e9, limit: 0, leaseMs: 1 })
      expect(limited, "claimCallbacks: limit 0 takes nothing").toEqual([])
    })
  )
}
