/**
 * The update part of the store conformance suite: a patch applies only from the given statuses, and never gives an
 * idempotency key to a second non-terminal job. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { comparable, getRow, insertRows, unique, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const updateTests = (it: StoreIt): void => {
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
}
