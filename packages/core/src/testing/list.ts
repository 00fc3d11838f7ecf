/**
 * The list part of the store conformance suite: every filter field, every sort key in both orders with ties by id,
 * and keyset paging that returns each row exactly once. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { JobFilter, JobRow, SortKey } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { byId, insertRows, listAll, sortedIds, unique, type StoreIt } from "./support.js"

const sortValue = (row: JobRow, sort: SortKey): number | string =>
  sort === "name" ? row.name : sort === "priority" ? row.priority : (row[sort] ?? -1)

/** The order the port documents: value (null times as -1, names in binary order), then id, both in `order`. */
const expectedOrder = (rows: ReadonlyArray<JobRow>, sort: SortKey, order: "asc" | "desc"): Array<string> =>
  rows
    .slice()
    .sort((a, b) => {
      const va = sortValue(a, sort)
      const vb = sortValue(b, sort)
      const c = va < vb ? -1 : va > vb ? 1 : byId(a, b)
      return order === "asc" ? c : -c
    })
    .map((r) => r.id)

const NAMES = ["alpha", "Beta", "beta", "_under", "Zed", "10", "9", "alpha", "beta"]

/** Rows with duplicate and null sort values, so ties and nulls are exercised. */
const sortRows = (count: number, batchId: string): Array<JobRow> =>
  Array.from({ length: count }, (_, i) => {
    const started = i % 3 === 0 ? null : T0 + ((i * 7) % 50)
    return makeRow({
      batchId,
      name: NAMES[i % NAMES.length]!,
      priority: [-1, 0, 0, 5, 10][i % 5]!,
      createdAt: T0 + (i % 13),
      updatedAt: T0 + ((i * 5) % 17),
      startedAt: started,
      finishedAt: started !== null && i % 2 === 0 ? started + 100 + (i % 4) : null,
      status: started === null ? "QUEUED" : i % 2 === 0 ? "SUCCEEDED" : "RUNNING"
    })
  })

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const listTests = (it: StoreIt): void => {
  it.effect("list filters by ids, statuses, types, queues, owner, tag and batchId", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const typeA = unique("typeA")
      const typeB = unique("typeB")
      const queueA = unique("queueA")
      const owner = unique("owner")
      const rows = [
        makeRow({ batchId, type: typeA, queue: queueA, status: "QUEUED", owner, tags: ["red", "blue"] }),
        makeRow({ batchId, type: typeA, queue: "default", status: "FAILED", tags: ["blue"] }),
        makeRow({ batchId, type: typeB, queue: queueA, status: "CREATED", owner, tags: ["reddish"] }),
        makeRow({ batchId, type: typeB, queue: "default", status: "SUCCEEDED", owner: "someone-else" })
      ]
      const other = makeRow({ batchId: unique("batch"), type: typeA, queue: queueA, owner, tags: ["red"] })
      yield* insertRows([...rows, other])
      const [r0, r1, r2, r3] = rows as [JobRow, JobRow, JobRow, JobRow]
      const check = (filter: JobFilter, expected: ReadonlyArray<JobRow>, rule: string) =>
        Effect.gen(function* () {
          const page = yield* store.list({
            filter: { batchId, ...filter },
            sort: "createdAt",
            order: "desc",
            limit: 100,
            cursor: null,
            withTotal: true
          })
          expect(sortedIds(page.rows), `list: ${rule}`).toEqual(sortedIds(expected))
          expect(page.total, `list: total counts the rows of ${rule}`).toBe(expected.length)
        })
      yield* check({}, rows, "batchId alone matches the batch's jobs only")
      yield* check({ ids: [r0.id, r3.id, other.id] }, [r0, r3], "ids matches those ids (AND batchId)")
      yield* check({ ids: [] }, [], "empty ids matches nothing")
      yield* check({ statuses: ["QUEUED", "FAILED"] }, [r0, r1], "statuses matches any listed status")
      yield* check({ statuses: [] }, [], "empty statuses matches nothing")
      yield* check({ types: [typeB] }, [r2, r3], "types matches the listed types")
      yield* check({ types: [] }, [], "empty types matches nothing")
      yield* check({ queues: [queueA] }, [r0, r2], "queues matches the listed queues")
      yield* check({ queues: [] }, [], "empty queues matches nothing")
      yield* check({ owner }, [r0, r2], "owner matches exactly")
      yield* check({ tag: "red" }, [r0], "tag matches a whole tag, not a prefix")
      yield* check({ tag: "blue" }, [r0, r1], "tag matches any job carrying it")
      yield* check({ types: [typeA], statuses: ["QUEUED"], owner }, [r0], "every given field must match (AND)")
      const byBatch = yield* store.list({
        filter: { batchId: other.batchId! },
        sort: "createdAt",
        order: "desc",
        limit: 10,
        cursor: null,
        withTotal: false
      })
      expect(sortedIds(byBatch.rows), "list: batchId matches exactly").toEqual([other.id])
    })
  )

  it.effect("list filters by q, case-insensitively in name or params text, with % and _ taken literally", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const rows = [
        makeRow({ batchId, name: "Resize Images", params: JSON.stringify({ path: "/data/x" }) }),
        makeRow({ batchId, name: "plain", params: JSON.stringify({ note: "Holiday PHOTOS" }) }),
        makeRow({ batchId, name: "100% sure", params: "{}" }),
        makeRow({ batchId, name: "1000 sure", params: "{}" }),
        makeRow({ batchId, name: "a_b", params: "{}" }),
        makeRow({ batchId, name: "axb", params: "{}" })
      ]
      yield* insertRows(rows)
      const [images, photos, percent, thousand, underscore] = rows as [JobRow, JobRow, JobRow, JobRow, JobRow]
      const check = (q: string, expected: ReadonlyArray<JobRow>, rule: string) =>
        Effect.gen(function* () {
          const page = yield* store.list({
            filter: { batchId, q },
            sort: "createdAt",
            order: "desc",
            limit: 100,
            cursor: null,
            withTotal: true
          })
          expect(sortedIds(page.rows), `list q=${JSON.stringify(q)}: ${rule}`).toEqual(sortedIds(expected))
          expect(page.total, `list q=${JSON.stringify(q)}: total agrees`).toBe(expected.length)
        })
      yield* check("rEsIzE iMaGeS", [images], "matches the name case-insensitively")
      yield* check("size im", [images], "matches a substring of the name")
      yield* check("holiday photos", [photos], "matches the params text case-insensitively")
      yield* check("sure", [percent, thousand], "matches every job containing it")
      yield* check("0%", [percent], "% is a literal character, not a wildcard")
      yield* check("a_b", [underscore], "_ is a literal character, not a wildcard")
      yield* check("no such text", [], "matches nothing when absent")
      yield* check(thousand.name, [thousand], "matches a whole name")
    })
  )

  it.effect("list filters by createdAfter, createdBefore (strict) and finishedBefore (never null)", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const rows = [0, 1, 2, 3].map((i) =>
        makeRow({
          batchId,
          createdAt: T0 + i,
          status: i === 3 ? "QUEUED" : "SUCCEEDED",
          finishedAt: i === 3 ? null : T0 + 100 + i
        })
      )
      yield* insertRows(rows)
      const [r0, r1, r2, r3] = rows as [JobRow, JobRow, JobRow, JobRow]
      const check = (filter: JobFilter, expected: ReadonlyArray<JobRow>, rule: string) =>
        Effect.gen(function* () {
          const page = yield* store.list({
            filter: { batchId, ...filter },
            sort: "createdAt",
            order: "asc",
            limit: 100,
            cursor: null,
            withTotal: false
          })
          expect(sortedIds(page.rows), `list: ${rule}`).toEqual(sortedIds(expected))
        })
      yield* check({ createdAfter: T0 + 1 }, [r2, r3], "createdAfter is strict (createdAt > t)")
      yield* check({ createdBefore: T0 + 2 }, [r0, r1], "createdBefore is strict (createdAt < t)")
      yield* check({ createdAfter: T0, createdBefore: T0 + 3 }, [r1, r2], "createdAfter and createdBefore combine")
      yield* check({ finishedBefore: T0 + 102 }, [r0, r1], "finishedBefore is strict (finishedAt < t)")
      yield* check({ finishedBefore: T0 + 10_000 }, [r0, r1, r2], "finishedBefore never matches unfinished jobs")
    })
  )

  for (const sort of ["createdAt", "updatedAt", "startedAt", "finishedAt", "priority", "name"] as const) {
    for (const order of ["asc", "desc"] as const) {
      const nulls = sort === "startedAt" || sort === "finishedAt" ? ", null times as -1" : ""
      it.effect(`list sorts by ${sort} ${order}${nulls}, ties by id in the same direction`, () =>
        Effect.gen(function* () {
          const batchId = unique("batch")
          const rows = sortRows(45, batchId)
          yield* insertRows(rows)
          const expected = expectedOrder(rows, sort, order)
          const whole = yield* listAll({ filter: { batchId }, sort, order, limit: 1000 })
          expect(
            whole.map((r) => r.id),
            `list: one page sorted by ${sort} ${order} (then id ${order})`
          ).toEqual(expected)
          const paged = yield* listAll({ filter: { batchId }, sort, order, limit: 4 })
          expect(
            paged.map((r) => r.id),
            `list: pages of 4 by ${sort} ${order} concatenate to the same order`
          ).toEqual(expected)
        })
      )
    }
  }

  const pagingCases: ReadonlyArray<readonly [SortKey, "asc" | "desc"]> = [
    ["createdAt", "desc"],
    ["startedAt", "asc"],
    ["name", "asc"],
    ["priority", "desc"]
  ]
  for (const [sort, order] of pagingCases) {
    it.effect(`list pages 1,000 rows by ${sort} ${order} at limits 1, 7 and 1000, each row exactly once`, () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const batchId = unique("batch")
        const rows = sortRows(1000, batchId)
        yield* insertRows(rows)
        const expected = expectedOrder(rows, sort, order)
        for (const limit of [1, 7, 1000]) {
          const listed = yield* listAll({ filter: { batchId }, sort, order, limit })
          const ids = listed.map((r) => r.id)
          expect(new Set(ids).size, `list: no row repeats across pages at limit ${limit}`).toBe(ids.length)
          expect(ids.length, `list: every matching row appears at limit ${limit}`).toBe(1000)
          expect(ids, `list: pages at limit ${limit} keep the ${sort} ${order} order`).toEqual(expected)
        }
        const firstPage = yield* store.list({
          filter: { batchId },
          sort,
          order,
          limit: 1000,
          cursor: null,
          withTotal: true
        })
        expect(firstPage.nextCursor, "list: a page holding every remaining row has no nextCursor").toBeNull()
        const middle = yield* store.list({
          filter: { batchId },
          sort,
          order,
          limit: 7,
          cursor: {
            value: sortValue(
              rows.find((r) => r.id === expected[500])!,
              sort
            ),
            id: expected[500]!
          },
          withTotal: true
        })
        expect(
          middle.rows.map((r) => r.id),
          "list: a cursor resumes right after its row"
        ).toEqual(expected.slice(501, 508))
        expect(middle.total, "list: withTotal counts every match, ignoring cursor and limit").toBe(1000)
      })
    )
  }
}
