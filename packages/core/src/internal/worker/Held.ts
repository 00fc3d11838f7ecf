/**
 * Held: the attempts this worker holds, and how many handlers execute. The claimer reads it for free slots and
 * back-pressure, the leases part for what to renew, the shutdown to wait until nothing is held, the settler releases
 * what it wrote. Its state is this one small class: a map of held attempts (and a set of the rare older ones), two
 * counters and two latches.
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
   * Older attempts of a job claimed again whose handlers still run (rare): their slots stay taken and the shutdown
   * waits for them too. With `byId`, every attempt not yet done; `size` counts them without a second collection
   * that every job would enter and leave.
   */
  private readonly older = new Set<Attempt>()
  /** Attempts not yet done: held ones and older ones. */
  size = 0
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
    if (attempt.held) return undefined
    const previous = this.byId.get(attempt.id)
    if (previous !== undefined) this.older.add(previous)
    this.byId.set(attempt.id, attempt)
    attempt.held = true
    if (++this.size === 1) {
      this.idle.unsafeClose()
      this.busy.unsafeOpen()
    }
    return previous
  }

  /** Lets go of an attempt whose settlement was written (or that must not be written). */
  release(attempt: Attempt): void {
    if (!attempt.held) return
    attempt.held = false
    if (this.byId.get(attempt.id) === attempt) this.byId.delete(attempt.id)
    else this.older.delete(attempt)
    if (--this.size === 0) {
      this.busy.unsafeClose()
      this.idle.unsafeOpen()
    }
  }

  /** Every attempt not yet done (held and older ones), for the shutdown. */
  all(): Array<Attempt> {
    return [...this.byId.values(), ...this.older]
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
