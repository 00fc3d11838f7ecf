/**
 * The insert part of the store conformance suite: `insert` and `get` keep every field, insert all or none, and
 * honour idempotency keys (held by non-terminal jobs only, decided in input order). Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { comparable, errorText, getRow, isMissing, unique, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const insertTests = (it: StoreIt): void => {
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

  it.effect("insert keeps the creating trace context, with or without an idempotency key", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const traceContext = (n: number) =>
        `00-${"4bf92f3577b34da6a3ce929d0e0e47".padEnd(32, String(n))}-00f067aa0ba902b${n}-01`
      const unkeyed = makeRow({ traceContext: traceContext(1) })
      const keyed = makeRow({ idempotencyKey: unique("key"), traceContext: traceContext(2) })
      const none = makeRow({ traceContext: null })
      yield* store.insert({ jobs: [unkeyed] })
      yield* store.insert({ jobs: [keyed, none] })
      expect((yield* getRow(unkeyed.id)).traceContext, "insert: a job without a key keeps its trace context").toBe(
        traceContext(1)
      )
      expect((yield* getRow(keyed.id)).traceContext, "insert: a job with a key keeps its trace context").toBe(
        traceContext(2)
      )
      expect((yield* getRow(none.id)).traceContext ?? null, "insert: a job without a trace context reads none").toBe(
        null
      )
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
}
