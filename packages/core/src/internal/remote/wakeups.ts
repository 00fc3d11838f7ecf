/**
 * Wake-ups of waiting claims: one subscription to the store's signals for the service, and a latch that opens on
 * every `Enqueued` signal and is replaced at once. A claim takes the current latch before it asks the store, so a job
 * enqueued between its claim and its wait still wakes it. Signals are hints: claims also poll.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { JobStore } from "../../JobStore.js"

/** The latch the next `Enqueued` signal opens. */
export type Wakeups = () => Deferred.Deferred<void>

/** Subscribes for the life of the scope. */
export const make = (store: JobStore.Service): Effect.Effect<Wakeups, never, Scope.Scope> =>
  Effect.gen(function* () {
    let wake = Deferred.unsafeMake<void>(FiberId.none)
    const signals = yield* store.subscribe
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(signals, 1, 1000), (batch) =>
          Effect.sync(() => {
            if (!Chunk.some(batch, (signal) => signal._tag === "Enqueued")) return
            const woken = wake
            wake = Deferred.unsafeMake<void>(FiberId.none)
            Deferred.unsafeDone(woken, Exit.void)
          })
        )
      )
    )
    return () => wake
  })
