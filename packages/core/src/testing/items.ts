/**
 * The items part of the store conformance suite: every rule of the port's item operations (`ItemStore`), run by
 * `runStoreConformance` on every store.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { ItemCursor, ItemRow, JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { T0 } from "./rows.js"
import { unique } from "./support.js"

/** A PENDING item of a job at a position; `overrides` win. */
export const makeItem = (jobId: string, position: number, overrides: Partial<ItemRow> = {}): ItemRow => ({
  jobId,
  key: `k${String(position).padStart(5, "0")}`,
  position,
  status: "PENDING",
  input: null,
  output: null,
  error: null,
  startedAt: null,
  finishedAt: null,
  updatedAt: T0,
  ...overrides
})

// stores may normalise JSON text (Postgres jsonb does), so JSON columns are compared as values
const comparable = (row: ItemRow) => ({
  ...row,
  input: row.input === null ? null : JSON.parse(row.input),
  output: row.output === null ? null : JSON.parse(row.output)
})

const allItems = (
  jobId: string,
  options: { readonly limit?: number; readonly statuses?: ReadonlyArray<ItemRow["status"]> } = {}
) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const rows: Array<ItemRow> = []
    let cursor: ItemCursor | null = null
    for (let page = 0; page < 1000; page++) {
      const answer: { rows: ReadonlyArray<ItemRow>; nextCursor: ItemCursor | null } = yield* store.listItems({
        jobId,
        limit: options.limit ?? 1000,
        cursor,
        ...(options.statuses === undefined ? {} : { statuses: options.statuses })
      })
      rows.push(...answer.rows)
      if (answer.nextCursor === null) return rows
      cursor = answer.nextCursor
    }
    return expect.fail("listItems: paging never ended")
  })

const keysOf = (rows: ReadonlyArray<ItemRow>) => rows.map((row) => row.key)

/** Declares the items tests with the suite's `it` (one store for all tests). */
export const itemsConformance = (
  it: Vitest.MethodsNonLive<JobStore, true>,
  makeRow: (overrides?: Partial<JobRow>) => JobRow
): void => {
  const claimed = (workerId: string, overrides: Partial<JobRow> = {}) =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeRow({ queue: unique("q"), ...overrides })
      yield* store.insert({ jobs: [row] })
      const rows = yield* store.claim({
        token: `items-${workerId}`,
        workerId,
        now: T0,
        leaseMs: 60_000,
        limit: 1,
        queues: [row.queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(
        rows.map((r) => r.id),
        "claim: a lone due job in its own queue is claimed"
      ).toEqual([row.id])
      return row
    })

  it.effect("insert stores the items of inserted jobs with every field, and drops those of a held key", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const key = unique("idem")
      const holder = makeRow({ idempotencyKey: key })
      yield* store.insert({ jobs: [holder] })
      const fresh = makeRow()
      const duplicate = makeRow({ idempotencyKey: key })
      const item = makeItem(fresh.id, 0, {
        key: "a/b c",
        input: JSON.stringify({ text: "hello world" }),
        output: JSON.stringify({ words: 2 }),
        status: "SUCCEEDED",
        error: null,
        startedAt: T0 + 1,
        finishedAt: T0 + 2,
        updatedAt: T0 + 3
      })
      const outcomes = yield* store.insert({
        jobs: [fresh, duplicate],
        items: [item, makeItem(fresh.id, 1), makeItem(duplicate.id, 0)]
      })
      expect(
        outcomes.map((o) => o.inserted),
        "insert: the held key's job is not inserted"
      ).toEqual([true, false])
      const rows = yield* allItems(fresh.id)
      expect(rows.map(comparable), "listItems: every field as inserted, in position order").toEqual([
        comparable(item),
        makeItem(fresh.id, 1)
      ])
      expect(yield* allItems(duplicate.id), "insert: items of a job not inserted are dropped").toEqual([])
      expect(yield* allItems(holder.id), "insert: the holder gains no items").toEqual([])
    })
  )

  it.effect("listItems pages by position then key without duplicates, and filters by status", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = makeRow()
      // positions tie in pairs, so the key must break ties in every store alike
      const items = Array.from({ length: 23 }, (_, i) =>
        makeItem(job.id, Math.floor(i / 2), {
          key: `key-${String.fromCharCode(122 - i)}`,
          status: i % 3 === 0 ? "FAILED" : "PENDING"
        })
      )
      yield* store.insert({ jobs: [job], items })
      const expected = [...items]
        .sort((a, b) => a.position - b.position || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((row) => row.key)
      expect(keysOf(yield* allItems(job.id, { limit: 4 })), "listItems: pages of 4 in order").toEqual(expected)
      expect(keysOf(yield* allItems(job.id, { limit: 1 })), "listItems: pages of 1 in order").toEqual(expected)
      const failed = yield* allItems(job.id, { limit: 2, statuses: ["FAILED"] })
      expect(keysOf(failed), "listItems: the status filter applies before paging").toEqual(
        expected.filter((key) => items.find((item) => item.key === key)!.status === "FAILED")
      )
      const last = yield* store.listItems({ jobId: job.id, limit: 23, cursor: null })
      expect(last.nextCursor, "listItems: no cursor when the page holds the last item").toBeNull()
      const none = yield* store.listItems({ jobId: unique("missing"), limit: 10, cursor: null })
      expect(none, "listItems: a missing job has no items").toEqual({ rows: [], nextCursor: null })
    })
  )

  it.effect("putItems upserts items only while the job's status is in from", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = makeRow({ status: "CREATED", queuedAt: null })
      yield* store.insert({ jobs: [job], items: [makeItem(job.id, 0, { input: `"old"` })] })
      const put = yield* store.putItems({
        jobId: job.id,
        from: ["CREATED"],
        items: [makeItem(job.id, 0, { input: `"new"`, updatedAt: T0 + 5 }), makeItem(job.id, 1)]
      })
      expect(put, "putItems: applies from CREATED").toBe(true)
      const rows = yield* allItems(job.id)
      expect(rows.map(comparable), "putItems: the existing key is replaced, the new one added").toEqual([
        comparable(makeItem(job.id, 0, { input: `"new"`, updatedAt: T0 + 5 })),
        makeItem(job.id, 1)
      ])
      const refused = yield* store.putItems({ jobId: job.id, from: ["QUEUED"], items: [makeItem(job.id, 2)] })
      expect(refused, "putItems: another status refuses").toBe(false)
      expect(keysOf(yield* allItems(job.id)), "putItems: nothing written when refused").toEqual(["k00000", "k00001"])
      const missing = yield* store.putItems({ jobId: unique("missing"), from: ["CREATED"], items: [] })
      expect(missing, "putItems: a missing job refuses").toBe(false)
    })
  )

  it.effect("saveItems writes only items of jobs the worker holds, in one call of thousands", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const worker = unique("w")
      const mine = yield* claimed(worker)
      const theirs = yield* claimed(unique("other"))
      const queued = makeRow()
      yield* store.insert({ jobs: [queued] })
      const many = Array.from({ length: 2500 }, (_, i) =>
        makeItem(mine.id, i, {
          status: i % 10 === 0 ? "FAILED" : "SUCCEEDED",
          output: i % 10 === 0 ? null : JSON.stringify({ i }),
          error: i % 10 === 0 ? `bad ${i}` : null,
          startedAt: T0 + i,
          finishedAt: T0 + i + 1,
          updatedAt: T0 + i + 1
        })
      )
      yield* store.saveItems({
        workerId: worker,
        leases: [
          { id: mine.id, token: `items-${worker}` },
          { id: queued.id, token: `items-${worker}` }
        ],
        items: [...many, makeItem(theirs.id, 0), makeItem(queued.id, 0)]
      })
      const rows = yield* allItems(mine.id)
      expect(rows.length, "saveItems: every item of the held job").toBe(2500)
      expect(comparable(rows[10]), "saveItems: every field written").toEqual(comparable(many[10]))
      expect(comparable(rows[11]), "saveItems: every field written").toEqual(comparable(many[11]))
      expect(yield* allItems(theirs.id), "saveItems: another worker's job is skipped").toEqual([])
      expect(yield* allItems(queued.id), "saveItems: a job nobody holds is skipped").toEqual([])
      // a second save updates in place (upsert by key)
      yield* store.saveItems({
        workerId: worker,
        leases: [{ id: mine.id, token: `items-${worker}` }],
        items: [makeItem(mine.id, 0, { status: "SUCCEEDED", output: "1", updatedAt: T0 + 9 })]
      })
      const [first] = yield* store.listItems({ jobId: mine.id, limit: 1, cursor: null }).pipe(Effect.map((p) => p.rows))
      expect(comparable(first), "saveItems: an existing key is overwritten").toEqual(
        comparable(makeItem(mine.id, 0, { status: "SUCCEEDED", output: "1", updatedAt: T0 + 9 }))
      )
      expect(yield* store.countItems({ jobId: mine.id }), "countItems: by status").toMatchObject({
        // item 0 went from FAILED to SUCCEEDED
        SUCCEEDED: 2251,
        FAILED: 249
      })
    })
  )

  it.effect("countItems counts a job's items by status", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = makeRow()
      const statuses = ["PENDING", "RUNNING", "SUCCEEDED", "SUCCEEDED", "FAILED", "PENDING", "PENDING"] as const
      yield* store.insert({ jobs: [job], items: statuses.map((status, i) => makeItem(job.id, i, { status })) })
      const counts = yield* store.countItems({ jobId: job.id })
      expect(
        { PENDING: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, ...counts },
        "countItems: one count per status"
      ).toEqual({ PENDING: 3, RUNNING: 1, SUCCEEDED: 2, FAILED: 1 })
      const none = yield* store.countItems({ jobId: unique("missing") })
      expect(
        Object.values(none).reduce((a, b) => a + (b ?? 0), 0),
        "countItems: none for a missing job"
      ).toBe(0)
    })
  )

  it.effect("resetItems sets the given statuses back to PENDING, only from the given job statuses", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = makeRow({ status: "FAILED", finishedAt: T0, queuedAt: T0 })
      const done = { output: `{"x":1}`, error: "e", startedAt: T0, finishedAt: T0 + 1 }
      yield* store.insert({
        jobs: [job],
        items: [
          makeItem(job.id, 0, { status: "SUCCEEDED", ...done, error: null }),
          makeItem(job.id, 1, { status: "FAILED", ...done, output: null }),
          makeItem(job.id, 2, { status: "RUNNING", startedAt: T0 }),
          makeItem(job.id, 3)
        ]
      })
      const refused = yield* store.resetItems({
        jobId: job.id,
        from: ["SUCCEEDED"],
        statuses: ["FAILED"],
        now: T0 + 10
      })
      expect(refused, "resetItems: a job in another status changes nothing").toBe(0)
      const changed = yield* store.resetItems({
        jobId: job.id,
        from: ["FAILED"],
        statuses: ["FAILED", "RUNNING"],
        now: T0 + 10
      })
      expect(changed, "resetItems: counts the items it changed").toBe(2)
      const rows = yield* allItems(job.id)
      expect(rows.map(comparable), "resetItems: FAILED and RUNNING items are PENDING and cleared").toEqual([
        comparable(makeItem(job.id, 0, { status: "SUCCEEDED", ...done, error: null })),
        makeItem(job.id, 1, { updatedAt: T0 + 10 }),
        makeItem(job.id, 2, { updatedAt: T0 + 10 }),
        makeItem(job.id, 3)
      ])
    })
  )

  it.effect("delete and deleteMany delete the jobs' items", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const owner = unique("owner")
      const one = makeRow({ status: "SUCCEEDED", finishedAt: T0 })
      const many = [makeRow({ owner, status: "FAILED", finishedAt: T0 }), makeRow({ owner, status: "CREATED" })]
      const kept = makeRow()
      yield* store.insert({
        jobs: [one, ...many, kept],
        items: [one, ...many, kept].flatMap((job) => [makeItem(job.id, 0), makeItem(job.id, 1)])
      })
      expect(yield* store.delete({ id: one.id, from: ["SUCCEEDED"] }), "delete: applies").toBe(true)
      expect(yield* allItems(one.id), "delete: the job's items are gone").toEqual([])
      expect(yield* store.deleteMany({ filter: { owner } }), "deleteMany: both jobs").toBe(2)
      for (const job of many) expect(yield* allItems(job.id), "deleteMany: the jobs' items are gone").toEqual([])
      expect((yield* allItems(kept.id)).length, "delete: other jobs keep their items").toBe(2)
    })
  )
}
