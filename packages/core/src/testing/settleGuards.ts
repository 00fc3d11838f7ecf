/**
 * The settle guards of the store conformance suite: only the worker holding a job's current lease settles it, a
 * batch reports exactly what applied, and the log lines a settle carries are written either way. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"
import {
  comparable,
  complete,
  errorText,
  getRow,
  insertRows,
  logLine,
  logMessages,
  runningJob,
  sortedChanges,
  unique,
  type StoreIt
} from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const settleGuardTests = (it: StoreIt): void => {
  it.effect("settle by a worker without the lease changes nothing", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const intruder = unique("w")
      const job = yield* runningJob({ workerId })
      const queued = makeRow({ queue: unique("q") })
      yield* store.insert({ jobs: [queued] })
      const changes = yield* store.settle({
        workerId: intruder,
        now: T0 + 10,
        settlements: [complete(job.id), { _tag: "Release", id: queued.id, token: TOKEN, progress: null }]
      })
      expect(changes, "settle: a foreign lease is not settled").toEqual([])
      expect(comparable(yield* getRow(job.id)), "settle: the foreign job is unchanged").toEqual(comparable(job))
      const noLease = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [complete(queued.id), complete(uuidv7())]
      })
      expect(noLease, "settle: a job without a lease or a missing job is not settled").toEqual([])
      expect(comparable(yield* getRow(queued.id)), "settle: the unleased job is unchanged").toEqual(comparable(queued))
    })
  )

  it.effect("settle appends the given log lines in its own write, capped, whether or not a settlement applies", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId })
      const other = makeRow()
      yield* insertRows([other])
      yield* store.appendLogs({ entries: [logLine(job.id, 0), logLine(job.id, 1)], cap: 100 })
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [complete(job.id)],
        logs: {
          entries: [
            logLine(job.id, 2),
            logLine(other.id, 0),
            logLine(uuidv7(), 9),
            logLine(job.id, 3),
            logLine(job.id, 4)
          ],
          cap: 3
        }
      })
      expect(changes, "settle with logs: the settlement applies").toEqual([{ id: job.id, status: "SUCCEEDED" }])
      expect(
        yield* logMessages(job.id),
        "settle with logs: the settled job's lines are stored in order and capped"
      ).toEqual(["m4", "m3", "m2"])
      expect(
        yield* logMessages(other.id),
        "settle with logs: lines of a job that is not settled are stored too"
      ).toEqual(["m0"])
      const foreign = yield* store.settle({
        workerId: unique("w"),
        now: T0 + 11,
        settlements: [complete(other.id)],
        logs: { entries: [logLine(other.id, 1)], cap: 100 }
      })
      expect(foreign, "settle with logs: a failed guard settles nothing").toEqual([])
      expect(
        yield* logMessages(other.id),
        "settle with logs: lines are appended even when no settlement applies"
      ).toEqual(["m1", "m0"])
    })
  )

  it.effect("settle by a worker whose lease was rescued and re-claimed changes nothing", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const late = unique("w")
      const next = unique("w")
      const job = yield* runningJob({ workerId: late, leaseMs: 1_000 })
      yield* store.rescue({ now: T0 + 1_000 })
      const [reclaimed] = yield* store.claim({
        token: TOKEN,
        workerId: next,
        now: T0 + 1_000,
        leaseMs: 1_000,
        limit: 1,
        queues: [job.queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(reclaimed?.id, "claim: a rescued job can be claimed again").toBe(job.id)
      const changes = yield* store.settle({ workerId: late, now: T0 + 1_001, settlements: [complete(job.id)] })
      expect(changes, "settle: the late worker's Complete is refused").toEqual([])
      const row = yield* getRow(job.id)
      expect([row.status, row.leaseOwner, row.attempt], "settle: the new owner's RUNNING attempt stands").toEqual([
        "RUNNING",
        next,
        2
      ])
    })
  )

  it.effect("settle applies a batch of mixed settlements and reports only those applied", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const [a, b, c, d] = [
        yield* runningJob({ workerId }),
        yield* runningJob({ workerId }),
        yield* runningJob({ workerId }),
        yield* runningJob({ workerId: unique("w") })
      ]
      const changes = yield* store.settle({
        workerId,
        now: T0 + 10,
        settlements: [
          complete(a!.id, { id: uuidv7(), value: "true" }),
          { _tag: "Retry", id: b!.id, token: TOKEN, runAt: T0 + 100, lastError: errorText("x"), progress: null },
          {
            _tag: "Fail",
            id: c!.id,
            token: TOKEN,
            status: "FAILED",
            reason: "error",
            lastError: errorText("y"),
            progress: null
          },
          complete(d!.id),
          // the second settlement of one job finds no lease any more
          { _tag: "Release", id: a!.id, token: TOKEN, progress: null }
        ]
      })
      expect(sortedChanges(changes), "settle: a batch reports exactly the settlements applied").toEqual(
        sortedChanges([
          { id: a!.id, status: "SUCCEEDED" },
          { id: b!.id, status: "QUEUED" },
          { id: c!.id, status: "FAILED" }
        ])
      )
      expect((yield* getRow(a!.id)).status, "settle: a settled job cannot be settled again").toBe("SUCCEEDED")
      expect((yield* getRow(d!.id)).status, "settle: the foreign job in the batch is unchanged").toBe("RUNNING")
    })
  )

  it.effect("settle applies a batch that mixes workers, each settlement guarded by its own worker's lease", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const [caller, one, two, late, next] = [unique("w"), unique("w"), unique("w"), unique("w"), unique("w")]
      const a = yield* runningJob({ workerId: one, leaseMs: 60_000 })
      const b = yield* runningJob({ workerId: two, leaseMs: 60_000 })
      const c = yield* runningJob({ workerId: caller, leaseMs: 60_000 })
      const d = yield* runningJob({ workerId: two, leaseMs: 60_000 })
      // e was held by `late`, rescued, and claimed again by `next` under another token
      const e = yield* runningJob({ workerId: late, leaseMs: 1_000 })
      yield* store.rescue({ now: T0 + 1_000 })
      const token = uuidv7()
      const [reclaimed] = yield* store.claim({
        token,
        workerId: next,
        now: T0 + 1_000,
        leaseMs: 1_000,
        limit: 1,
        queues: [e.queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(reclaimed?.id, "claim: the rescued job is claimed again").toBe(e.id)
      const result = { id: uuidv7(), value: "42" }
      const changes = yield* store.settle({
        workerId: caller,
        now: T0 + 1_010,
        settlements: [
          { ...complete(a.id, result), workerId: one },
          {
            _tag: "Fail",
            id: b.id,
            token: TOKEN,
            status: "FAILED",
            reason: "error",
            lastError: errorText("b"),
            progress: null,
            workerId: two
          },
          // no workerId of its own: the call's
          complete(c.id),
          // a settlement naming a worker that does not hold the job
          { ...complete(d.id), workerId: one },
          // two claims of one job in one batch: only the claim that holds it applies, whatever the order
          { ...complete(e.id), workerId: late },
          {
            _tag: "Retry",
            id: e.id,
            token,
            runAt: T0 + 2_000,
            lastError: errorText("e"),
            progress: null,
            workerId: next
          }
        ],
        logs: { entries: [logLine(a.id, 1), logLine(b.id, 2)], cap: 100 }
      })
      expect(sortedChanges(changes), "settle: a mixed batch reports each worker's applied settlements").toEqual(
        sortedChanges([
          { id: a.id, status: "SUCCEEDED" },
          { id: b.id, status: "FAILED" },
          { id: c.id, status: "SUCCEEDED" },
          { id: e.id, status: "QUEUED" }
        ])
      )
      const rows = [yield* getRow(a.id), yield* getRow(b.id), yield* getRow(c.id), yield* getRow(d.id)]
      expect(
        rows.map((row) => [row.status, row.leaseOwner]),
        "settle: each job settled by its own worker; the foreign one untouched"
      ).toEqual([
        ["SUCCEEDED", one],
        ["FAILED", two],
        ["SUCCEEDED", caller],
        ["RUNNING", two]
      ])
      const retried = yield* getRow(e.id)
      expect([retried.status, retried.runAt, retried.attempt], "settle: the holding claim's Retry applied").toEqual([
        "QUEUED",
        T0 + 2_000,
        2
      ])
      expect(rows[0]!.resultId, "settle: the result of a mixed batch's Complete is linked").toBe(result.id)
      const stored = yield* store.getResult({ resultId: result.id })
      expect(stored._tag === "Some" ? stored.value.value : null, "settle: the result row is stored").toBe("42")
      expect(
        [yield* logMessages(a.id), yield* logMessages(b.id)],
        "settle: the batch's lines of every worker are stored"
      ).toEqual([["m1"], ["m2"]])
    })
  )
}
