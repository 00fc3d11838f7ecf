/**
 * Conformance tests of job numbers: the store assigns every inserted job the next integer of its own counter, in
 * the insert's transaction, and never hands a number out twice. The compat routers use it as their ids.
 *
 * @since 0.1.0
 */
import type * as Vitest from "@effect/vitest"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { unique } from "./support.js"

const numberOf = (id: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const row = yield* store.get({ id })
    if (Option.isNone(row)) return expect.fail(`get: job ${id} should exist`)
    return row.value.number
  })

/** Declares the job-number tests inside a store's conformance suite (`makeRow` builds neutral rows). */
export const numberTests = (
  it: Vitest.Vitest.MethodsNonLive<JobStore, true>,
  makeRow: (overrides?: Partial<JobRow>) => JobRow
): void => {
  it.effect("insert assigns each job a new number, increasing in input order and across calls", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const first = [makeRow({ batchId }), makeRow({ batchId }), makeRow({ batchId })]
      const second = [makeRow({ batchId }), makeRow({ batchId })]
      const a = yield* store.insert({ jobs: first })
      const b = yield* store.insert({ jobs: second })
      const numbers = [...a, ...b].map((o) => o.row.number)
      expect(
        numbers.every((n) => Number.isSafeInteger(n) && n >= 1),
        "insert: numbers are positive integers"
      ).toBe(true)
      for (let i = 1; i < numbers.length; i++) {
        expect(numbers[i], `insert: job ${i} of the two calls has a larger number than job ${i - 1}`).toBeGreaterThan(
          numbers[i - 1]!
        )
      }
      for (const [i, row] of [...first, ...second].entries()) {
        expect(yield* numberOf(row.id), "get: the stored number is the one the insert answered").toBe(numbers[i])
      }
    })
  )

  it.effect("a deleted job's number is never handed out again", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const [gone] = yield* store.insert({ jobs: [makeRow({ status: "CREATED" })] })
      expect(yield* store.delete({ id: gone!.row.id, from: ["CREATED"] }), "delete: the CREATED job is deleted").toBe(
        true
      )
      const [next] = yield* store.insert({ jobs: [makeRow()] })
      expect(next!.row.number, "insert: the next job's number is above the deleted (newest) one's").toBeGreaterThan(
        gone!.row.number
      )
    })
  )

  it.effect("a job turned away by its idempotency key answers with the holder and the holder's number", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const idempotencyKey = unique("key")
      const [held] = yield* store.insert({ jobs: [makeRow({ idempotencyKey })] })
      const [again] = yield* store.insert({ jobs: [makeRow({ idempotencyKey })] })
      expect(again!.inserted, "insert: a held key inserts nothing").toBe(false)
      expect(again!.row.number, "insert: the holder comes back with its own number").toBe(held!.row.number)
    })
  )

  it.effect("a job keeps its number through update, claim and settle", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const [inserted] = yield* store.insert({ jobs: [makeRow({ queue, status: "CREATED" })] })
      const number = inserted!.row.number
      const id = inserted!.row.id
      const updated = yield* store.update({ id, from: ["CREATED"], patch: { status: "QUEUED" }, now: 1 })
      expect(
        Option.map(updated, (r) => r.number),
        "update: the row after the write keeps its number"
      ).toEqual(Option.some(number))
      const claimed = yield* store.claim({
        token: "numbers-claim",
        workerId: "numbers",
        now: 1_800_000_000_000,
        leaseMs: 1_000,
        limit: 1,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(
        claimed.map((r) => r.number),
        "claim: the claimed row carries its number"
      ).toEqual([number])
      yield* store.settle({
        workerId: "numbers",
        now: 1_800_000_000_001,
        settlements: [{ _tag: "Complete", id, token: "numbers-claim", progress: null, result: null }]
      })
      expect(yield* numberOf(id), "settle: the settled job keeps its number").toBe(number)
    })
  )

  it.effect("list, stats and deleteMany filter by numbers; an empty list matches nothing", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const outcomes = yield* store.insert({
        jobs: [makeRow({ batchId, status: "CREATED" }), makeRow({ batchId }), makeRow({ batchId, status: "CREATED" })]
      })
      const [r0, r1, r2] = outcomes.map((o) => o.row) as [JobRow, JobRow, JobRow]
      const listed = yield* store.list({
        filter: { numbers: [r0.number, r2.number] },
        sort: "createdAt",
        order: "asc",
        limit: 10,
        cursor: null,
        withTotal: true
      })
      expect(listed.rows.map((r) => r.id).sort(), "list: exactly the jobs with the given numbers").toEqual(
        [r0.id, r2.id].sort()
      )
      expect(listed.total, "list: the total counts the number filter").toBe(2)
      const none = yield* store.list({
        filter: { numbers: [] },
        sort: "createdAt",
        order: "desc",
        limit: 10,
        cursor: null,
        withTotal: true
      })
      expect(none.rows.length + (none.total ?? 0), "list: an empty numbers filter matches nothing").toBe(0)
      const stats = yield* store.stats({ filter: { numbers: [r1.number], batchId } })
      expect(
        stats.map((s) => [s.status, s.count]),
        "stats: only the job with that number is counted"
      ).toEqual([["QUEUED", 1]])
      const deleted = yield* store.deleteMany({ filter: { numbers: [r0.number], batchId } })
      expect(deleted, "deleteMany: only the job with that number is deleted").toBe(1)
      expect(Option.isNone(yield* store.get({ id: r0.id })), "deleteMany: that job is gone").toBe(true)
      expect(Option.isSome(yield* store.get({ id: r2.id })), "deleteMany: the other CREATED job stays").toBe(true)
    })
  )
}
