import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { JobRow } from "../src/JobStore.js"
import * as MemoryJobStore from "../src/MemoryJobStore.js"
import { makeRow } from "../src/testing/index.js"

/** A QUEUED row at time 0 (the shared conformance row factory, with this file's id). */
const row = (id: string, overrides: Partial<JobRow> = {}): JobRow =>
  makeRow({ id, runAt: 0, createdAt: 0, updatedAt: 0, queuedAt: 0, ...overrides })

describe("MemoryJobStore", () => {
  it.effect("says its signals stay in this process", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      expect(store.crossProcessSignals).toBe(false)
    })
  )

  it.effect("starts every store empty", () =>
    Effect.gen(function* () {
      const first = yield* MemoryJobStore.make
      const second = yield* MemoryJobStore.make
      yield* first.insert({ jobs: [row("a")] })
      expect(Option.isSome(yield* first.get({ id: "a" }))).toBe(true)
      expect(Option.isNone(yield* second.get({ id: "a" }))).toBe(true)
    })
  )

  it.effect("fails a whole insert with Conflict when an id exists", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      yield* store.insert({ jobs: [row("a")] })
      const exit = yield* Effect.exit(store.insert({ jobs: [row("b"), row("a")] }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(Option.isNone(yield* store.get({ id: "b" }))).toBe(true)
    })
  )

  it.effect("gives log lines ids whose string order is insertion order", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      yield* store.insert({ jobs: [row("a")] })
      const entries = Array.from({ length: 12 }, (_, i) => ({
        jobId: "a",
        at: i,
        level: "info" as const,
        message: `line ${i}`
      }))
      yield* store.appendLogs({ entries, cap: 100 })
      const { rows } = yield* store.logs({ jobId: "a", limit: 100, cursor: null })
      const ids = rows.map((r) => r.id)
      expect(ids).toEqual([...ids].sort().reverse())
      expect(rows.map((r) => r.message)[0]).toBe("line 11")
    })
  )

  it.effect("keeps rows apart from the caller's arrays", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      const tags = ["x"]
      yield* store.insert({ jobs: [row("a", { tags })] })
      tags.push("y")
      const stored = yield* store.get({ id: "a" })
      expect(Option.map(stored, (r) => r.tags)).toEqual(Option.some(["x"]))
    })
  )
})
