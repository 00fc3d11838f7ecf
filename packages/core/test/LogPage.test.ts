// The log page's merge of stored and presented lines (`internal/engine/logPage.ts`) over a memory store: where the
// presented lines sit, a stored copy standing for one, and cursors across them with every page size.
import { describe, expect, it } from "@effect/vitest"
import { JobStore, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { JobRow, NewLog } from "../src/JobStore.js"
import * as LogPage from "../src/internal/engine/logPage.js"
import { makeRow } from "../src/testing/rows.js"

const T = 1_700_000_000_000

/** Every page of `row`'s log in pages of `limit`, newest first. */
const readAll = (store: JobStore.JobStore.Service, row: JobRow, limit: number) =>
  Effect.gen(function* () {
    const items: Array<LogPage.PageLine> = []
    let cursor: LogPage.LogCursor | null = null
    for (let i = 0; i < 100; i++) {
      const page: { items: Array<LogPage.PageLine>; next: LogPage.LogCursor | null } = yield* LogPage.page(
        store,
        row,
        limit,
        cursor
      )
      expect(page.items.length).toBeLessThanOrEqual(limit)
      items.push(...page.items)
      if (page.next === null) return items
      expect(page.items.length, "a page before the last is full").toBe(limit)
      // the cursor travels as JSON
      cursor = LogPage.parseCursor(JSON.parse(JSON.stringify(page.next))) ?? null
      expect(cursor).not.toBeNull()
    }
    return yield* Effect.dieMessage("the pages never ended")
  })

const line = (jobId: string, at: number, message: string): NewLog => ({ jobId, at, level: "info", message })

/** A store holding one job (`row`) with these lines. */
const withLines = (row: JobRow, lines: ReadonlyArray<NewLog>) =>
  Effect.gen(function* () {
    const store = yield* MemoryJobStore.make
    yield* store.insert({ jobs: [row] })
    yield* store.appendLogs({ entries: lines, cap: 1000 })
    return store
  })

const succeeded = (overrides: Partial<JobRow> = {}): JobRow =>
  makeRow({
    status: "SUCCEEDED",
    attempt: 2,
    maxAttempts: 3,
    startedAt: T + 10,
    finishedAt: T + 20,
    leaseOwner: "w1",
    ...overrides
  })

describe("LogPage", () => {
  it.effect("presents the start and success lines by their time, the same in pages of every size", () =>
    Effect.gen(function* () {
      const row = succeeded()
      const store = yield* withLines(row, [
        line(row.id, T, "attempt 1/3 started on worker w0"),
        line(row.id, T + 5, "attempt 1/3 failed: boom; retrying in 1 s"),
        line(row.id, T + 10, "attempt 1/3 late line at the very start time of the next"),
        line(row.id, T + 10, "retry requested: queued with a fresh attempt budget"),
        line(row.id, T + 10, "own line at the start time"),
        line(row.id, T + 20, "own line at the end time"),
        line(row.id, T + 30, "callback delivered")
      ])
      const whole = yield* readAll(store, row, 100)
      expect(whole.map((l) => l.message).reverse()).toEqual([
        "attempt 1/3 started on worker w0",
        "attempt 1/3 failed: boom; retrying in 1 s",
        "attempt 1/3 late line at the very start time of the next",
        "retry requested: queued with a fresh attempt budget",
        "attempt 2/3 started on worker w1",
        "own line at the start time",
        "own line at the end time",
        "attempt 2/3 succeeded",
        "callback delivered"
      ])
      expect(whole.filter((l) => !/^[0-9]+$/.test(l.id)).map((l) => l.id)).toEqual(["attempt-2-end", "attempt-2-start"])
      for (let limit = 1; limit <= 10; limit++) expect(yield* readAll(store, row, limit)).toEqual(whole)
    })
  )

  it.effect("a stored copy of a presented line stands for it, on any page", () =>
    Effect.gen(function* () {
      const row = succeeded({ attempt: 1, startedAt: T, finishedAt: T + 3 })
      const store = yield* withLines(row, [
        line(row.id, T, "attempt 1/3 started on worker w1"),
        line(row.id, T + 1, "a"),
        line(row.id, T + 2, "b")
      ])
      const whole = yield* readAll(store, row, 100)
      expect(whole.map((l) => l.message).reverse()).toEqual([
        "attempt 1/3 started on worker w1",
        "a",
        "b",
        "attempt 1/3 succeeded"
      ])
      for (let limit = 1; limit <= 5; limit++) expect(yield* readAll(store, row, limit)).toEqual(whole)
    })
  )

  it.effect("a job with no stored line shows its presented lines; a queued or failed job none", () =>
    Effect.gen(function* () {
      const running = makeRow({ status: "RUNNING", attempt: 1, startedAt: T, leaseOwner: "w1" })
      const store = yield* withLines(running, [])
      expect((yield* readAll(store, running, 1)).map((l) => l.message)).toEqual(["attempt 1/3 started on worker w1"])
      for (const status of ["QUEUED", "FAILED", "CANCELLED", "TIMED_OUT"] as const) {
        const row = { ...running, status }
        expect(yield* readAll(store, row, 10), status).toEqual([])
      }
      // a late success (its progress says SUCCEEDED) ended CANCELLED by a cancel shows both lines
      const late = {
        ...running,
        status: "CANCELLED" as const,
        finishedAt: T + 1,
        progress: JSON.stringify({ summary: { status: "SUCCEEDED", progress: 1 }, stages: [], items: null })
      }
      expect((yield* readAll(store, late, 10)).map((l) => l.message)).toEqual([
        "attempt 1/3 succeeded",
        "attempt 1/3 started on worker w1"
      ])
      // a row that names no worker (settled before the settle kept it) presents nothing: its lines are stored
      expect(
        yield* readAll(store, { ...running, status: "SUCCEEDED", leaseOwner: null, finishedAt: T + 1 }, 10)
      ).toEqual([])
    })
  )

  it("reads only cursors of its own", () => {
    expect(LogPage.parseCursor("00012")).toEqual({ after: "00012", shown: [] })
    expect(LogPage.parseCursor({ after: null, shown: ["attempt-2-end"] })).toEqual({
      after: null,
      shown: ["attempt-2-end"]
    })
    for (const bad of ["x", "1e3", { after: "x", shown: [] }, { after: "1", shown: ["nope"] }, { after: "1" }, null]) {
      expect(LogPage.parseCursor(bad), JSON.stringify(bad)).toBeUndefined()
    }
  })
})
