/**
 * Wakes: the doorbells between the worker's parts. The claimer sleeps on `claim` (rung by store signals, the poll,
 * and room made by an ended or settled attempt while a backlog may be left); callback delivery sleeps on
 * `callbacks` (rung when a job with a callback URL became terminal). A part of its own because both are rung from
 * parts that the claimer itself depends on (attempts and the settler).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { Config } from "./Config.js"

/** The doorbells of one worker. */
export class Wakes extends Context.Tag("@jobloom/core/worker/Wakes")<Wakes, Doorbells>() {}

/** The state behind `Wakes`. */
export class Doorbells {
  /**
   * Whether due jobs may be left that a free slot could take: the last claim filled every slot it asked for,
   * failed, or could not ask. After a short claim every due job was taken, so a slot freed by an ending or settled
   * job wakes nobody: new jobs announce themselves (signals), and the poll finds the rest (retries coming due).
   * Under type or queue limits a short claim may only mean a full limit, so room always wakes the claim loop.
   */
  backlog = true

  constructor(
    readonly claim: Queue.Queue<void>,
    readonly callbacks: Queue.Queue<void>,
    private readonly limited: boolean
  ) {}

  /** Wakes the claim loop. */
  wakeClaim(): void {
    this.claim.unsafeOffer(undefined)
  }

  /** A slot or a limit may have opened: wake the claim loop when that could matter. */
  roomMade(): void {
    if (this.backlog || this.limited) this.claim.unsafeOffer(undefined)
  }

  /** A job with a callback became terminal. */
  wakeCallbacks(): void {
    this.callbacks.unsafeOffer(undefined)
  }
}

/** The doorbells, each holding at most one ring. */
export const layer: Layer.Layer<Wakes, never, Config> = Layer.effect(
  Wakes,
  Effect.gen(function* () {
    const config = yield* Config
    return new Doorbells(yield* Queue.dropping<void>(1), yield* Queue.dropping<void>(1), config.limited)
  })
)
