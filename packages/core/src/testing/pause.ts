/**
 * The pause part of the store conformance suite: how each settlement ends a PAUSING job (a pause asked of a running
 * job), what rescue and expiry do to one, that a PAUSING job still holds its slot under limits, and checkpoints:
 * written only by the claim that holds the job, kept across attempts and handed to the next claim. Registered by
 * `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import type { JobRow, Settlement } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { leasesOf, makeRow, T0, TOKEN } from "./rows.js"
import { complete, errorText, getRow, insertRows, parse, runningJob, unique, type StoreIt } from "./support.js"

/** Moves a job to PAUSING the way the engine's pause of a running job does. */
export const markPausing = (id: string, now: number) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const updated = yield* store.update({ id, from: ["RUNNING"], patch: { status: "PAUSING" }, now })
    expect(Option.isSome(updated), "update: RUNNING → PAUSING applies").toBe(true)
  })

/** A claimed job marked PAUSING. */
const pausingJob = (workerId: string, row?: Partial<JobRow>) =>
  Effect.gen(function* () {
    const job = yield* runningJob({ workerId, row: { attempt: 1, runAt: T0 - 50, ...row }, now: T0 })
    yield* markPausing(job.id, T0 + 1)
    return job
  })

/** Settles one job, answering its new status (undefined when the settlement did not apply). */
const settleOne = (workerId: string, settlement: Settlement, now = T0 + 10) =>
  Effect.map(
    Effect.flatMap(JobStore, (store) => store.settle({ workerId, now, settlements: [settlement] })),
    (changes) => changes.find((c) => c.id === settlement.id)?.status
  )

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const pauseTests = (it: StoreIt): void => {
  it.effect("settle Release of a PAUSING job pauses it, giving the attempt back, runAt kept", () =>
    Effect.gen(function* () {
      const workerId = unique("w")
      const job = yield* pausingJob(workerId)
      expect(job.attempt, "claim: attempt + 1").toBe(2)
      const status = yield* settleOne(workerId, { _tag: "Release", id: job.id, token: TOKEN, progress: null })
      expect(status, "settle: Release of a PAUSING job reports PAUSED").toBe("PAUSED")
      const row = yield* getRow(job.id)
      expect(
        [row.status, row.attempt, row.runAt, row.leaseOwner, row.leaseToken, row.finishedAt, row.terminalReason],
        "settle: PAUSING --Release--> PAUSED, attempt − 1, runAt unchanged, lease cleared, not finished"
      ).toEqual(["PAUSED", 1, T0 - 50, null, null, null, null])
    })
  )

  it.effect("settle Retry of a PAUSING job pauses it with the attempt spent, runAt and lastError written", () =>
    Effect.gen(function* () {
      const workerId = unique("w")
      const job = yield* pausingJob(workerId)
      const lastError = errorText("failed before the pause reached it")
      const status = yield* settleOne(workerId, {
        _tag: "Retry",
        id: job.id,
        token: TOKEN,
        runAt: T0 + 5_000,
        lastError,
        progress: null
      })
      expect(status, "settle: Retry of a PAUSING job reports PAUSED").toBe("PAUSED")
      const row = yield* getRow(job.id)
      expect(
        [row.status, row.attempt, row.runAt, parse(row.lastError), row.leaseOwner, row.finishedAt],
        "settle: PAUSING --Retry--> PAUSED, attempt kept (spent), runAt and lastError written"
      ).toEqual(["PAUSED", 2, T0 + 5_000, parse(lastError), null, null])
    })
  )

  it.effect("settle Complete and Fail of a PAUSING job stand: SUCCEEDED with its result, FAILED", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const succeeded = yield* pausingJob(workerId)
      const resultId = uuidv7()
      const done = yield* settleOne(workerId, complete(succeeded.id, { id: resultId, value: `{"late":true}` }))
      expect(done, "settle: a late success of a PAUSING job stands").toBe("SUCCEEDED")
      const row = yield* getRow(succeeded.id)
      expect([row.status, row.resultId, row.finishedAt], "settle: SUCCEEDED with resultId and finishedAt").toEqual([
        "SUCCEEDED",
        resultId,
        T0 + 10
      ])
      expect(Option.isSome(yield* store.getResult({ resultId })), "settle: its result is stored").toBe(true)

      const failed = yield* pausingJob(workerId)
      const status = yield* settleOne(workerId, {
        _tag: "Fail",
        id: failed.id,
        token: TOKEN,
        status: "FAILED",
        reason: "error",
        lastError: errorText("no attempts left"),
        progress: null
      })
      expect(status, "settle: a terminal failure of a PAUSING job stands").toBe("FAILED")
      const failedRow = yield* getRow(failed.id)
      expect([failedRow.status, failedRow.terminalReason, failedRow.finishedAt]).toEqual(["FAILED", "error", T0 + 10])
    })
  )

  it.effect("settle Cancelled of a PAUSING job cancels it; a CANCELLING job (cancel after pause) ends CANCELLED", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* pausingJob(workerId)
      const status = yield* settleOne(workerId, { _tag: "Cancelled", id: job.id, token: TOKEN, progress: null })
      expect(status, "settle: Cancelled of a PAUSING job reports CANCELLED").toBe("CANCELLED")

      const overtaken = yield* pausingJob(workerId)
      const cancelling = yield* store.update({
        id: overtaken.id,
        from: ["PAUSING"],
        patch: { status: "CANCELLING" },
        now: T0 + 2
      })
      expect(Option.isSome(cancelling), "update: PAUSING → CANCELLING applies").toBe(true)
      const released = yield* settleOne(workerId, { _tag: "Release", id: overtaken.id, token: TOKEN, progress: null })
      expect(released, "settle: the pause's Release of a job cancelled since ends it CANCELLED").toBe("CANCELLED")
    })
  )

  it.effect("a PAUSING job is still held: heartbeat renews it, saveProgress and logs of its claim land", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* pausingJob(workerId)
      const answer = yield* store.heartbeat({ workerId, leases: leasesOf([job.id]), now: T0 + 5, leaseMs: 1_000 })
      expect(answer, "heartbeat: a PAUSING job is answered PAUSING").toEqual([{ id: job.id, status: "PAUSING" }])
      expect((yield* getRow(job.id)).leaseExpiresAt, "heartbeat: its lease is renewed").toBe(T0 + 1_005)
      const progress = JSON.stringify({ summary: { status: "RUNNING", progress: 0.5 }, stages: [], items: null })
      yield* store.saveProgress({ workerId, now: T0 + 6, updates: [{ id: job.id, token: TOKEN, progress }] })
      expect(parse((yield* getRow(job.id)).progress), "saveProgress: a PAUSING job's progress is written").toEqual(
        parse(progress)
      )
      yield* store.appendLogs({
        entries: [{ jobId: job.id, at: T0 + 7, level: "info", message: "stopping", token: TOKEN }],
        cap: 100
      })
      const logs = yield* store.logs({ jobId: job.id, limit: 10, cursor: null })
      expect(
        logs.rows.map((l) => l.message),
        "appendLogs: a line of the claim holding a PAUSING job lands"
      ).toEqual(["stopping"])
    })
  )

  it.effect("rescue of a PAUSING job whose lease expired pauses it with the attempt spent, or fails it (stalled)", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const left = yield* pausingJob(workerId)
      const spent = yield* pausingJob(workerId, { attempt: 2, maxAttempts: 3 })
      const changes = yield* store.rescue({ now: T0 + 1_000 })
      const mine = changes.filter((c) => c.id === left.id || c.id === spent.id)
      expect(mine.map((c) => [c.id === left.id ? "left" : "spent", c.status]).sort(), "rescue: reports both").toEqual([
        ["left", "PAUSED"],
        ["spent", "FAILED"]
      ])
      const leftRow = yield* getRow(left.id)
      expect(
        [leftRow.status, leftRow.attempt, leftRow.runAt, leftRow.leaseOwner, leftRow.finishedAt],
        "rescue: PAUSING with attempts left → PAUSED, the crashed attempt spent, runAt kept, lease cleared"
      ).toEqual(["PAUSED", 2, T0 - 50, null, null])
      const spentRow = yield* getRow(spent.id)
      expect(
        [spentRow.status, spentRow.terminalReason, spentRow.finishedAt],
        "rescue: PAUSING without attempts left → FAILED (stalled)"
      ).toEqual(["FAILED", "stalled", T0 + 1_000])
    })
  )

  it.effect("expire times out a PAUSING job past its deadline", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* pausingJob(workerId, { deadline: T0 + 100 })
      const changes = yield* store.expire({ now: T0 + 100 })
      expect(
        changes.filter((c) => c.id === job.id),
        "expire: reports the PAUSING job"
      ).toEqual([{ id: job.id, status: "TIMED_OUT" }])
      const row = yield* getRow(job.id)
      expect([row.status, row.terminalReason, row.leaseOwner, row.finishedAt]).toEqual([
        "TIMED_OUT",
        "expired",
        null,
        T0 + 100
      ])
    })
  )

  it.effect("a PAUSING job holds its slot under type and queue limits until it is settled", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const type = unique("t")
      const queue = unique("q")
      const job = yield* pausingJob(workerId, { type, queue })
      const waiting = makeRow({ type, queue, runAt: T0 })
      yield* insertRows([waiting])
      const claim = (limits: { typeLimits: Record<string, number>; queueLimits: Record<string, number> }) =>
        store.claim({ token: TOKEN, workerId, now: T0 + 20, leaseMs: 1_000, limit: 10, queues: [queue], ...limits })
      expect(yield* claim({ typeLimits: { [type]: 1 }, queueLimits: {} }), "claim: the type's slot is held").toEqual([])
      expect(yield* claim({ typeLimits: {}, queueLimits: { [queue]: 1 } }), "claim: the queue's slot is held").toEqual(
        []
      )
      yield* settleOne(workerId, { _tag: "Release", id: job.id, token: TOKEN, progress: null })
      const claimed = yield* claim({ typeLimits: { [type]: 1 }, queueLimits: { [queue]: 1 } })
      expect(
        claimed.map((r) => r.id),
        "claim: once the PAUSING job is PAUSED its slot is free"
      ).toEqual([waiting.id])
    })
  )

  it.effect("a checkpoint is written only by the claim holding the job: a stale token writes nothing", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId })
      expect(job.checkpoint ?? null, "claim: a new job has no checkpoint").toBe(null)
      const progress = job.progress
      yield* store.saveProgress({
        workerId,
        now: T0 + 1,
        updates: [{ id: job.id, token: TOKEN, progress, checkpoint: `{"batch":1}` }]
      })
      expect(parse((yield* getRow(job.id)).checkpoint ?? null), "saveProgress: the holder's checkpoint").toEqual({
        batch: 1
      })
      yield* store.saveProgress({
        workerId,
        now: T0 + 2,
        updates: [{ id: job.id, token: "stale-claim", progress, checkpoint: `{"batch":99}` }]
      })
      yield* store.saveProgress({
        workerId: unique("w"),
        now: T0 + 2,
        updates: [{ id: job.id, token: TOKEN, progress, checkpoint: `{"batch":98}` }]
      })
      const stale = yield* settleOne(workerId, {
        _tag: "Release",
        id: job.id,
        token: "stale-claim",
        progress: null,
        checkpoint: `{"batch":97}`
      })
      expect(stale, "settle: a stale token's settlement does not apply").toBe(undefined)
      expect(
        parse((yield* getRow(job.id)).checkpoint ?? null),
        "a stale token's or another worker's checkpoint writes nothing"
      ).toEqual({ batch: 1 })
      yield* store.saveProgress({ workerId, now: T0 + 3, updates: [{ id: job.id, token: TOKEN, progress }] })
      expect(
        parse((yield* getRow(job.id)).checkpoint ?? null),
        "saveProgress: an update without a checkpoint keeps the stored one"
      ).toEqual({ batch: 1 })
    })
  )

  it.effect("the checkpoint is written at settle and handed to the next claim, whatever ended the attempt", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const queue = unique("q")
      const job = yield* runningJob({ workerId, row: { queue } })
      yield* markPausing(job.id, T0 + 1)
      const paused = yield* settleOne(workerId, {
        _tag: "Release",
        id: job.id,
        token: TOKEN,
        progress: null,
        checkpoint: `{"batch":2}`
      })
      expect(paused).toBe("PAUSED")
      const resumed = yield* store.update({ id: job.id, from: ["PAUSED"], patch: { status: "QUEUED" }, now: T0 + 20 })
      expect(Option.isSome(resumed), "update: PAUSED → QUEUED (resume)").toBe(true)
      const claimOnce = (token: string, now: number) =>
        store.claim({
          token,
          workerId,
          now,
          leaseMs: 1_000,
          limit: 1,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
      const [second] = yield* claimOnce("claim-2", T0 + 30)
      expect(
        parse(second?.checkpoint ?? null),
        "claim: the next claim carries the paused attempt's checkpoint"
      ).toEqual({
        batch: 2
      })
      // a retryable failure keeps it too, and a settlement without one leaves it as it was
      const retried = yield* settleOne(
        workerId,
        { _tag: "Retry", id: job.id, token: "claim-2", runAt: T0 + 40, lastError: errorText("x"), progress: null },
        T0 + 35
      )
      expect(retried).toBe("QUEUED")
      const [third] = yield* claimOnce("claim-3", T0 + 40)
      expect(parse(third?.checkpoint ?? null), "claim: a retry's claim carries it").toEqual({ batch: 2 })
      // a crash: the lease expires; the checkpoint the attempt saved is kept for the next one
      yield* store.saveProgress({
        workerId,
        now: T0 + 41,
        updates: [{ id: job.id, token: "claim-3", progress: third!.progress, checkpoint: `{"batch":3}` }]
      })
      yield* store.rescue({ now: T0 + 2_000 })
      const [fourth] = yield* claimOnce("claim-4", T0 + 2_001)
      expect(parse(fourth?.checkpoint ?? null), "claim: a rescued job's claim carries the crashed one's").toEqual({
        batch: 3
      })
      // a user's retry of a finished job starts afresh: core clears it with the progress
      yield* settleOne(workerId, { ...complete(job.id), token: "claim-4" }, T0 + 2_002)
      const cleared = yield* store.update({
        id: job.id,
        from: ["SUCCEEDED"],
        patch: { status: "QUEUED", checkpoint: null, attempt: 0 },
        now: T0 + 2_003
      })
      expect(
        Option.map(cleared, (row) => row.checkpoint ?? null),
        "update: a retry clears the checkpoint"
      ).toEqual(Option.some(null))
    })
  )
}
