/**
 * The helpers the concern files of the store conformance suite share: comparing rows, inserting and reading them,
 * bringing a job to RUNNING or CANCELLING, paging a whole list, and the settlements and log lines tests build.
 * Every helper reads the store from the environment, so a test's `it.effect` body stays about its rule.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import type { JobFilter, JobRow, ListCursor, ListPage, Settlement, SortKey, StatusChange } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"

/** The `it` each concern file declares its tests on: the suite's, over one store shared by every test. */
export type StoreIt = Vitest.MethodsNonLive<JobStore, true>

/** A label made unique, so each test keeps to queues, types, owners and batches of its own. */
export const unique = (label: string): string => `${label}-${uuidv7()}`

/** Parses a JSON column (null stays null). */
export const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text))

/**
 * A row in a form two stores agree on: stores may normalise JSON text (Postgres jsonb does), so JSON columns are
 * compared as values; the store assigns `number` (its own tests are in numbers.ts).
 */
export const comparable = ({ number: _number, ...row }: JobRow) => ({
  ...row,
  params: parse(row.params),
  metadata: parse(row.metadata),
  progress: parse(row.progress),
  lastError: parse(row.lastError),
  // a store that predates checkpoints reads the column as absent
  checkpoint: parse(row.checkpoint ?? null)
})

/** Orders by id, in binary order. */
export const byId = (a: { readonly id: string }, b: { readonly id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The ids of rows, sorted: for comparing sets of rows. */
export const sortedIds = (rows: ReadonlyArray<{ readonly id: string }>): Array<string> => rows.map((r) => r.id).sort()

/** Status changes without extra fields, sorted by id: for comparing sets of changes. */
export const sortedChanges = (changes: ReadonlyArray<StatusChange>): Array<StatusChange> =>
  changes.map(({ id, status }) => ({ id, status })).sort(byId)

/** Inserts rows (none with a held idempotency key), expecting every one inserted. */
export const insertRows = (rows: ReadonlyArray<JobRow>) =>
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

/** The stored row of a job that must exist. */
export const getRow = (id: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const row = yield* store.get({ id })
    if (Option.isNone(row)) return expect.fail(`get: job ${id} should exist`)
    return row.value
  })

/** Whether the store has no job with this id. */
export const isMissing = (id: string) =>
  Effect.map(
    Effect.flatMap(JobStore, (store) => store.get({ id })),
    Option.isNone
  )

/** Inserts one QUEUED job in a queue of its own and claims it, returning the claimed row. */
export const runningJob = (options: {
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
export const markCancelling = (id: string, now: number) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const updated = yield* store.update({ id, from: ["RUNNING"], patch: { status: "CANCELLING" }, now })
    expect(Option.isSome(updated), "update: RUNNING → CANCELLING applies").toBe(true)
  })

/** Every row matching the filter, read page by page; checks each page against the limit and that paging ends. */
export const listAll = (options: {
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

const LEASE = 1_000

/** Every pending callback of these jobs due at `now` (taking them hides them for `leaseMs`). */
export const takeCallbacks = (jobIds: ReadonlyArray<string>, now: number, leaseMs = LEASE) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const taken = yield* store.claimCallbacks({ now, limit: 100_000, leaseMs })
    return taken.filter((c) => jobIds.includes(c.jobId))
  })

/** A Complete settlement of a job claimed with `TOKEN`, with or without a result. */
export const complete = (
  id: string,
  result: { readonly id: string; readonly value: string } | null = null
): Settlement => ({
  _tag: "Complete",
  id,
  token: TOKEN,
  progress: null,
  result
})

/** A stored error (the `lastError` column) with this message. */
export const errorText = (message: string) => JSON.stringify({ message, at: "2023-11-14T22:13:20.000Z" })

/** A log line `m<i>` of a job, at `T0 + i`. */
export const logLine = (jobId: string, i: number) => ({ jobId, at: T0 + i, level: "info" as const, message: `m${i}` })

/** A job's stored log messages, newest first (up to 100). */
export const logMessages = (jobId: string) =>
  Effect.map(
    Effect.flatMap(JobStore, (store) => store.logs({ jobId, limit: 100, cursor: null })),
    (page) => page.rows.map((r) => r.message)
  )
