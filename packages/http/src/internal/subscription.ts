/**
 * The start of both event routes: subscribe to the engine's events in a scope of the stream's own (buffered in a
 * queue from that moment), then read what the snapshot needs, so nothing between the read and the first event is
 * missed. Both happen before any byte is sent; `close` ends the subscription.
 */
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Runner } from "./runner.js"

/** An open subscription: its scope, how to close it, and the buffer with the snapshot's read (or why it failed). */
export interface Opened<A> {
  readonly scope: Scope.CloseableScope
  readonly close: () => Promise<unknown>
  readonly setup: Exit.Exit<{ readonly queue: Queue.Queue<Jobs.JobEvent>; readonly value: A }, unknown>
}

/** Subscribes with `subscribe`, then runs `read`; a failed read leaves the scope open for the caller to close. */
export const open = async <A, E>(
  runner: Runner,
  subscribe: (jobs: Jobs.Jobs.Service) => ReturnType<Jobs.Jobs.Service["subscribe"]>,
  read: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, E>
): Promise<Opened<A>> => {
  const scopeExit = await runner.runExit(Scope.make())
  if (Exit.isFailure(scopeExit)) throw new Error("could not open a scope")
  const scope = scopeExit.value
  const setup = await runner.runExit(
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const events = yield* Scope.extend(subscribe(jobs), scope)
      const queue = yield* Queue.unbounded<Jobs.JobEvent>()
      yield* Effect.forkIn(
        Stream.runForEach(events, (event) => Queue.offer(queue, event)),
        scope
      )
      const value = yield* read(jobs)
      return { queue, value }
    })
  )
  return { scope, close: () => runner.runExit(Scope.close(scope, Exit.void)), setup }
}
