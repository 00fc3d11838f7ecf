// The memory store keeps its QUEUED jobs in claim order, with stale entries left behind by writes and deletes: every
// way a queued job changes must still be seen by the next claim.
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { ClaimOptions, JobRow, JobStore } from "../src/JobStore.js"
import * as MemoryJobStore from "../src/MemoryJobStore.js"
import { makeRow } from "../src/testing/index.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

/** A QUEUED row at time 0 (the shared conformance row factory, with this file's id). */
const row = (id: string, overrides: Partial<JobRow> = {}): JobRow =>
  makeRow({ id, runAt: 0, createdAt: 0, updatedAt: 0, queuedAt: 0, ...overrides })

const claimOptions = (limit: number, now = 100): ClaimOptions => ({
  workerId: "w",
  token: TOKEN,
  now,
  leaseMs: 1000,
  limit,
  queues: ["default"],
  typeLimits: {},
  queueLimits: {}
})

const claimIds = (store: JobStore.Service, limit: number, now?: number) =>
  Effect.map(store.claim(claimOptions(limit, now)), (rows) => rows.map((r) => r.id))

describe("MemoryJobStore claim order", () => {
  it.effect("claims by priority, then runAt, then id, whatever the insertion order", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      yield* store.insert({
        jobs: [
          row("c", { runAt: 5 }),
          row("b", { runAt: 5 }),
          row("low", { priority: -1 }),
          row("high", { priority: 9, runAt: 50 }),
          row("a", { runAt: 1 })
        ]
      })
      expect(yield* claimIds(store, 2)).toEqual(["high", "a"])
      expect(yield* claimIds(store, 10)).toEqual(["b", "c", "low"])
    })
  )

  it.effect("sees edits of priority and runAt, deletes and cancels of queued jobs", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      yield* store.insert({ jobs: ["j1", "j2", "j3", "j4", "j5"].map((id) => row(id)) })
      yield* store.update({ id: "j5", from: ["QUEUED"], patch: { priority: 5 }, now: 1 })
      yield* store.update({ id: "j1", from: ["QUEUED"], patch: { runAt: 1000 }, now: 1 })
      yield* store.update({ id: "j2", from: ["QUEUED"], patch: { status: "CANCELLED" }, now: 1 })
      yield* store.delete({ id: "j3", from: ["QUEUED"] })
      expect(yield* claimIds(store, 10)).toEqual(["j5", "j4"])
      // not due until its new runAt
      expect(yield* claimIds(store, 10, 999)).toEqual([])
      expect(yield* claimIds(store, 10, 1000)).toEqual(["j1"])
    })
  )

  it.effect("a job settled back to QUEUED is claimable again, in its place", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      yield* store.insert({ jobs: [row("first"), row("second"), row("third")] })
      expect(yield* claimIds(store, 1)).toEqual(["first"])
      yield* store.settle({
        workerId: "w",
        now: 100,
        settlements: [{ _tag: "Retry", id: "first", token: TOKEN, runAt: 100, lastError: "{}", progress: null }]
      })
      // runAt 100 now sorts it after the jobs due at 0
      expect(yield* claimIds(store, 10)).toEqual(["second", "third", "first"])
    })
  )

  it.effect("claims exactly the queued jobs after thousands of writes leave stale entries behind", () =>
    Effect.gen(function* () {
      const store = yield* MemoryJobStore.make
      const ids = Array.from({ length: 3000 }, (_, i) => `job-${String(i).padStart(5, "0")}`)
      yield* store.insert({ jobs: ids.map((id) => row(id)) })
      // every third job is cancelled, every third from the second on is moved to the front
      for (let i = 0; i < ids.length; i++) {
        if (i % 3 === 0) yield* store.update({ id: ids[i], from: ["QUEUED"], patch: { status: "CANCELLED" }, now: 1 })
        if (i % 3 === 1) yield* store.update({ id: ids[i], from: ["QUEUED"], patch: { priority: 1 }, now: 1 })
      }
      const claimed: Array<string> = []
      for (;;) {
        const batch = yield* claimIds(store, 70)
        claimed.push(...batch)
        if (batch.length < 70) break
      }
      const front = ids.filter((_, i) => i % 3 === 1)
      const rest = ids.filter((_, i) => i % 3 === 2)
      expect(claimed).toEqual([...front, ...rest])
    })
  )
})
