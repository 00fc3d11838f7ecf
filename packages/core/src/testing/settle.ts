/**
 * The settle part of the store conformance suite: what each settlement writes (Complete, Retry, Fail, Cancelled,
 * Release), and that a CANCELLING job ends CANCELLED whatever the settlement says. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import type { JobRow, Settlement } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { T0, TOKEN } from "./rows.js"
import {
  comparable,
  complete,
  errorText,
  getRow,
  markCancelling,
  parse,
  runningJob,
  sortedChanges,
  unique,
  type StoreIt
} from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const settleTests = (it: StoreIt): void => {
  it.effect("settle Complete stores the result, sets SUCCEEDED, resultId, finishedAt and clears the lease", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId })
      const resultId = uuidv7()
      const progress = JSON.stringify({ summary: { status: "RUNNING", progress: 1 }, stages: [], items: null })
      const value = JSON.stringify({ answer: 42, list: ["a"] })
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [{ _tag: "Complete", id: job.id, token: TOKEN, progress, result: { id: resultId, value } }]
      })
      expect(changes, "settle: a Complete reports SUCCEEDED").toEqual([{ id: job.id, status: "SUCCEEDED" }])
      const row = yield* getRow(job.id)
      expect(
        comparable(row),
        "settle: Complete writes SUCCEEDED, resultId, finishedAt, progress, no lease (the worker kept)"
      ).toEqual(
        comparable({
          ...job,
          status: "SUCCEEDED",
          terminalReason: null,
          resultId,
          finishedAt: T0 + 10,
          updatedAt: T0 + 10,
          progress,
          leaseOwner: workerId,
          leaseExpiresAt: null,
          leaseToken: null
        })
      )
      const result = yield* store.getResult({ resultId })
      if (Option.isNone(result)) return expect.fail("settle: Complete stores the result row")
      expect(
        { ...result.value, value: parse(result.value.value) },
        "getResult: the stored result carries its job, value and createdAt"
      ).toEqual({ id: resultId, jobId: job.id, value: parse(value), createdAt: T0 + 10 })
      expect(Option.isNone(yield* store.getResult({ resultId: uuidv7() })), "getResult: unknown id is None").toBe(true)

      const bare = yield* runningJob({ workerId })
      yield* store.settle({ workerId, now: T0 + 11, settlements: [complete(bare.id)] })
      const bareRow = yield* getRow(bare.id)
      expect([bareRow.status, bareRow.resultId], "settle: Complete without a result leaves resultId null").toEqual([
        "SUCCEEDED",
        null
      ])
      expect(bareRow.progress, "settle: a null progress keeps the stored progress").toBe(bare.progress)
    })
  )

  it.effect("settle Retry re-queues with runAt and lastError, keeping the spent attempt", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId })
      const lastError = errorText("try again")
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [{ _tag: "Retry", id: job.id, token: TOKEN, runAt: T0 + 5_000, lastError, progress: null }]
      })
      expect(changes, "settle: a Retry reports QUEUED").toEqual([{ id: job.id, status: "QUEUED" }])
      const row = yield* getRow(job.id)
      expect(
        {
          status: row.status,
          runAt: row.runAt,
          lastError: parse(row.lastError),
          attempt: row.attempt,
          finishedAt: row.finishedAt,
          leaseOwner: row.leaseOwner,
          leaseExpiresAt: row.leaseExpiresAt,
          updatedAt: row.updatedAt
        },
        "settle: Retry → QUEUED with runAt, lastError, attempt kept, lease cleared"
      ).toEqual({
        status: "QUEUED",
        runAt: T0 + 5_000,
        lastError: parse(lastError),
        attempt: 1,
        finishedAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        updatedAt: T0 + 10
      })
    })
  )

  it.effect("settle Fail sets FAILED or TIMED_OUT with its reason, lastError and finishedAt", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const failed = yield* runningJob({ workerId })
      const timedOut = yield* runningJob({ workerId })
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [
          {
            _tag: "Fail",
            id: failed.id,
            token: TOKEN,
            status: "FAILED",
            reason: "threshold",
            lastError: errorText("bad"),
            progress: null
          },
          {
            _tag: "Fail",
            id: timedOut.id,
            token: TOKEN,
            status: "TIMED_OUT",
            reason: "timeout",
            lastError: errorText("slow"),
            progress: null
          }
        ]
      })
      expect(sortedChanges(changes), "settle: Fail reports the given statuses").toEqual(
        sortedChanges([
          { id: failed.id, status: "FAILED" },
          { id: timedOut.id, status: "TIMED_OUT" }
        ])
      )
      for (const [job, status, reason, message] of [
        [failed, "FAILED", "threshold", "bad"],
        [timedOut, "TIMED_OUT", "timeout", "slow"]
      ] as const) {
        const row = yield* getRow(job.id)
        expect(
          [row.status, row.terminalReason, parse(row.lastError), row.finishedAt, row.leaseOwner, row.attempt],
          `settle: Fail → ${status} (${reason}) with lastError and finishedAt, the worker kept`
        ).toEqual([status, reason, parse(errorText(message)), T0 + 10, workerId, 1])
      }
    })
  )

  it.effect("settle Cancelled sets CANCELLED (user) with finishedAt", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId })
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [{ _tag: "Cancelled", id: job.id, token: TOKEN, progress: null }]
      })
      expect(changes, "settle: Cancelled reports CANCELLED").toEqual([{ id: job.id, status: "CANCELLED" }])
      const row = yield* getRow(job.id)
      expect(
        [row.status, row.terminalReason, row.finishedAt, row.leaseOwner],
        "settle: Cancelled → CANCELLED (user), finishedAt, the worker kept"
      ).toEqual(["CANCELLED", "user", T0 + 10, workerId])
    })
  )

  it.effect("settle Release re-queues giving the attempt back, runAt unchanged", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId, row: { attempt: 1, runAt: T0 - 50 }, now: T0 })
      expect(job.attempt, "claim: attempt + 1").toBe(2)
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [{ _tag: "Release", id: job.id, token: TOKEN, progress: null }]
      })
      expect(changes, "settle: Release reports QUEUED").toEqual([{ id: job.id, status: "QUEUED" }])
      const row = yield* getRow(job.id)
      expect(
        [row.status, row.attempt, row.runAt, row.leaseOwner, row.leaseExpiresAt, row.finishedAt],
        "settle: Release → QUEUED, attempt − 1, runAt unchanged, lease cleared"
      ).toEqual(["QUEUED", 1, T0 - 50, null, null, null])
    })
  )

  it.effect("settle turns a CANCELLING job CANCELLED (user) whatever the settlement says", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const resultId = uuidv7()
      const settlements = (ids: ReadonlyArray<string>): ReadonlyArray<Settlement> => [
        complete(ids[0]!, { id: resultId, value: "1" }),
        { _tag: "Retry", id: ids[1]!, token: TOKEN, runAt: T0 + 99, lastError: errorText("x"), progress: null },
        {
          _tag: "Fail",
          id: ids[2]!,
          token: TOKEN,
          status: "FAILED",
          reason: "error",
          lastError: errorText("x"),
          progress: null
        },
        {
          _tag: "Fail",
          id: ids[3]!,
          token: TOKEN,
          status: "TIMED_OUT",
          reason: "timeout",
          lastError: errorText("x"),
          progress: null
        },
        { _tag: "Release", id: ids[4]!, token: TOKEN, progress: null },
        { _tag: "Cancelled", id: ids[5]!, token: TOKEN, progress: null }
      ]
      const jobs: Array<JobRow> = []
      for (let i = 0; i < 6; i++) {
        const job = yield* runningJob({ workerId })
        yield* markCancelling(job.id, T0 + 1)
        jobs.push(job)
      }
      const ids = jobs.map((j) => j.id)
      const changes = yield* store.settle({ workerId, now: T0 + 10, settlements: settlements(ids) })
      expect(sortedChanges(changes), "settle: every settlement of a CANCELLING job reports CANCELLED").toEqual(
        sortedChanges(ids.map((id) => ({ id, status: "CANCELLED" as const })))
      )
      for (const [i, id] of ids.entries()) {
        const row = yield* getRow(id)
        expect(
          [row.status, row.terminalReason, row.finishedAt, row.leaseOwner],
          `settle: ${settlements(ids)[i]!._tag} on a CANCELLING job ends CANCELLED (user)`
        ).toEqual(["CANCELLED", "user", T0 + 10, workerId])
      }
      expect((yield* getRow(ids[0]!)).resultId, "settle: a late Complete stores no resultId").toBeNull()
      expect(
        Option.isNone(yield* store.getResult({ resultId })),
        "settle: a late Complete on a CANCELLING job stores no result"
      ).toBe(true)
    })
  )

  it.effect(
    "a batch of Completes settles RUNNING jobs SUCCEEDED and a CANCELLING one CANCELLED, storing no result for it",
    () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const workerId = unique("w")
        const done = yield* runningJob({ workerId })
        const cancelling = yield* runningJob({ workerId })
        yield* markCancelling(cancelling.id, T0 + 1)
        const bare = yield* runningJob({ workerId })
        const [doneResult, lateResult] = [uuidv7(), uuidv7()]
        const changes = yield* store.settle({
          workerId,
          now: T0 + 10,
          settlements: [
            complete(done.id, { id: doneResult, value: "1" }),
            complete(cancelling.id, { id: lateResult, value: "2" }),
            complete(bare.id)
          ]
        })
        expect(sortedChanges(changes), "settle: Completes report SUCCEEDED, a CANCELLING job CANCELLED").toEqual(
          sortedChanges([
            { id: done.id, status: "SUCCEEDED" },
            { id: cancelling.id, status: "CANCELLED" },
            { id: bare.id, status: "SUCCEEDED" }
          ])
        )
        const rows = [yield* getRow(done.id), yield* getRow(cancelling.id), yield* getRow(bare.id)]
        expect(
          rows.map((r) => [r.status, r.terminalReason, r.resultId, r.finishedAt, r.leaseOwner]),
          "settle: Completes write status, reason, resultId, finishedAt and keep the worker"
        ).toEqual([
          ["SUCCEEDED", null, doneResult, T0 + 10, workerId],
          ["CANCELLED", "user", null, T0 + 10, workerId],
          ["SUCCEEDED", null, null, T0 + 10, workerId]
        ])
        expect(
          Option.map(yield* store.getResult({ resultId: doneResult }), (r) => r.value),
          "settle: the Complete's result is stored"
        ).toEqual(Option.some("1"))
        expect(
          Option.isNone(yield* store.getResult({ resultId: lateResult })),
          "settle: a late Complete on a CANCELLING job stores no result"
        ).toBe(true)
      })
  )
}
