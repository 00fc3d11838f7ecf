/**
 * The store conformance suite: every rule of the `JobStore` port as a named vitest test. Each store package runs it
 * with one line: `runStoreConformance("SqliteJobStore", SqliteJobStore.layer({ filename: ":memory:" }))`.
 *
 * The suite builds one store for all its tests, so each test keeps to its own data: unique queues, types, owners and
 * batch ids, and it never assumes an empty store. Store-wide operations (`rescue`, `expire`, `claimCallbacks`) are
 * judged only by what they did to the test's own jobs.
 *
 * @since 0.1.0
 */
// first: a clear error when a non-3 Effect is installed, before any module builds a Schema
import "../internal/effectVersion.js"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { uuidv7 } from "uuidv7"
import type { JobStatus } from "../Job.js"
import type {
  CallbackRow,
  JobFilter,
  JobRow,
  ListCursor,
  ListPage,
  Settlement,
  SortKey,
  StatusChange,
  StoreSignal
} from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { itemsConformance } from "./items.js"
import { numberTests } from "./numbers.js"
import { scopeConformance } from "./scope.js"
import { workerWriteTests } from "./workerWrites.js"

export { leasesOf, makeRow, T0, TOKEN } from "./rows.js"
import { leasesOf, makeRow, T0, TOKEN } from "./rows.js"

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------

const unique = (label: string): string => `${label}-${uuidv7()}`

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text))

// stores may normalise JSON text (Postgres jsonb does), so JSON columns are compared as values; the store assigns
// `number` (its own tests are in numbers.ts)
const comparable = ({ number: _number, ...row }: JobRow) => ({
  ...row,
  params: parse(row.params),
  metadata: parse(row.metadata),
  progress: parse(row.progress),
  lastError: parse(row.lastError)
})

const byId = (a: { readonly id: string }, b: { readonly id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const sortedIds = (rows: ReadonlyArray<{ readonly id: string }>): Array<string> => rows.map((r) => r.id).sort()

const sortedChanges = (changes: ReadonlyArray<StatusChange>): Array<StatusChange> =>
  changes.map(({ id, status }) => ({ id, status })).sort(byId)

const insertRows = (rows: ReadonlyArray<JobRow>) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    // chunks keep each statement well under the bind-parameter limits of SQL drivers
    for (let i = 0; i < rows.length; i += 200) {
      const outcomes = yield* store.insert({ jobs: rows.slice(i, i + 200) })
      expect(
        outcomes.every((o) => o.inserted),
        "insert: rows without idempotency keys must all be inserted"
      ).toBe(true)
    }
  })

const getRow = (id: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const row = yield* store.get({ id })
    if (Option.isNone(row)) return expect.fail(`get: job ${id} should exist`)
    return row.value
  })

const isMissing = (id: string) =>
  Effect.map(
    Effect.flatMap(JobStore, (store) => store.get({ id })),
    Option.isNone
  )

/** Inserts one QUEUED job in a queue of its own and claims it, returning the claimed row. */
const runningJob = (options: {
  readonly workerId: string
  readonly now?: number
  readonly leaseMs?: number
  readonly row?: Partial<JobRow>
}) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const now = options.now ?? T0
    const row = makeRow({ queue: unique("q"), runAt: now, ...options.row })
    yield* store.insert({ jobs: [row] })
    const claimed = yield* store.claim({
      token: TOKEN,
      workerId: options.workerId,
      now,
      leaseMs: options.leaseMs ?? 1_000,
      limit: 1,
      queues: [row.queue],
      typeLimits: {},
      queueLimits: {}
    })
    expect(
      claimed.map((r) => r.id),
      "claim: a lone due QUEUED job in its own queue is claimed"
    ).toEqual([row.id])
    return claimed[0]!
  })

/** Moves a job to CANCELLING the way the engine's cancel of a running job does. */
const markCancelling = (id: string, now: number) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const updated = yield* store.update({ id, from: ["RUNNING"], patch: { status: "CANCELLING" }, now })
    expect(Option.isSome(updated), "update: RUNNING → CANCELLING applies").toBe(true)
  })

const listAll = (options: {
  readonly filter: JobFilter
  readonly sort: SortKey
  readonly order: "asc" | "desc"
  readonly limit: number
}) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const rows: Array<JobRow> = []
    let cursor: ListCursor | null = null
    for (let page = 1; ; page++) {
      const result: ListPage = yield* store.list({ ...options, cursor, withTotal: false })
      expect(
        result.rows.length,
        `list: page ${page} (${options.sort} ${options.order}, limit ${options.limit}) exceeds the limit`
      ).toBeLessThanOrEqual(options.limit)
      rows.push(...result.rows)
      if (result.nextCursor === null) break
      expect(result.rows.length, `list: page ${page} is empty but has a nextCursor`).toBeGreaterThan(0)
      expect(rows.length, "list: paging never ends (a cursor that does not advance?)").toBeLessThanOrEqual(100_000)
      cursor = result.nextCursor
    }
    return rows
  })

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

/** Takes from the dequeue until a signal matches, failing after 10 s (a bound on a hang, not a timed assertion). */
const awaitSignal = (dequeue: Queue.Dequeue<StoreSignal>, what: string, matches: (signal: StoreSignal) => boolean) =>
  Effect.gen(function* () {
    for (;;) {
      const signal = yield* Queue.take(dequeue)
      if (matches(signal)) return signal
    }
  }).pipe(
    Effect.timeoutFail({
      duration: "10 seconds",
      onTimeout: () => new Error(`subscribe: no ${what} signal arrived`)
    })
  )

const LEASE = 1_000

/** Every pending callback of these jobs due at `now` (taking them hides them for `leaseMs`). */
const takeCallbacks = (jobIds: ReadonlyArray<string>, now: number, leaseMs = LEASE) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const taken = yield* store.claimCallbacks({ now, limit: 100_000, leaseMs })
    return taken.filter((c) => jobIds.includes(c.jobId))
  })

const complete = (id: string, result: { readonly id: string; readonly value: string } | null = null): Settlement => ({
  _tag: "Complete",
  id,
  token: TOKEN,
  progress: null,
  result
})

const errorText = (message: string) => JSON.stringify({ message, at: "2023-11-14T22:13:20.000Z" })

/** A log line `m<i>` of a job, at `T0 + i`. */
const logLine = (jobId: string, i: number) => ({ jobId, at: T0 + i, level: "info" as const, message: `m${i}` })

/** A job's stored log messages, newest first (up to 100). */
const logMessages = (jobId: string) =>
  Effect.map(
    Effect.flatMap(JobStore, (store) => store.logs({ jobId, limit: 100, cursor: null })),
    (page) => page.rows.map((r) => r.message)
  )

// ---------------------------------------------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------------------------------------------

/** Declares the conformance suite as a vitest `describe(name)` block running against one store built from `layer`. */
export const runStoreConformance = (name: string, storeLayer: Layer.Layer<JobStore, unknown>): void =>
  // the store takes `now` explicitly, so the suite needs no TestClock; live services keep drivers' own timers real
  layer(storeLayer, { excludeTestServices: true })(name, (it) => {
    workerWriteTests(it)
    numberTests(it, makeRow)

    // -------------------------------------------------------------------------------------------------------------
    // insert and get
    // -------------------------------------------------------------------------------------------------------------

    it.effect("insert then get returns every field as written", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const full = makeRow({
          type: unique("type"),
          name: "Resize ünïcode 🎉 images",
          queue: unique("queue"),
          owner: "owner-1",
          idempotencyKey: unique("key"),
          status: "RUNNING",
          terminalReason: null,
          priority: -7,
          params: JSON.stringify({ images: ["a.png", "b.png"], nested: { n: 1.5, ok: true, none: null }, s: 'q"uote' }),
          metadata: JSON.stringify({ external: "x-1", count: 3 }),
          tags: ["red", "blue"],
          batchId: unique("batch"),
          callbackUrl: "https://example.com/hook?x=1",
          attempt: 2,
          maxAttempts: 5,
          timeoutMs: 30_000,
          deadline: T0 + 86_400_000,
          runAt: T0 + 1,
          createdAt: T0 - 5,
          updatedAt: T0 + 2,
          queuedAt: T0 - 1,
          startedAt: T0 + 3,
          finishedAt: null,
          progress: JSON.stringify({
            summary: { status: "RUNNING", progress: 0.5 },
            stages: [{ key: "s", name: "S", status: "RUNNING", progress: 0.5, params: [] }],
            items: { total: 4, pending: 2, completed: 2, failed: 0 }
          }),
          lastError: errorText("boom"),
          resultId: uuidv7(),
          leaseOwner: "worker-1",
          leaseExpiresAt: T0 + 60_000
        })
        const terminal = makeRow({
          status: "FAILED",
          terminalReason: "threshold",
          queue: unique("queue"),
          params: "null",
          finishedAt: T0 + 9,
          queuedAt: null,
          tags: []
        })
        const outcomes = yield* store.insert({ jobs: [full, terminal] })
        expect(
          outcomes.map((o) => o.inserted),
          "insert: new jobs are reported inserted"
        ).toEqual([true, true])
        expect(comparable(outcomes[0]!.row), "insert: the outcome carries the row as stored").toEqual(comparable(full))
        expect(comparable(yield* getRow(full.id)), "get: every field of a full row survives the roundtrip").toEqual(
          comparable(full)
        )
        expect(comparable(yield* getRow(terminal.id)), "get: nulls and empty tags survive the roundtrip").toEqual(
          comparable(terminal)
        )
        expect(yield* isMissing(uuidv7()), "get: an unknown id is None").toBe(true)
      })
    )

    it.effect("insert is all or none and fails with Conflict on an existing id", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const existing = makeRow()
        yield* store.insert({ jobs: [existing] })
        const fresh = makeRow()
        const error = yield* Effect.flip(store.insert({ jobs: [fresh, makeRow({ id: existing.id, name: "dup" })] }))
        expect(error._tag, "insert: a duplicate id fails with JobStoreError").toBe("JobStoreError")
        expect(error.reason, "insert: a duplicate id is a Conflict").toBe("Conflict")
        expect(yield* isMissing(fresh.id), "insert: a failed call inserts none of its jobs").toBe(true)
        expect((yield* getRow(existing.id)).name, "insert: a failed call leaves the existing job alone").toBe(
          existing.name
        )
      })
    )

    it.effect("insert reports outcomes in input order, with the holder of a held idempotency key", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const key = unique("key")
        const holder = makeRow({ idempotencyKey: key, status: "CREATED" })
        yield* store.insert({ jobs: [holder] })
        const a = makeRow()
        const b = makeRow({ idempotencyKey: key })
        const c = makeRow()
        const outcomes = yield* store.insert({ jobs: [a, b, c] })
        expect(
          outcomes.map((o) => [o.row.id, o.inserted]),
          "insert: outcomes follow input order; a held key yields the holder with inserted=false"
        ).toEqual([
          [a.id, true],
          [holder.id, false],
          [c.id, true]
        ])
        expect(yield* isMissing(b.id), "insert: a job whose key is held is not inserted").toBe(true)
      })
    )

    it.effect("insert lets a new job take the idempotency key once the holder is terminal", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const key = unique("key")
        for (const status of ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"] as const) {
          const old = makeRow({ idempotencyKey: key, status, finishedAt: T0 })
          const outcomes = yield* store.insert({ jobs: [old] })
          expect(outcomes[0]!.inserted, `insert: a terminal ${status} job never blocks its key`).toBe(true)
        }
        for (const status of ["CREATED", "QUEUED", "RUNNING", "PAUSED", "CANCELLING"] as const) {
          const key2 = unique("key")
          const active = makeRow({ idempotencyKey: key2, status })
          yield* store.insert({ jobs: [active] })
          const [outcome] = yield* store.insert({ jobs: [makeRow({ idempotencyKey: key2 })] })
          expect(outcome!.inserted, `insert: a ${status} holder keeps its key`).toBe(false)
          expect(outcome!.row.id, `insert: the ${status} holder is returned`).toBe(active.id)
        }
        const fresh = makeRow({ idempotencyKey: key })
        const [outcome] = yield* store.insert({ jobs: [fresh] })
        expect(outcome!.inserted, "insert: the key is free after its holders ended").toBe(true)
        const [again] = yield* store.insert({ jobs: [makeRow({ idempotencyKey: key })] })
        expect([again!.inserted, again!.row.id], "insert: the new non-terminal job now holds the key").toEqual([
          false,
          fresh.id
        ])
      })
    )

    it.effect("insert dedups an idempotency key within one call", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const key = unique("key")
        const first = makeRow({ idempotencyKey: key })
        const second = makeRow({ idempotencyKey: key })
        const outcomes = yield* store.insert({ jobs: [first, second] })
        expect(
          outcomes.map((o) => [o.row.id, o.inserted]),
          "insert: the second job with a key already used in the same call gets the first as holder"
        ).toEqual([
          [first.id, true],
          [first.id, false]
        ])
        expect(yield* isMissing(second.id), "insert: the duplicate of the same call is not stored").toBe(true)
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // list
    // -------------------------------------------------------------------------------------------------------------

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

    // -------------------------------------------------------------------------------------------------------------
    // update
    // -------------------------------------------------------------------------------------------------------------

    it.effect("update writes the patch and updatedAt only when the status is in from", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const row = makeRow({ status: "CREATED", queuedAt: null })
        yield* store.insert({ jobs: [row] })
        const refused = yield* store.update({
          id: row.id,
          from: ["QUEUED", "PAUSED"],
          patch: { status: "CANCELLED", name: "changed" },
          now: T0 + 50
        })
        expect(Option.isNone(refused), "update: a status outside from returns None").toBe(true)
        expect(comparable(yield* getRow(row.id)), "update: a refused write changes nothing").toEqual(comparable(row))
        const missing = yield* store.update({ id: uuidv7(), from: ["CREATED"], patch: { name: "x" }, now: T0 })
        expect(Option.isNone(missing), "update: a missing job returns None").toBe(true)

        const patch = {
          status: "QUEUED",
          queuedAt: T0 + 60,
          name: "renamed",
          priority: 9,
          params: JSON.stringify({ a: [1, 2] }),
          metadata: JSON.stringify({ k: "v" }),
          tags: ["x", "y"],
          runAt: T0 + 70,
          deadline: T0 + 80,
          idempotencyKey: unique("key")
        } as const
        const applied = yield* store.update({ id: row.id, from: ["CREATED"], patch, now: T0 + 60 })
        if (Option.isNone(applied)) return expect.fail("update: a status in from applies the patch")
        const expected = comparable({ ...row, ...patch, updatedAt: T0 + 60 })
        expect(comparable(applied.value), "update: returns the row after the write").toEqual(expected)
        expect(comparable(yield* getRow(row.id)), "update: the patch and updatedAt=now are stored").toEqual(expected)
      })
    )

    it.effect("update that would give an idempotency key to two non-terminal jobs fails with Conflict", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const key = unique("key")
        const old = makeRow({ idempotencyKey: key, status: "FAILED", finishedAt: T0 })
        const holder = makeRow({ idempotencyKey: key, status: "QUEUED" })
        yield* insertRows([old, holder])
        const error = yield* Effect.flip(
          store.update({ id: old.id, from: ["FAILED"], patch: { status: "QUEUED", finishedAt: null }, now: T0 + 1 })
        )
        expect(error.reason, "update: a second non-terminal holder of a key is a Conflict").toBe("Conflict")
        expect((yield* getRow(old.id)).status, "update: the conflicting write changed nothing").toBe("FAILED")
        const cleared = yield* store.update({
          id: old.id,
          from: ["FAILED"],
          patch: { status: "QUEUED", finishedAt: null, idempotencyKey: null },
          now: T0 + 2
        })
        expect(Option.isSome(cleared), "update: the same retry without the key applies").toBe(true)
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // claim
    // -------------------------------------------------------------------------------------------------------------

    it.effect("claim takes only due QUEUED jobs of the given queues", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = unique("q")
        const otherQueue = unique("q")
        const now = T0 + 1_000
        const dueEarly = makeRow({ queue, runAt: now - 500 })
        const dueNow = makeRow({ queue, runAt: now })
        const rest = [
          makeRow({ queue, runAt: now + 1 }),
          makeRow({ queue, status: "CREATED" }),
          makeRow({ queue, status: "PAUSED" }),
          makeRow({ queue, status: "RUNNING", leaseOwner: "w-other", leaseExpiresAt: now + 99_999, attempt: 1 }),
          makeRow({ queue, status: "CANCELLING", leaseOwner: "w-other", leaseExpiresAt: now + 99_999, attempt: 1 }),
          makeRow({ queue, status: "FAILED", finishedAt: T0 }),
          makeRow({ queue: otherQueue, runAt: now - 500 })
        ]
        yield* insertRows([dueEarly, dueNow, ...rest])
        const claimed = yield* store.claim({
          token: TOKEN,
          workerId: "w-1",
          now,
          leaseMs: 5_000,
          limit: 100,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
        expect(sortedIds(claimed), "claim: only QUEUED jobs with runAt <= now in the given queues are claimed").toEqual(
          sortedIds([dueEarly, dueNow])
        )
        const none = yield* store.claim({
          token: TOKEN,
          workerId: "w-1",
          now,
          leaseMs: 5_000,
          limit: 100,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
        expect(none, "claim: a claimed job is not claimed again").toEqual([])
        for (const row of rest) {
          const after = yield* getRow(row.id)
          expect(after.status, `claim: a ${row.status} job (runAt ${row.runAt - now}) is left alone`).toBe(row.status)
        }
      })
    )

    it.effect("claim sets RUNNING, attempt + 1, startedAt, updatedAt and the lease", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const row = makeRow({ queue: unique("q"), attempt: 1, queuedAt: T0 - 10 })
        yield* store.insert({ jobs: [row] })
        const now = T0 + 123
        const [claimed] = yield* store.claim({
          token: TOKEN,
          workerId: "w-lease",
          now,
          leaseMs: 4_000,
          limit: 5,
          queues: [row.queue],
          typeLimits: {},
          queueLimits: {}
        })
        const expected = comparable({
          ...row,
          status: "RUNNING",
          attempt: 2,
          startedAt: now,
          updatedAt: now,
          leaseOwner: "w-lease",
          leaseExpiresAt: now + 4_000,
          leaseToken: TOKEN
        })
        expect(comparable(claimed!), "claim: returns the claimed row as written").toEqual(expected)
        expect(comparable(yield* getRow(row.id)), "claim: the claimed row is stored").toEqual(expected)
      })
    )

    it.effect("claim orders by priority desc, runAt asc, id asc and respects limit", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = unique("q")
        const ids = Array.from({ length: 6 }, () => uuidv7()).sort()
        // expected claim order: a, b, c, d, e, f
        const f = makeRow({ id: ids[0]!, queue, priority: 0, runAt: T0 + 5 })
        const e = makeRow({ id: ids[1]!, queue, priority: 0, runAt: T0 + 1 })
        const d = makeRow({ id: ids[2]!, queue, priority: 5, runAt: T0 + 9 })
        const c = makeRow({ id: ids[5]!, queue, priority: 5, runAt: T0 + 2 })
        const b = makeRow({ id: ids[4]!, queue, priority: 5, runAt: T0 + 2 })
        const a = makeRow({ id: ids[3]!, queue, priority: 10, runAt: T0 + 9 })
        // b and c tie on priority and runAt: id decides, so the smaller id goes first
        const [first, second] = [b, c].sort(byId) as [JobRow, JobRow]
        yield* insertRows([f, e, d, c, b, a])
        const expected = [a.id, first.id, second.id, d.id, e.id, f.id]
        const order: Array<string> = []
        for (let i = 0; i < 6; i++) {
          const claimed = yield* store.claim({
            token: TOKEN,
            workerId: "w-order",
            now: T0 + 10,
            leaseMs: 1_000,
            limit: 1,
            queues: [queue],
            typeLimits: {},
            queueLimits: {}
          })
          expect(claimed.length, "claim: limit 1 claims one job").toBe(1)
          order.push(claimed[0]!.id)
        }
        expect(order, "claim: priority desc, then runAt asc, then id asc").toEqual(expected)

        const queue2 = unique("q")
        yield* insertRows(Array.from({ length: 5 }, () => makeRow({ queue: queue2 })))
        const some = yield* store.claim({
          token: TOKEN,
          workerId: "w-order",
          now: T0 + 10,
          leaseMs: 1_000,
          limit: 3,
          queues: [queue2],
          typeLimits: {},
          queueLimits: {}
        })
        expect(some.length, "claim: at most limit jobs").toBe(3)
      })
    )

    it.effect("claim never hands one job to two of 10 concurrent claimers", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = unique("q")
        const rows = Array.from({ length: 60 }, () => makeRow({ queue }))
        yield* insertRows(rows)
        const claimer = (workerId: string) =>
          Effect.gen(function* () {
            const mine: Array<JobRow> = []
            for (;;) {
              const claimed = yield* store.claim({
                token: TOKEN,
                workerId,
                now: T0,
                leaseMs: 60_000,
                limit: 3,
                queues: [queue],
                typeLimits: {},
                queueLimits: {}
              })
              if (claimed.length === 0) return mine
              mine.push(...claimed)
              yield* Effect.yieldNow()
            }
          })
        const results = yield* Effect.all(
          Array.from({ length: 10 }, (_, i) => claimer(`w-concurrent-${i}`)),
          { concurrency: "unbounded" }
        )
        const ids = results.flat().map((r) => r.id)
        expect(new Set(ids).size, "claim: no job is claimed twice").toBe(ids.length)
        expect(ids.length, "claim: every job is claimed once").toBe(60)
        for (const [i, mine] of results.entries()) {
          for (const row of mine) {
            const stored = yield* getRow(row.id)
            expect(stored.leaseOwner, "claim: the stored lease belongs to the claimer that got the job").toBe(
              `w-concurrent-${i}`
            )
            expect(stored.attempt, "claim: a job claimed once has attempt 1").toBe(1)
          }
        }
      })
    )

    it.effect("claim respects typeLimits counting RUNNING and CANCELLING jobs across the store", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const type = unique("type")
        const freeType = unique("type")
        const queue = unique("q")
        // one RUNNING and one CANCELLING job of the type, held by another worker in another queue
        const held = [
          makeRow({ type, queue: unique("q"), status: "RUNNING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 }),
          makeRow({ type, queue: unique("q"), status: "CANCELLING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 })
        ]
        const queued = Array.from({ length: 5 }, (_, i) => makeRow({ type, queue, priority: 10 - i }))
        const free = Array.from({ length: 2 }, () => makeRow({ type: freeType, queue }))
        yield* insertRows([...held, ...queued, ...free])
        const claimed = yield* store.claim({
          token: TOKEN,
          workerId: "w-types",
          now: T0,
          leaseMs: 1_000,
          limit: 10,
          queues: [queue],
          typeLimits: { [type]: 3 },
          queueLimits: {}
        })
        expect(
          claimed.filter((r) => r.type === type).map((r) => r.id),
          "claim: typeLimits 3 with 2 held allows one more, the first in claim order"
        ).toEqual([queued[0]!.id])
        expect(
          claimed.filter((r) => r.type === freeType).length,
          "claim: a type without a limit is not held back"
        ).toBe(2)
        const more = yield* store.claim({
          token: TOKEN,
          workerId: "w-types-2",
          now: T0,
          leaseMs: 1_000,
          limit: 10,
          queues: [queue],
          typeLimits: { [type]: 3 },
          queueLimits: {}
        })
        expect(more, "claim: a full type limit holds across workers").toEqual([])
        const zero = yield* store.claim({
          token: TOKEN,
          workerId: "w-types-3",
          now: T0,
          leaseMs: 1_000,
          limit: 10,
          queues: [queue],
          typeLimits: { [type]: 0 },
          queueLimits: {}
        })
        expect(zero, "claim: a limit of 0 claims nothing of that type").toEqual([])
      })
    )

    it.effect("claim respects queueLimits counting RUNNING and CANCELLING jobs across the store", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = unique("q")
        const otherQueue = unique("q")
        const held = [
          makeRow({ type: unique("t"), queue, status: "RUNNING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 }),
          makeRow({ type: unique("t"), queue, status: "CANCELLING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 })
        ]
        const queued = Array.from({ length: 4 }, (_, i) => makeRow({ queue, priority: 10 - i }))
        const others = Array.from({ length: 3 }, () => makeRow({ queue: otherQueue }))
        yield* insertRows([...held, ...queued, ...others])
        const claimed = yield* store.claim({
          token: TOKEN,
          workerId: "w-queues",
          now: T0,
          leaseMs: 1_000,
          limit: 10,
          queues: [queue, otherQueue],
          typeLimits: {},
          queueLimits: { [queue]: 4 }
        })
        expect(
          claimed.filter((r) => r.queue === queue).map((r) => r.id),
          "claim: queueLimits 4 with 2 held allows two more, the first in claim order"
        ).toEqual([queued[0]!.id, queued[1]!.id])
        expect(
          claimed.filter((r) => r.queue === otherQueue).length,
          "claim: a queue without a limit is not held back"
        ).toBe(3)
        const more = yield* store.claim({
          token: TOKEN,
          workerId: "w-queues-2",
          now: T0,
          leaseMs: 1_000,
          limit: 10,
          queues: [queue],
          typeLimits: {},
          queueLimits: { [queue]: 4 }
        })
        expect(more, "claim: a full queue limit holds across workers").toEqual([])
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // heartbeat and statuses
    // -------------------------------------------------------------------------------------------------------------

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
        expect((yield* getRow(j2.id)).leaseExpiresAt, "heartbeat: a CANCELLING job's lease is extended").toBe(
          T0 + 2_700
        )
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

    // -------------------------------------------------------------------------------------------------------------
    // settle
    // -------------------------------------------------------------------------------------------------------------

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
        expect(comparable(row), "settle: Complete writes SUCCEEDED, resultId, finishedAt, progress, no lease").toEqual(
          comparable({
            ...job,
            status: "SUCCEEDED",
            terminalReason: null,
            resultId,
            finishedAt: T0 + 10,
            updatedAt: T0 + 10,
            progress,
            leaseOwner: null,
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
        expect(Option.isNone(yield* store.getResult({ resultId: uuidv7() })), "getResult: unknown id is None").toBe(
          true
        )

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
            `settle: Fail → ${status} (${reason}) with lastError and finishedAt, lease cleared`
          ).toEqual([status, reason, parse(errorText(message)), T0 + 10, null, 1])
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
          "settle: Cancelled → CANCELLED (user), finishedAt, lease cleared"
        ).toEqual(["CANCELLED", "user", T0 + 10, null])
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
          ).toEqual(["CANCELLED", "user", T0 + 10, null])
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
            "settle: Completes write status, reason, resultId, finishedAt and clear the lease"
          ).toEqual([
            ["SUCCEEDED", null, doneResult, T0 + 10, null],
            ["CANCELLED", "user", null, T0 + 10, null],
            ["SUCCEEDED", null, null, T0 + 10, null]
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
        expect(comparable(yield* getRow(queued.id)), "settle: the unleased job is unchanged").toEqual(
          comparable(queued)
        )
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

    // -------------------------------------------------------------------------------------------------------------
    // progress, logs, results, stats
    // -------------------------------------------------------------------------------------------------------------

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
        expect(parse((yield* getRow(mine.id)).progress), "saveProgress: own RUNNING job written").toEqual(
          parse(progress)
        )
        expect(parse((yield* getRow(cancelling.id)).progress), "saveProgress: own CANCELLING job written").toEqual(
          parse(progress)
        )
        expect((yield* getRow(foreign.id)).progress, "saveProgress: another worker's job skipped").toBe(
          foreign.progress
        )
        expect((yield* getRow(queued.id)).progress, "saveProgress: an unleased job skipped").toBe(queued.progress)
      })
    )

    it.effect("appendLogs and logs: newest first, cursor paging without duplicates", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const job = makeRow()
        const neighbour = makeRow()
        yield* insertRows([job, neighbour])
        const messages = Array.from({ length: 25 }, (_, i) => `line ${i}`)
        for (let i = 0; i < messages.length; i += 5) {
          yield* store.appendLogs({
            entries: messages.slice(i, i + 5).flatMap((message, k) => [
              { jobId: job.id, at: T0 + i + k, level: k % 2 === 0 ? "info" : "warn", message },
              { jobId: neighbour.id, at: T0, level: "error", message: `other ${message}` }
            ]),
            cap: 1_000
          })
        }
        const pages: Array<Array<string>> = []
        let cursor: string | null = null
        for (;;) {
          const page: { rows: ReadonlyArray<{ id: string; message: string }>; nextCursor: string | null } =
            yield* store.logs({ jobId: job.id, limit: 10, cursor })
          expect(page.rows.length, "logs: a page never exceeds its limit").toBeLessThanOrEqual(10)
          pages.push(page.rows.map((r) => r.message))
          if (page.nextCursor === null) break
          expect(pages.length, "logs: paging ends").toBeLessThan(10)
          cursor = page.nextCursor
        }
        expect(pages.flat(), "logs: every line once, newest first, across pages").toEqual(messages.slice().reverse())
        expect(pages.length, "logs: 25 lines at limit 10 take 3 pages").toBe(3)
        const first = yield* store.logs({ jobId: job.id, limit: 2, cursor: null })
        expect(
          first.rows.map(({ jobId, at, level, message }) => ({ jobId, at, level, message })),
          "logs: a line keeps its job, time, level and message"
        ).toEqual([
          { jobId: job.id, at: T0 + 24, level: "info", message: "line 24" },
          { jobId: job.id, at: T0 + 23, level: "warn", message: "line 23" }
        ])
        const empty = yield* store.logs({ jobId: uuidv7(), limit: 10, cursor: null })
        expect(empty, "logs: a job without lines has an empty last page").toEqual({ rows: [], nextCursor: null })
        yield* store.appendLogs({ entries: [{ jobId: uuidv7(), at: T0, level: "info", message: "lost" }], cap: 10 })
      })
    )

    it.effect("appendLogs drops a job's oldest lines beyond the cap", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const job = makeRow()
        const small = makeRow()
        yield* insertRows([job, small])
        yield* store.appendLogs({ entries: Array.from({ length: 8 }, (_, i) => logLine(job.id, i)), cap: 100 })
        yield* store.appendLogs({
          entries: [logLine(job.id, 8), logLine(job.id, 9), logLine(small.id, 0), logLine(small.id, 1)],
          cap: 5
        })
        expect(yield* logMessages(job.id), "appendLogs: the cap keeps the newest lines of the job").toEqual([
          "m9",
          "m8",
          "m7",
          "m6",
          "m5"
        ])
        expect(yield* logMessages(small.id), "appendLogs: a job under the cap keeps every line").toEqual(["m1", "m0"])
      })
    )

    it.effect("stats counts jobs by type and status over the filter", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const batchId = unique("batch")
        const typeA = unique("a")
        const typeB = unique("b")
        yield* insertRows([
          makeRow({ batchId, type: typeA, status: "QUEUED" }),
          makeRow({ batchId, type: typeA, status: "QUEUED" }),
          makeRow({ batchId, type: typeA, status: "FAILED" }),
          makeRow({ batchId, type: typeB, status: "QUEUED" }),
          makeRow({ batchId: unique("batch"), type: typeA, status: "QUEUED" })
        ])
        const order = (rows: ReadonlyArray<{ type: string; status: JobStatus; count: number }>) =>
          rows
            .map(({ type, status, count }) => ({ type, status, count }))
            .sort((x, y) => `${x.type} ${x.status}`.localeCompare(`${y.type} ${y.status}`))
        expect(
          order(yield* store.stats({ filter: { batchId } })),
          "stats: one row per type and status present, none for absent combinations"
        ).toEqual(
          order([
            { type: typeA, status: "QUEUED", count: 2 },
            { type: typeA, status: "FAILED", count: 1 },
            { type: typeB, status: "QUEUED", count: 1 }
          ])
        )
        expect(
          order(yield* store.stats({ filter: { batchId, statuses: ["QUEUED"], types: [typeA] } })),
          "stats: the filter applies before counting"
        ).toEqual([{ type: typeA, status: "QUEUED", count: 2 }])
        expect(
          yield* store.stats({ filter: { batchId, statuses: [] } }),
          "stats: a filter matching nothing gives no rows"
        ).toEqual([])
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // delete
    // -------------------------------------------------------------------------------------------------------------

    it.effect("delete is guarded by from and cascades to logs, result and callbacks", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const workerId = unique("w")
        const job = yield* runningJob({ workerId, row: { callbackUrl: "https://example.com/cb" } })
        const resultId = uuidv7()
        yield* store.appendLogs({ entries: [{ jobId: job.id, at: T0, level: "info", message: "hi" }], cap: 100 })
        yield* store.settle({ workerId, now: T0 + 10, settlements: [complete(job.id, { id: resultId, value: "1" })] })
        expect(
          yield* store.delete({ id: job.id, from: ["CREATED", "QUEUED"] }),
          "delete: a status outside from is not deleted"
        ).toBe(false)
        expect(yield* isMissing(job.id), "delete: a refused delete keeps the job").toBe(false)
        expect(yield* store.delete({ id: uuidv7(), from: ["SUCCEEDED"] }), "delete: a missing job reports false").toBe(
          false
        )
        expect(yield* store.delete({ id: job.id, from: ["SUCCEEDED"] }), "delete: a status in from deletes").toBe(true)
        expect(yield* isMissing(job.id), "delete: the job is gone").toBe(true)
        expect(
          (yield* store.logs({ jobId: job.id, limit: 10, cursor: null })).rows,
          "delete: the job's logs are gone"
        ).toEqual([])
        expect(Option.isNone(yield* store.getResult({ resultId })), "delete: the job's result is gone").toBe(true)
        expect(yield* takeCallbacks([job.id], T0 + 10), "delete: the job's pending callbacks are gone").toEqual([])
      })
    )

    it.effect("deleteMany deletes exactly the jobs matching each filter, with their logs", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const batchId = unique("batch")
        const typeA = unique("a")
        const owner = unique("owner")
        const rows = {
          typeA: makeRow({ batchId, type: typeA, status: "SUCCEEDED", finishedAt: T0 + 500 }),
          failedOld: makeRow({ batchId, status: "FAILED", finishedAt: T0 + 100 }),
          failedNew: makeRow({ batchId, status: "FAILED", finishedAt: T0 + 900 }),
          queued: makeRow({ batchId, status: "QUEUED", createdAt: T0 - 100 }),
          owned: makeRow({ batchId, owner, status: "CREATED" }),
          keep: makeRow({ batchId, status: "CANCELLED", finishedAt: T0 + 1_000, createdAt: T0 + 5 })
        }
        yield* insertRows(Object.values(rows))
        yield* store.appendLogs({
          entries: [{ jobId: rows.typeA.id, at: T0, level: "info", message: "x" }],
          cap: 100
        })
        const remove = (filter: JobFilter, gone: ReadonlyArray<JobRow>, rule: string) =>
          Effect.gen(function* () {
            const count = yield* store.deleteMany({ filter: { batchId, ...filter } })
            expect(count, `deleteMany: ${rule} (count)`).toBe(gone.length)
            for (const row of gone) expect(yield* isMissing(row.id), `deleteMany: ${rule} (job gone)`).toBe(true)
          })
        yield* remove({ types: [typeA] }, [rows.typeA], "by types")
        expect(
          (yield* store.logs({ jobId: rows.typeA.id, limit: 10, cursor: null })).rows,
          "deleteMany: logs of deleted jobs are gone"
        ).toEqual([])
        yield* remove(
          { finishedBefore: T0 + 500 },
          [rows.failedOld],
          "finishedBefore deletes only jobs finished before"
        )
        yield* remove(
          { statuses: ["FAILED", "QUEUED"], createdBefore: T0 },
          [rows.queued],
          "statuses and createdBefore"
        )
        yield* remove({ owner }, [rows.owned], "by owner")
        yield* remove({ statuses: [] }, [], "an empty statuses list deletes nothing")
        const left = yield* listAll({ filter: { batchId }, sort: "createdAt", order: "asc", limit: 100 })
        expect(sortedIds(left), "deleteMany: jobs matching no filter remain").toEqual(
          sortedIds([rows.failedNew, rows.keep])
        )
        yield* remove({}, [rows.failedNew, rows.keep], "by batchId alone")
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // rescue and expire
    // -------------------------------------------------------------------------------------------------------------

    it.effect("rescue re-queues or fails jobs whose lease expired, cancels CANCELLING ones, leaves live leases", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const workerId = unique("w")
        const retryable = yield* runningJob({ workerId, leaseMs: 1_000 })
        const spent = yield* runningJob({ workerId, leaseMs: 1_000, row: { maxAttempts: 1 } })
        const cancelling = yield* runningJob({ workerId, leaseMs: 1_000 })
        yield* markCancelling(cancelling.id, T0 + 1)
        const alive = yield* runningJob({ workerId, leaseMs: 1_001 })
        const now = T0 + 1_000
        const changes = yield* store.rescue({ now })
        const mine = [retryable.id, spent.id, cancelling.id, alive.id]
        expect(
          sortedChanges(changes.filter((c) => mine.includes(c.id))),
          "rescue: reports each rescued job (leaseExpiresAt <= now) with its new status"
        ).toEqual(
          sortedChanges([
            { id: retryable.id, status: "QUEUED" },
            { id: spent.id, status: "FAILED" },
            { id: cancelling.id, status: "CANCELLED" }
          ])
        )
        const r = yield* getRow(retryable.id)
        expect(
          [r.status, r.runAt, r.attempt, r.leaseOwner, r.leaseExpiresAt, r.leaseToken, r.finishedAt, r.updatedAt],
          "rescue: RUNNING with attempts left → QUEUED, runAt kept (its place in the queue), lease cleared, attempt kept"
        ).toEqual(["QUEUED", retryable.runAt, 1, null, null, null, null, now])
        const s = yield* getRow(spent.id)
        expect(
          [s.status, s.terminalReason, s.finishedAt, s.leaseOwner],
          "rescue: RUNNING without attempts left → FAILED (stalled)"
        ).toEqual(["FAILED", "stalled", now, null])
        const c = yield* getRow(cancelling.id)
        expect(
          [c.status, c.terminalReason, c.finishedAt, c.leaseOwner],
          "rescue: CANCELLING → CANCELLED (user)"
        ).toEqual(["CANCELLED", "user", now, null])
        expect(comparable(yield* getRow(alive.id)), "rescue: an unexpired lease is untouched").toEqual(
          comparable(alive)
        )
      })
    )

    it.effect("expire times out QUEUED, RUNNING and PAUSED jobs past their deadline, nothing else", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const workerId = unique("w")
        const now = T0 + 500
        const queued = makeRow({ deadline: now })
        const paused = makeRow({ deadline: now - 100, status: "PAUSED" })
        const created = makeRow({ deadline: now - 100, status: "CREATED" })
        const future = makeRow({ deadline: now + 1 })
        const done = makeRow({ deadline: now - 100, status: "SUCCEEDED", finishedAt: T0 })
        yield* insertRows([queued, paused, created, future, done])
        const running = yield* runningJob({ workerId, leaseMs: 100_000, row: { deadline: now } })
        const changes = yield* store.expire({ now })
        const mine = [queued, paused, created, future, done, running].map((r) => r.id)
        expect(
          sortedChanges(changes.filter((c) => mine.includes(c.id))),
          "expire: reports QUEUED, RUNNING and PAUSED jobs with deadline <= now as TIMED_OUT"
        ).toEqual(sortedChanges([queued, paused, running].map((r) => ({ id: r.id, status: "TIMED_OUT" as const }))))
        for (const row of [queued, paused, running]) {
          const after = yield* getRow(row.id)
          expect(
            [after.status, after.terminalReason, after.finishedAt, after.leaseOwner, after.leaseExpiresAt],
            `expire: a ${row.status} job → TIMED_OUT (expired), finishedAt, lease cleared`
          ).toEqual(["TIMED_OUT", "expired", now, null, null])
        }
        for (const row of [created, future, done]) {
          expect(
            (yield* getRow(row.id)).status,
            `expire: a ${row.status} job (deadline ${row.deadline! - now}) stays`
          ).toBe(row.status)
        }
        const lost = yield* store.heartbeat({ workerId, leases: leasesOf([running.id]), now, leaseMs: 1_000 })
        expect(lost, "heartbeat: an expired job is lost to its worker").toEqual([])
      })
    )

    // -------------------------------------------------------------------------------------------------------------
    // callbacks
    // -------------------------------------------------------------------------------------------------------------

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

    it.effect(
      "claimCallbacks hides a taken callback until its lease passes; settleCallback deletes or reschedules",
      () =>
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
          expect(yield* takeCallbacks(ids, T0 - 1), "claimCallbacks: a callback is not due before its write").toEqual(
            []
          )
          const first = yield* takeCallbacks(ids, T0, 1_000)
          expect(first.map((c) => c.jobId).sort(), "claimCallbacks: due callbacks are taken").toEqual(
            ids.slice().sort()
          )
          expect(yield* takeCallbacks(ids, T0 + 999), "claimCallbacks: taken callbacks hide during the lease").toEqual(
            []
          )
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

    // -------------------------------------------------------------------------------------------------------------
    // signals
    // -------------------------------------------------------------------------------------------------------------

    it.scoped("subscribe receives Enqueued on insert of a QUEUED job and Changed on update", () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const dequeue = yield* store.subscribe
        const queue = unique("q")
        const row = makeRow({ queue })
        yield* store.insert({ jobs: [row] })
        yield* awaitSignal(
          dequeue,
          `Enqueued for queue ${queue} after insert`,
          (s) => s._tag === "Enqueued" && s.queue === queue
        )
        yield* store.update({ id: row.id, from: ["QUEUED"], patch: { status: "PAUSED" }, now: T0 + 1 })
        const changed = yield* awaitSignal(
          dequeue,
          `Changed for job ${row.id} after update`,
          (s) => s._tag === "Changed" && s.id === row.id
        )
        expect(changed, "subscribe: Changed carries the new status").toEqual({
          _tag: "Changed",
          id: row.id,
          status: "PAUSED"
        })
        yield* store.update({ id: row.id, from: ["PAUSED"], patch: { status: "QUEUED" }, now: T0 + 2 })
        yield* awaitSignal(
          dequeue,
          `Enqueued for queue ${queue} after resume`,
          (s) => s._tag === "Enqueued" && s.queue === queue
        )
      })
    )

    itemsConformance(it, makeRow)
    scopeConformance(it)
  })

/** The engine conformance suite (engine and worker end to end over a real store). */
export { fastWorkerOptions, runEngineConformance } from "./engine.js"

/** A job context that records what a handler reports: unit tests of handlers without an engine. */
export * as FakeContext from "./FakeContext.js"

/** The schedule and retention conformance tests (`ScheduleStore`), run on one store. */
export { runScheduleConformance } from "./schedules.js"
