/**
 * The signals part of the store conformance suite: `subscribe` hears Enqueued and Changed after the writes that
 * cause them. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { StoreSignal } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import { unique, type StoreIt } from "./support.js"

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

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const signalTests = (it: StoreIt): void => {
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
}
