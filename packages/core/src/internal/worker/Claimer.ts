/**
 * Claimer: takes due jobs from the store into free slots, in batches, with back-pressure. A full batch means more
 * may be due, so it claims again at once; otherwise it sleeps until woken: by a store signal for one of its queues,
 * by room made while a backlog may be left (`Wakes`), or by the fallback poll. When settling falls behind (a slow
 * store), held attempts pile up and claiming pauses. The store's signals are read here too: status changes of held
 * jobs go to `Leases` to be confirmed.
 */
import { randomUUID } from "node:crypto"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as JobMetrics from "../../JobMetrics.js"
import { JobStore } from "../../JobStore.js"
import * as JobTracing from "../../JobTracing.js"
import type { Attempt } from "./Attempt.js"
import { Config } from "./Config.js"
import { Held } from "./Held.js"
import { Launcher } from "./Launcher.js"
import { Leases } from "./Leases.js"
import { Wakes } from "./Wakes.js"

/** The claimer of one worker. */
export class Claimer extends Context.Tag("@jobloom/core/worker/Claimer")<Claimer, Claimer.Service>() {}

/** The types of the `Claimer` service. */
export declare namespace Claimer {
  /** What the worker runs and stops. */
  export interface Service {
    /** The claim loop; it ends once `drain` was called. */
    readonly run: Effect.Effect<void>
    /** The fallback poll and the store-signal reader, forever. */
    readonly listen: Effect.Effect<void>
    /** Stops claiming: the claim loop ends at its next turn. */
    readonly drain: Effect.Effect<void>
  }
}

/** Builds the claimer of one worker; subscribes to the store's signals for the life of the scope. */
export const make = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* JobStore
  const held = yield* Held
  const launcher = yield* Launcher
  const leases = yield* Leases
  const wakes = yield* Wakes
  const clock: Clock.Clock = yield* Effect.clock
  const { workerId } = config
  const queueSet = new Set(config.queues)
  let draining = false

  /** One claim: true when it filled every free slot (more may be due). */
  const claimOnce: Effect.Effect<boolean> = Effect.suspend(() => {
    // back-pressure: when settling falls behind (a slow store), held jobs pile up and claiming pauses
    const free = Math.min(config.concurrency - held.executing, config.maxHeld - held.size)
    if (free <= 0 || config.queues.length === 0 || config.types.length === 0) {
      wakes.backlog = true
      return Effect.succeed(false)
    }
    const now = clock.unsafeCurrentTimeMillis()
    // a fresh token per claim: the jobs it takes are held by it, and every later write about them names it
    const token = randomUUID()
    return JobTracing.claim(
      store.claim({
        workerId,
        token,
        now,
        leaseMs: config.leaseMs,
        limit: free,
        queues: config.queues,
        types: config.types,
        typeLimits: config.typeLimits,
        queueLimits: config.queueLimits
      }),
      { workerId, limit: free }
    ).pipe(
      Effect.flatMap((rows) => {
        JobMetrics.recordClaimed(rows)
        if (rows.length < free) wakes.backlog = false
        return rows.length === 0
          ? Effect.succeed(false)
          : Effect.as(launcher.start(rows, token, now), rows.length === free)
      }),
      Effect.catchAll((error) => {
        wakes.backlog = true
        return Effect.as(Effect.logWarning("jobloom: claim failed", error), false)
      })
    )
  })

  // a full batch means more may be due: claim again at once; otherwise wait for a signal, a free slot or the poll
  const claimLoop: Effect.Effect<void> = Effect.suspend(() =>
    draining
      ? Effect.void
      : Effect.flatMap(claimOnce, (full) => (full ? claimLoop : Effect.zipRight(Queue.take(wakes.claim), claimLoop)))
  )

  // the fallback poll: one timer for the worker's life rather than one per wait
  const poller = Effect.forever(
    Effect.zipRight(
      Effect.sleep(config.poll),
      Effect.sync(() => wakes.wakeClaim())
    )
  )

  const signals = yield* store.subscribe
  const signalReader = Effect.forever(
    Effect.flatMap(Queue.takeBetween(signals, 1, 1000), (batch) => {
      let wake = false
      let changed: Set<Attempt> | undefined
      for (const signal of batch) {
        if (signal._tag === "Enqueued") {
          if (queueSet.has(signal.queue)) wake = true
        } else if (signal.status !== "RUNNING") {
          const attempt = held.byId.get(signal.id)
          if (attempt?.running) (changed ??= new Set()).add(attempt)
        }
      }
      if (wake) wakes.wakeClaim()
      // signals are hints and may be stale: confirm with the store (lease owner included) before stopping anything
      return changed === undefined ? Effect.void : leases.renew(Array.from(changed))
    })
  )

  const service: Claimer.Service = {
    run: claimLoop,
    listen: Effect.all([signalReader, poller], { concurrency: "unbounded", discard: true }),
    drain: Effect.sync(() => {
      draining = true
      wakes.wakeClaim()
    })
  }
  return service
})

/** The claimer, over the worker's other parts and the store. */
export const layer: Layer.Layer<Claimer, never, Config | JobStore | Held | Launcher | Leases | Wakes> = Layer.scoped(
  Claimer,
  make
)
