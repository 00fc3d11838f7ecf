/**
 * The logs part of the store conformance suite: `appendLogs` and `logs` page a job's lines newest first, and the
 * cap keeps each job's newest lines. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { insertRows, logLine, logMessages, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const logTests = (it: StoreIt): void => {
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
}
