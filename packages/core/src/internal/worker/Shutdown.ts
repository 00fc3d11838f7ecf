/**
 * Shutdown: what closing the worker's scope does. It stops claiming, lets running attempts finish for up to the
 * grace period, then stops the rest with reason "shutdown" (their verdict is a release: the lease given back
 * without spending the attempt), waits until nothing is held (every settlement written or given up), and writes
 * what is still pending. The settler, flusher and lease loops outlive it: they were started before it was added.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { Claimer } from "./Claimer.js"
import { Config } from "./Config.js"
import { Flusher } from "./Flusher.js"
import { Held } from "./Held.js"

/** The graceful shutdown of one worker whose claim loop runs in `claimLoop`. */
export const shutdown = (claimLoop: Fiber.Fiber<void>) =>
  Effect.gen(function* () {
    const config = yield* Config
    const claimer = yield* Claimer
    const held = yield* Held
    const flusher = yield* Flusher
    yield* claimer.drain
    yield* Fiber.await(claimLoop)
    // finalizers run uninterruptibly, and the fiber closing this scope may carry a pending interrupt (runMain,
    // Layer.launch): only the inner wait is interruptible, so the timeout can end it, while the interrupt cannot
    yield* Effect.timeoutOption(Effect.interruptible(held.idle.await), config.grace)
    for (const attempt of held.all()) attempt.stop("shutdown")
    yield* held.idle.await
    yield* flusher.flushAll
  })
