/**
 * Conformance of the scope filters (`owners`, `idempotencyKey`) and of idempotency keys unique within an owner.
 * Registered inside `runStoreConformance`; the same store serves every test, so each test keeps to its own owners.
 */
import type { Vitest } from "@effect/vitest"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobFilter, JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { unique } from "./support.js"

const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((row) => row.id).sort()

const page = (filter: JobFilter) =>
  Effect.flatMap(JobStore, (store) =>
    store.list({ filter, sort: "createdAt", order: "asc", limit: 100, cursor: null, withTotal: true })
  )

/** Two owners' jobs and one ownerless job, all in one batch of their own. */
const tenants = Effect.gen(function* () {
  const store = yield* JobStore
  const batchId = unique("batch")
  const a = unique("owner-a")
  const b = unique("owner-b")
  const rows = {
    a1: makeRow({ owner: a, batchId, status: "SUCCEEDED", finishedAt: T0 }),
    a2: makeRow({ owner: a, batchId }),
    b1: makeRow({ owner: b, batchId, status: "SUCCEEDED", finishedAt: T0 }),
    none: makeRow({ owner: null, batchId, status: "CREATED" })
  }
  yield* store.insert({ jobs: Object.values(rows) })
  return { a, b, batchId, rows }
})

/** Declares the tests on `it` (the conformance suite's). */
export const scopeConformance = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  it.effect("owners filters list and its total to those owners' jobs", () =>
    Effect.gen(function* () {
      const { a, b, batchId, rows } = yield* tenants
      const onlyA = yield* page({ batchId, owners: [a] })
      expect(ids(onlyA.rows)).toEqual(ids([rows.a1, rows.a2]))
      expect(onlyA.total).toBe(2)
      const both = yield* page({ batchId, owners: [a, b] })
      expect(ids(both.rows)).toEqual(ids([rows.a1, rows.a2, rows.b1]))
      expect(both.total).toBe(3)
    })
  )

  it.effect("a null among owners matches jobs without an owner; no owners matches nothing", () =>
    Effect.gen(function* () {
      const { b, batchId, rows } = yield* tenants
      const withNull = yield* page({ batchId, owners: [null, b] })
      expect(ids(withNull.rows)).toEqual(ids([rows.b1, rows.none]))
      const nothing = yield* page({ batchId, owners: [] })
      expect(nothing.rows).toEqual([])
      expect(nothing.total).toBe(0)
    })
  )

  it.effect("owners narrows stats and bulk delete", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const { a, b, batchId, rows } = yield* tenants
      const counts = yield* store.stats({ filter: { batchId, owners: [b] } })
      expect(counts.map(({ count, status }) => ({ status, count }))).toEqual([{ status: "SUCCEEDED", count: 1 }])
      const deleted = yield* store.deleteMany({ filter: { batchId, owners: [a], statuses: ["SUCCEEDED"] } })
      expect(deleted).toBe(1)
      expect(Option.isNone(yield* store.get({ id: rows.a1.id }))).toBe(true)
      expect(Option.isSome(yield* store.get({ id: rows.b1.id }))).toBe(true)
      const left = yield* page({ batchId, owners: [a, b, null] })
      expect(ids(left.rows)).toEqual(ids([rows.a2, rows.b1, rows.none]))
    })
  )

  it.effect("idempotencyKey filters by the key whatever the owner", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const key = unique("key")
      const mine = makeRow({ owner: unique("o"), idempotencyKey: key })
      const theirs = makeRow({ owner: unique("o"), idempotencyKey: key })
      yield* store.insert({ jobs: [mine, theirs] })
      const found = yield* page({ idempotencyKey: key })
      expect(ids(found.rows)).toEqual(ids([mine, theirs]))
    })
  )

  it.effect("an idempotency key held under another owner does not stop an insert", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const key = unique("key")
      const first = makeRow({ owner: unique("a"), idempotencyKey: key })
      const second = makeRow({ owner: unique("b"), idempotencyKey: key })
      const unowned = makeRow({ owner: null, idempotencyKey: key })
      const [one] = yield* store.insert({ jobs: [first] })
      const [two, three] = yield* store.insert({ jobs: [second, unowned] })
      expect([one?.inserted, two?.inserted, three?.inserted]).toEqual([true, true, true])
      expect(two?.row.id).toBe(second.id)
      expect(three?.row.id).toBe(unowned.id)
    })
  )

  it.effect("an idempotency key held under the same owner (a null owner too) returns the holder", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const key = unique("key")
      const owner = unique("a")
      const holder = makeRow({ owner, idempotencyKey: key })
      const unownedHolder = makeRow({ owner: null, idempotencyKey: key })
      yield* store.insert({ jobs: [holder, unownedHolder] })
      const again: ReadonlyArray<JobRow> = [
        makeRow({ owner, idempotencyKey: key }),
        makeRow({ owner: null, idempotencyKey: key })
      ]
      const outcomes = yield* store.insert({ jobs: again })
      expect(outcomes.map((o) => [o.inserted, o.row.id])).toEqual([
        [false, holder.id],
        [false, unownedHolder.id]
      ])
    })
  )

  it.effect("within one insert, the same key under two owners makes two jobs", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const key = unique("key")
      const rows = [
        makeRow({ owner: unique("a"), idempotencyKey: key }),
        makeRow({ owner: unique("b"), idempotencyKey: key })
      ]
      const outcomes = yield* store.insert({ jobs: rows })
      expect(outcomes.map((o) => o.inserted)).toEqual([true, true])
    })
  )
}
