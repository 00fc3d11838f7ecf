/**
 * Leases: keeping the leases of held attempts, and noticing when one is gone. Heartbeats renew every held lease;
 * store signals (via the claimer) and, for stores whose signals do not cross processes, a status poll catch a cancel
 * (→ stop "cancel"), a pause (→ stop "pause") or a lease taken away (→ stop "lost"); a watchdog stops attempts whose lease could not be
 * confirmed in time, before another worker can be given the job. Signals are hints: every stop is confirmed by the
 * store's answer about this worker's own claim.
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { JobStore, type StatusChange } from "../../JobStore.js"
import type { Attempt } from "./Attempt.js"
import { Config } from "./Config.js"
import { Held } from "./Held.js"

/** The lease keeper of one worker. */
export class Leases extends Context.Tag("@jobloom/core/worker/Leases")<Leases, Leases.Service>() {}

/** The types of the `Leases` service. */
export declare namespace Leases {
  /** What the other parts call. */
  export interface Service {
    /** Renews these attempts' leases now, and stops those the store says this worker no longer runs. */
    readonly renew: (attempts: ReadonlyArray<Attempt>) => Effect.Effect<void>
    /** Heartbeats, the watchdog and (when the store needs it) the cancel poll, forever (forked by the worker). */
    readonly run: Effect.Effect<void>
  }
}

/** Builds the lease keeper of one worker. */
export const make = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* JobStore
  const held = yield* Held
  const clock: Clock.Clock = yield* Effect.clock
  const { workerId, leaseSafeMs } = config

  /**
   * Stops held attempts the store says this worker no longer runs as RUNNING (by their claim): CANCELLING is a
   * cancel, PAUSING a pause (the first reason wins: a cancel after a pause is settled as the pause, and the store
   * turns it into CANCELLED), anything else or nothing a lost lease.
   */
  const react = (attempts: ReadonlyArray<Attempt>, answer: ReadonlyArray<StatusChange>, renewedAt?: number) => {
    const statuses = new Map(answer.map((c) => [c.id, c.status]))
    for (const attempt of attempts) {
      if (!attempt.running) continue
      const status = statuses.get(attempt.id)
      if (renewedAt !== undefined && status !== undefined) attempt.confirmedUntil = renewedAt + leaseSafeMs
      if (status === "RUNNING") continue
      attempt.stop(status === "CANCELLING" ? "cancel" : status === "PAUSING" ? "pause" : "lost")
    }
  }

  const renew = (attempts: ReadonlyArray<Attempt>): Effect.Effect<void> =>
    attempts.length === 0
      ? Effect.void
      : Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          return store
            .heartbeat({
              workerId,
              leases: attempts.map((a) => ({ id: a.id, token: a.token })),
              now,
              leaseMs: config.leaseMs
            })
            .pipe(
              Effect.map((answer) => react(attempts, answer, now)),
              Effect.catchAll((error) => Effect.logWarning("jobloom: heartbeat failed", error))
            )
        })

  /** Stops attempts whose lease could not be confirmed in time; a fiber of its own, as a renewal may hang. */
  const watchdog = Effect.forever(
    held.busy.await.pipe(
      Effect.zipRight(Effect.sleep(Duration.millis(Math.max(10, Math.min(1000, leaseSafeMs / 4))))),
      Effect.zipRight(
        Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          let lapsed = 0
          for (const attempt of held.byId.values()) {
            if (!attempt.running || attempt.stopped !== null || now < attempt.confirmedUntil) continue
            lapsed++
            attempt.stop("lost")
          }
          return lapsed === 0
            ? Effect.void
            : Effect.logWarning(
                `jobloom: the leases of ${lapsed} jobs could not be renewed in time; their attempts stop`
              )
        })
      )
    )
  )

  const heartbeats = Effect.forever(
    held.busy.await.pipe(
      Effect.zipRight(Effect.sleep(config.heartbeat)),
      Effect.zipRight(Effect.suspend(() => renew(Array.from(held.byId.values()))))
    )
  )

  // a store whose signals stay in this process: cancels and pauses from other processes are found by polling
  const cancelPoll = Effect.forever(
    held.busy.await.pipe(
      Effect.zipRight(Effect.sleep(config.cancelPoll)),
      Effect.zipRight(
        Effect.suspend(() => {
          const attempts = held.running()
          if (attempts.length === 0) return Effect.void
          return store.statuses({ ids: attempts.map((a) => a.id) }).pipe(
            Effect.map((answer) => react(attempts, answer)),
            Effect.catchAll((error) => Effect.logWarning("jobloom: status poll failed", error))
          )
        })
      )
    )
  )

  const loops = store.crossProcessSignals ? [heartbeats, watchdog] : [heartbeats, watchdog, cancelPoll]
  const service: Leases.Service = {
    renew,
    run: Effect.all(loops, { concurrency: "unbounded", discard: true })
  }
  return service
})

/** The lease keeper, over the worker's config, held attempts and the store. */
export const layer: Layer.Layer<Leases, never, Config | JobStore | Held> = Layer.effect(Leases, make)
