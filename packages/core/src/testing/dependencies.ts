/**
 * The dependencies part of the store conformance suite: a job that waits on others is not claimable; every end of a
 * dependency (settle, user cancel, expiry, a cascade) reaches its dependents in the same write, by their policy;
 * 10,000 dependents of one job are released by one settle. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { JobRow, Settlement, StoreSignal } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"
import { complete, getRow, insertRows, listAll, runningJob, takeCallbacks, unique, type StoreIt } from "./support.js"

/** Claims every due job of a queue (at `now`), in rounds of up to 1000. */
const claimAll = (queue: string, now: number) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const claimed: Array<JobRow> = []
    for (;;) {
      const round = yield* store.claim({
        token: TOKEN,
        workerId: unique("w"),
        now,
        leaseMs: 60_000,
        limit: 1000,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      claimed.push(...round)
      if (round.length === 0) return claimed
    }
  })

/** A dependent row of `dependsOn` in `queue`, as core builds it (waitingOn = the number of dependencies). */
const dependent = (queue: string, dependsOn: ReadonlyArray<string>, overrides: Partial<JobRow> = {}) =>
  makeRow({ queue, dependsOn, waitingOn: dependsOn.length, ...overrides })

const fail = (id: string): Settlement => ({
  _tag: "Fail",
  id,
  token: TOKEN,
  status: "FAILED",
  reason: "error",
  lastError: JSON.stringify({ message: "boom", at: "2023-11-14T22:13:20.000Z" }),
  progress: null
})

/** Takes signals until one matches (bounded at 10 s: a hang, not a timed assertion). */
const awaitSignal = (dequeue: Queue.Dequeue<StoreSignal>, what: string, matches: (signal: StoreSignal) => boolean) =>
  Effect.gen(function* () {
    for (;;) {
      const signal = yield* Queue.take(dequeue)
      if (matches(signal)) return signal
    }
  }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`no ${what} signal arrived`) }))

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const dependencyTests = (it: StoreIt): void => {
  it.scoped("a waiting job is not claimable; the success of its dependency releases it in the same write", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const signals = yield* store.subscribe
      const workerId = unique("w")
      const parent = yield* runningJob({ workerId })
      const queue = unique("q")
      const child = dependent(queue, [parent.id])
      const [outcome] = yield* store.insert({ jobs: [child] })
      expect(outcome.row.waitingOn, "insert: a running dependency is still to be done").toBe(1)
      expect(outcome.row.dependsOn, "insert: dependsOn is stored").toEqual([parent.id])
      expect(yield* claimAll(queue, T0 + 5), "claim: a job waiting on a dependency is never claimed").toEqual([])
      expect(
        (yield* listAll({
          filter: { queues: [queue], waiting: true },
          sort: "createdAt",
          order: "asc",
          limit: 100
        })).map((r) => r.id),
        "list: waiting=true finds it"
      ).toEqual([child.id])
      expect(
        (yield* listAll({ filter: { dependsOn: parent.id }, sort: "createdAt", order: "asc", limit: 100 })).map(
          (r) => r.id
        ),
        "list: dependsOn finds the dependents of a job"
      ).toEqual([child.id])
      yield* store.settle({ workerId, now: T0 + 10, settlements: [complete(parent.id)] })
      const released = yield* getRow(child.id)
      expect({ status: released.status, waitingOn: released.waitingOn }, "settle: the dependent is released").toEqual({
        status: "QUEUED",
        waitingOn: 0
      })
      yield* awaitSignal(signals, `Enqueued ${queue}`, (s) => s._tag === "Enqueued" && s.queue === queue)
      expect(
        (yield* claimAll(queue, T0 + 20)).map((r) => r.id),
        "claim: the released job is claimable"
      ).toEqual([child.id])
    })
  )

  it.scoped("a failed dependency fails a chain of three (dependency_failed), with callbacks and Changed signals", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const signals = yield* store.subscribe
      const workerId = unique("w")
      const a = yield* runningJob({ workerId })
      const queue = unique("q")
      const b = dependent(queue, [a.id], { callbackUrl: "https://example.com/b" })
      const c = dependent(queue, [b.id], { status: "CREATED", queuedAt: null })
      yield* insertRows([b])
      yield* insertRows([c])
      yield* store.settle({ workerId, now: T0 + 10, settlements: [fail(a.id)] })
      for (const [row, dependency] of [
        [b, a.id],
        [c, b.id]
      ] as const) {
        const after = yield* getRow(row.id)
        expect(
          { status: after.status, reason: after.terminalReason, finishedAt: after.finishedAt },
          `cascade: job ${row.id} ends FAILED by its dependency`
        ).toEqual({ status: "FAILED", reason: "dependency_failed", finishedAt: T0 + 10 })
        expect(JSON.parse(after.lastError ?? "{}").message, "cascade: lastError names the dependency").toContain(
          dependency
        )
      }
      const callbacks = yield* takeCallbacks([b.id], T0 + 10)
      expect(
        callbacks.map((cb) => [cb.jobId, cb.status, cb.terminalReason]),
        "cascade: a failed dependent with a callbackUrl gets its callback row"
      ).toEqual([[b.id, "FAILED", "dependency_failed"]])
      yield* awaitSignal(
        signals,
        `Changed ${c.id}`,
        (s) => s._tag === "Changed" && s.id === c.id && s.status === "FAILED" && s.reason === "dependency_failed"
      )
      // a retry of the failed dependency does not bring its failed dependents back
      yield* store.update({ id: a.id, from: ["FAILED"], patch: { status: "QUEUED", attempt: 0 }, now: T0 + 20 })
      expect((yield* getRow(b.id)).status, "retry: a dependent already failed stays FAILED").toBe("FAILED")
    })
  )

  it.effect("the run policy runs the dependent once every dependency is terminal, whatever the outcome", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const a = yield* runningJob({ workerId })
      const b = yield* runningJob({ workerId })
      const queue = unique("q")
      const child = dependent(queue, [a.id, b.id], { dependencyPolicy: "run" })
      yield* insertRows([child])
      yield* store.settle({ workerId, now: T0 + 10, settlements: [fail(a.id)] })
      expect((yield* getRow(child.id)).waitingOn, "run: a failed dependency counts as done").toBe(1)
      expect(yield* claimAll(queue, T0 + 11), "run: still waiting on the other").toEqual([])
      yield* store.settle({ workerId, now: T0 + 12, settlements: [complete(b.id)] })
      expect(
        (yield* claimAll(queue, T0 + 13)).map((r) => r.id),
        "run: released by the last end"
      ).toEqual([child.id])
    })
  )

  it.effect("a user cancel of a queued dependency and a deadline's expiry reach their dependents", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const cancelled = makeRow({ queue: unique("q") })
      const expiring = makeRow({ queue: unique("q"), deadline: T0 + 50 })
      yield* insertRows([cancelled, expiring])
      const failsOnCancel = dependent(queue, [cancelled.id])
      const runsOnExpiry = dependent(queue, [expiring.id], { dependencyPolicy: "run" })
      const failsOnExpiry = dependent(queue, [expiring.id], { status: "PAUSED" })
      yield* insertRows([failsOnCancel, runsOnExpiry, failsOnExpiry])
      yield* store.update({
        id: cancelled.id,
        from: ["QUEUED"],
        patch: { status: "CANCELLED", terminalReason: "user", finishedAt: T0 + 10 },
        now: T0 + 10
      })
      expect((yield* getRow(failsOnCancel.id)).terminalReason, "cancel: the dependent fails").toBe("dependency_failed")
      yield* store.expire({ now: T0 + 60 })
      expect((yield* getRow(failsOnExpiry.id)).status, "expire: a paused fail dependent fails").toBe("FAILED")
      expect(
        (yield* claimAll(queue, T0 + 61)).map((r) => r.id),
        "expire: the run dependent is released"
      ).toEqual([runsOnExpiry.id])
    })
  )

  it.effect("dependencies already done count at insert: SUCCEEDED is met, FAILED fails a fail dependent at once", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const done = makeRow({ queue: unique("q"), status: "SUCCEEDED", finishedAt: T0 })
      const failed = makeRow({ queue: unique("q"), status: "FAILED", terminalReason: "error", finishedAt: T0 })
      yield* insertRows([done, failed])
      const ready = dependent(queue, [done.id])
      const doomed = dependent(queue, [done.id, failed.id], { createdAt: T0 + 5, updatedAt: T0 + 5 })
      const outcomes = yield* store.insert({ jobs: [ready, doomed] })
      expect(
        outcomes.map((o) => [o.row.status, o.row.waitingOn, o.row.terminalReason]),
        "insert: the outcomes are the rows after counting"
      ).toEqual([
        ["QUEUED", 0, null],
        ["FAILED", 0, "dependency_failed"]
      ])
      expect((yield* getRow(doomed.id)).finishedAt, "insert: finishedAt is the creation time").toBe(T0 + 5)
      expect(
        (yield* claimAll(queue, T0 + 10)).map((r) => r.id),
        "insert: the met job is claimable"
      ).toEqual([ready.id])
    })
  )

  it.effect("bulk delete (required=false) skips jobs that unfinished jobs depend on", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const needed = makeRow({ batchId, status: "SUCCEEDED", finishedAt: T0 })
      const free = makeRow({ batchId, status: "SUCCEEDED", finishedAt: T0 })
      yield* insertRows([needed, free])
      yield* insertRows([dependent(unique("q"), [needed.id], { status: "PAUSED" })])
      const deleted = yield* store.deleteMany({ filter: { batchId, required: false } })
      expect(deleted, "deleteMany: only the job nothing waits on").toBe(1)
      expect((yield* getRow(needed.id)).id, "deleteMany: the needed job stays").toBe(needed.id)
    })
  )

  it.effect(
    "10,000 dependents of one job are released by its one settle and are all claimable",
    () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const workerId = unique("w")
        const parent = yield* runningJob({ workerId })
        const queue = unique("q")
        const children = Array.from({ length: 10_000 }, () => dependent(queue, [parent.id]))
        yield* insertRows(children)
        expect(yield* claimAll(queue, T0 + 5), "claim: none is claimable while the parent runs").toEqual([])
        const changes = yield* store.settle({ workerId, now: T0 + 10, settlements: [complete(parent.id)] })
        expect(
          changes.map((c) => c.id),
          "settle: one call, the parent's change"
        ).toEqual([parent.id])
        const claimed = yield* claimAll(queue, T0 + 20)
        expect(claimed.length, "claim: every dependent is claimable after the one settle").toBe(10_000)
      }),
    120_000
  )
}
