/**
 * Conformance tests of the worker's writes: every one is guarded by the claim's token (so a late write about an
 * earlier claim, even by the same worker id, changes nothing), claims take only the types a worker can run, type
 * limits hold whichever worker claims, and a rescued job keeps its place in the queue. Registered by
 * `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import type { ClaimOptions, ItemRow, JobRow, Settlement } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { getRow, logMessages as messages, unique } from "./support.js"

/** A QUEUED row in its own queue, due at T0, with attempts to spare. */
const queuedRow = (overrides: Partial<JobRow> = {}): JobRow =>
  makeRow({ type: "worker-writes", name: "worker writes job", queue: unique("q"), maxAttempts: 5, ...overrides })

const claimOf = (options: Partial<ClaimOptions> & Pick<ClaimOptions, "workerId" | "token" | "queues">) =>
  Effect.flatMap(JobStore, (store) =>
    store.claim({ now: T0, leaseMs: 1_000, limit: 10, typeLimits: {}, queueLimits: {}, ...options })
  )

const progressText = (value: number) =>
  JSON.stringify({ summary: { status: "RUNNING", progress: value }, stages: [], items: null })

/**
 * A job claimed by `workerId` with token `first`, lost (its lease expired and the rescuer re-queued it) and claimed
 * again by the same worker id with token `second`.
 */
const reclaimed = Effect.gen(function* () {
  const store = yield* JobStore
  const workerId = unique("w")
  const first = unique("claim-1")
  const second = unique("claim-2")
  const row = queuedRow()
  yield* store.insert({ jobs: [row] })
  const one = yield* claimOf({ workerId, token: first, queues: [row.queue] })
  expect(
    one.map((r) => [r.id, r.leaseToken]),
    "claim: the claimed row carries the claim's token"
  ).toEqual([[row.id, first]])
  yield* store.rescue({ now: T0 + 1_000 })
  const two = yield* claimOf({ workerId, token: second, queues: [row.queue], now: T0 + 1_000 })
  expect(
    two.map((r) => [r.id, r.attempt, r.leaseToken]),
    "claim: the same worker claims the rescued job again, under a new token"
  ).toEqual([[row.id, 2, second]])
  return { row, workerId, first, second, claimed: two[0]! }
})

/** Declares the tests inside the conformance suite's `describe` block. */
export const workerWriteTests = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  it.effect("a late settle of an earlier claim changes nothing, even from the same worker id", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const { claimed, first, row, second, workerId } = yield* reclaimed
      const late: ReadonlyArray<Settlement> = [
        { _tag: "Complete", id: row.id, token: first, progress: null, result: { id: uuidv7(), value: "1" } },
        { _tag: "Retry", id: row.id, token: first, runAt: T0 + 9, lastError: "{}", progress: null },
        { _tag: "Fail", id: row.id, token: first, status: "FAILED", reason: "error", lastError: "{}", progress: null },
        { _tag: "Cancelled", id: row.id, token: first, progress: null },
        { _tag: "Release", id: row.id, token: first, progress: null }
      ]
      for (const settlement of late) {
        const changes = yield* store.settle({ workerId, now: T0 + 1_100, settlements: [settlement] })
        expect(changes, `settle: a late ${settlement._tag} of the first claim is not applied`).toEqual([])
        expect(yield* getRow(row.id), `settle: a late ${settlement._tag} leaves the new claim's row as it was`).toEqual(
          claimed
        )
      }
      const changes = yield* store.settle({
        workerId,
        now: T0 + 1_200,
        settlements: [{ _tag: "Complete", id: row.id, token: second, progress: null, result: null }]
      })
      expect(changes, "settle: the current claim's settlement applies").toEqual([{ id: row.id, status: "SUCCEEDED" }])
      expect((yield* getRow(row.id)).leaseToken, "settle: the token goes with the lease").toBeNull()
    })
  )

  it.effect("a late heartbeat, progress write or log line of an earlier claim changes nothing", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const { claimed, first, row, second, workerId } = yield* reclaimed
      const lost = yield* store.heartbeat({
        workerId,
        leases: [{ id: row.id, token: first }],
        now: T0 + 1_100,
        leaseMs: 60_000
      })
      expect(lost, "heartbeat: the first claim's token no longer holds the job").toEqual([])
      yield* store.saveProgress({
        workerId,
        now: T0 + 1_100,
        updates: [{ id: row.id, token: first, progress: progressText(0.9) }]
      })
      yield* store.appendLogs({
        entries: [{ jobId: row.id, at: T0 + 1_100, level: "info", message: "late", token: first }],
        cap: 100
      })
      expect(yield* getRow(row.id), "heartbeat, saveProgress: nothing of the new claim's row changed").toEqual(claimed)
      expect(yield* messages(row.id), "appendLogs: a line of the first claim is dropped").toEqual([])

      const held = yield* store.heartbeat({
        workerId,
        leases: [{ id: row.id, token: second }],
        now: T0 + 1_100,
        leaseMs: 60_000
      })
      expect(held, "heartbeat: the current claim holds the job").toEqual([{ id: row.id, status: "RUNNING" }])
      yield* store.saveProgress({
        workerId,
        now: T0 + 1_100,
        updates: [{ id: row.id, token: second, progress: progressText(0.5) }]
      })
      yield* store.appendLogs({
        entries: [
          { jobId: row.id, at: T0 + 1_100, level: "info", message: "current", token: second },
          { jobId: row.id, at: T0 + 1_101, level: "info", message: "engine" }
        ],
        cap: 100
      })
      const after = yield* getRow(row.id)
      expect(
        [after.leaseExpiresAt, JSON.parse(after.progress).summary.progress],
        "heartbeat, saveProgress: the current claim's writes apply"
      ).toEqual([T0 + 61_100, 0.5])
      expect(yield* messages(row.id), "appendLogs: the current claim's line and a line without token are kept").toEqual(
        ["engine", "current"]
      )
    })
  )

  it.effect("a late item write of an earlier claim changes nothing, even from the same worker id", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const { first, row, second, workerId } = yield* reclaimed
      const item = (output: string): ItemRow => ({
        jobId: row.id,
        key: "a",
        position: 0,
        status: "SUCCEEDED",
        input: null,
        output,
        error: null,
        startedAt: T0 + 1_100,
        finishedAt: T0 + 1_100,
        updatedAt: T0 + 1_100
      })
      const outputs = Effect.map(store.listItems({ jobId: row.id, limit: 10, cursor: null }), (page) =>
        page.rows.map((r) => [r.key, JSON.parse(r.output ?? "null")])
      )
      yield* store.saveItems({ workerId, leases: [{ id: row.id, token: first }], items: [item(`"late"`)] })
      expect(yield* outputs, "saveItems: an item of the first claim is not written").toEqual([])
      yield* store.saveItems({ workerId, leases: [{ id: row.id, token: second }], items: [item(`"current"`)] })
      expect(yield* outputs, "saveItems: the current claim's item is written").toEqual([["a", "current"]])
      yield* store.saveItems({ workerId, leases: [{ id: row.id, token: first }], items: [item(`"late"`)] })
      expect(yield* outputs, "saveItems: a late write of the first claim leaves the item as it was").toEqual([
        ["a", "current"]
      ])
    })
  )

  it.effect("log lines sent with a settle are kept only for the claim that holds the job", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const { first, row, second, workerId } = yield* reclaimed
      const changes = yield* store.settle({
        workerId,
        now: T0 + 1_100,
        settlements: [{ _tag: "Complete", id: row.id, token: second, progress: null, result: null }],
        logs: {
          entries: [
            { jobId: row.id, at: T0 + 1_050, level: "info", message: "first claim ended", token: first },
            { jobId: row.id, at: T0 + 1_100, level: "info", message: "second claim ended", token: second }
          ],
          cap: 100
        }
      })
      expect(changes, "settle: the current claim's Complete applies").toEqual([{ id: row.id, status: "SUCCEEDED" }])
      expect(yield* messages(row.id), "settle: only the current claim's line is stored").toEqual(["second claim ended"])
    })
  )

  it.effect("a claim takes only jobs of the given types; others wait QUEUED", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const [a, b] = [unique("a"), unique("b")]
      const rows = [
        queuedRow({ queue, type: a }),
        queuedRow({ queue, type: b }),
        queuedRow({ queue, type: a }),
        queuedRow({ queue, type: b })
      ]
      yield* store.insert({ jobs: rows })
      const none = yield* claimOf({ workerId: "w-none", token: unique("t"), queues: [queue], types: [] })
      expect(none, "claim: an empty types list claims nothing").toEqual([])
      const onlyA = yield* claimOf({ workerId: "w-a", token: unique("t"), queues: [queue], types: [a] })
      expect(
        onlyA.map((r) => r.type),
        "claim: only jobs of the given types are claimed"
      ).toEqual([a, a])
      for (const row of rows.filter((r) => r.type === b)) {
        expect((yield* getRow(row.id)).status, "claim: a job of another type stays QUEUED").toBe("QUEUED")
      }
      const anyType = yield* claimOf({ workerId: "w-any", token: unique("t"), queues: [queue] })
      expect(
        anyType.map((r) => r.type),
        "claim: without types every type is claimable"
      ).toEqual([b, b])
    })
  )

  it.effect("a type's limit holds whichever worker claims it, whatever other types each can run", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const [limited, other] = [unique("limited"), unique("other")]
      yield* store.insert({
        jobs: [
          queuedRow({ queue, type: limited }),
          queuedRow({ queue, type: limited }),
          queuedRow({ queue, type: other }),
          queuedRow({ queue, type: limited })
        ]
      })
      const typeLimits = { [limited]: 1 }
      const mixed = yield* claimOf({
        workerId: "w-mixed",
        token: unique("t"),
        queues: [queue],
        types: [limited, other],
        typeLimits
      })
      expect(
        mixed.map((r) => r.type).sort(),
        "claim: a worker of both types takes one limited job and the other"
      ).toEqual([limited, other].sort())
      const single = yield* claimOf({
        workerId: "w-single",
        token: unique("t"),
        queues: [queue],
        types: [limited],
        typeLimits
      })
      expect(single, "claim: another worker of the limited type finds its limit full").toEqual([])
      const held = mixed.find((r) => r.type === limited)!
      yield* store.settle({
        workerId: "w-mixed",
        now: T0 + 1,
        settlements: [{ _tag: "Complete", id: held.id, token: held.leaseToken!, progress: null, result: null }]
      })
      const next = yield* claimOf({
        workerId: "w-single",
        token: unique("t"),
        queues: [queue],
        types: [limited],
        typeLimits,
        now: T0 + 1
      })
      expect(
        next.map((r) => r.type),
        "claim: once the limited job settled, the other worker takes one"
      ).toEqual([limited])
    })
  )

  it.effect("a rescued job keeps its place ahead of work queued after it", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const early = queuedRow({ queue, runAt: T0 })
      yield* store.insert({ jobs: [early] })
      yield* claimOf({ workerId: "w-dies", token: unique("t"), queues: [queue] })
      // newer work arrives while the worker is dead
      const later = queuedRow({ queue, runAt: T0 + 500, createdAt: T0 + 500 })
      yield* store.insert({ jobs: [later] })
      yield* store.rescue({ now: T0 + 1_000 })
      expect((yield* getRow(early.id)).runAt, "rescue: the job's runAt is kept").toBe(T0)
      const next = yield* claimOf({
        workerId: "w-next",
        token: unique("t"),
        queues: [queue],
        limit: 1,
        now: T0 + 1_000
      })
      expect(
        next.map((r) => r.id),
        "claim: the rescued job comes before newer work"
      ).toEqual([early.id])
    })
  )
}
