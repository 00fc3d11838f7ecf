/**
 * The lease part of the store conformance suite: what a worker does while it holds jobs (`heartbeat`, `statuses`,
 * `saveProgress`), each limited to the jobs it holds. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import { JobStore } from "../JobStore.js"
import { leasesOf, makeRow, T0, TOKEN } from "./rows.js"
import {
  getRow,
  insertRows,
  markCancelling,
  parse,
  runningJob,
  sortedChanges,
  unique,
  type StoreIt
} from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const leaseTests = (it: StoreIt): void => {
  it.effect("heartbeat extends only the worker's own leases and reports lost ones by omission", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const j1 = yield* runningJob({ workerId })
      const j2 = yield* runningJob({ workerId })
      const foreign = yield* runningJob({ workerId: unique("w") })
      const changes = yield* store.heartbeat({
        workerId,
        leases: leasesOf([j1.id, j2.id, foreign.id, uuidv7()]),
        now: T0 + 500,
        leaseMs: 2_000
      })
      expect(sortedChanges(changes), "heartbeat: reports the held jobs with their status").toEqual(
        sortedChanges([
          { id: j1.id, status: "RUNNING" },
          { id: j2.id, status: "RUNNING" }
        ])
      )
      expect((yield* getRow(j1.id)).leaseExpiresAt, "heartbeat: own lease extended to now + leaseMs").toBe(T0 + 2_500)
      expect((yield* getRow(foreign.id)).leaseExpiresAt, "heartbeat: another worker's lease is untouched").toBe(
        foreign.leaseExpiresAt
      )
      yield* markCancelling(j2.id, T0 + 600)
      const deleted = yield* store.delete({ id: j1.id, from: ["RUNNING"] })
      expect(deleted, "delete: a RUNNING job is deleted when from allows it").toBe(true)
      const later = yield* store.heartbeat({
        workerId,
        leases: leasesOf([j1.id, j2.id]),
        now: T0 + 700,
        leaseMs: 2_000
      })
      expect(later, "heartbeat: a CANCELLING job is still held; a deleted one is lost").toEqual([
        { id: j2.id, status: "CANCELLING" }
      ])
      expect((yield* getRow(j2.id)).leaseExpiresAt, "heartbeat: a CANCELLING job's lease is extended").toBe(T0 + 2_700)
    })
  )

  it.effect("statuses returns the status of each existing job and omits missing ones", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const rows = [makeRow({ status: "CREATED" }), makeRow({ status: "PAUSED" }), makeRow({ status: "FAILED" })]
      yield* insertRows(rows)
      const changes = yield* store.statuses({ ids: [...rows.map((r) => r.id), uuidv7()] })
      expect(sortedChanges(changes), "statuses: one entry per existing id").toEqual(
        sortedChanges(rows.map((r) => ({ id: r.id, status: r.status })))
      )
      expect(yield* store.statuses({ ids: [] }), "statuses: no ids, no answer").toEqual([])
    })
  )

  it.effect("saveProgress writes only jobs the worker holds", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const mine = yield* runningJob({ workerId })
      const cancelling = yield* runningJob({ workerId })
      yield* markCancelling(cancelling.id, T0 + 1)
      const foreign = yield* runningJob({ workerId: unique("w") })
      const queued = makeRow()
      yield* store.insert({ jobs: [queued] })
      const progress = JSON.stringify({ summary: { status: "RUNNING", progress: 0.25 }, stages: [], items: null })
      yield* store.saveProgress({
        workerId,
        now: T0 + 20,
        updates: [mine, cancelling, foreign, queued].map((r) => ({ id: r.id, token: TOKEN, progress }))
      })
      expect(parse((yield* getRow(mine.id)).progress), "saveProgress: own RUNNING job written").toEqual(parse(progress))
      expect(parse((yield* getRow(cancelling.id)).progress), "saveProgress: own CANCELLING job written").toEqual(
        parse(progress)
      )
      expect((yield* getRow(foreign.id)).progress, "saveProgress: another worker's job skipped").toBe(foreign.progress)
      expect((yield* getRow(queued.id)).progress, "saveProgress: an unleased job skipped").toBe(queued.progress)
    })
  )
}
