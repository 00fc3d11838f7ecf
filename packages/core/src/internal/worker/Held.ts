/**
 * Held: the attempts this worker holds, and how many handlers execute. The claimer reads it for free slots and
 * back-pressure, the leases part for what to renew, the shutdown to wait until nothing is held, the settler releases
 * what it wrote. Its state is this one small class: two collections, a counter and two latches.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Attempt } from "./Attempt.js"

/** The attempts one worker holds. */
export class Held extends Context.Tag("@jobloom/core/worker/Held")<Held, HeldAttempts>() {}

/** The state behind `Held`. */
export class HeldAttempts {
  /** The attempt of each job this worker holds (the newest, when it claimed a job again after losing it). */
  readonly byId = new Map<string, Attempt>()
  /**
   * Every attempt not yet done: held ones, and older attempts of a job claimed again whose handlers still run (their
   * slots stay taken and the shutdown waits for them too).
   */
  readonly all = new Set<Attempt>()
  /** Handlers executing now. */
  executing = 0

  constructor(
    /** Open while nothing is held. */
    readonly idle: Effect.Latch,
    /** Open while something is held: the lease loops sleep on it. */
    readonly busy: Effect.Latch
  ) {}

  /** Holds a claimed attempt; answers the older attempt of the same job, if one still runs here. */
  hold(attempt: Attempt): Attempt | undefined {
    const previous = this.byId.get(attempt.id)
    this.byId.set(attempt.id, attempt)
    this.all.add(attempt)
    if (this.all.size === 1) {
      this.idle.unsafeClose()
      this.busy.unsafeOpen()
    }
    return previous
  }

  /** Lets go of an attempt whose settlement was written (or that must not be written). */
  release(attempt: Attempt): void {
    if (!this.all.delete(attempt)) return
    if (this.byId.get(attempt.id) === attempt) this.byId.delete(attempt.id)
    if (this.all.size === 0) {
      this.busy.unsafeClose()
      this.idle.unsafeOpen()
    }
  }

  /** The held attempts whose handlers still run. */
  running(): Array<Attempt> {
    const attempts: Array<Attempt> = []
    for (const attempt of this.byId.values()) if (attempt.running) attempts.push(attempt)
    return attempts
  }
}

/** An empty set of held attempts. */
export const layer: Layer.Layer<Held> = Layer.effect(
  Held,
  Effect.zipWith(Effect.makeLatch(true), Effect.makeLatch(false), (idle, busy) => new HeldAttempts(idle, busy))
)
