/**
 * JobEvents: the in-process event bus of one engine. The engine publishes what its actions change, the worker and
 * maintenance publish what they change, and the engine's `events`/`subscribe` read from it. It is a service of its
 * own (provided by `Jobs.layer` beside `Jobs`) so that every part finds the same hub through the context, instead of
 * a public `publish` on the engine or a side channel keyed by the engine.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { JobEvent } from "../Jobs.js"

/** The event bus of one engine, shared by the engine, the worker and maintenance. */
export class JobEvents extends Context.Tag("@jobloom/core/JobEvents")<JobEvents, JobEvents.Service>() {}

/** The types of the `JobEvents` service. */
export declare namespace JobEvents {
  /** What publishers and the engine's subscriptions see. */
  export interface Service {
    /** Whether anyone listens now: publishers build events only then (the worker's hot path). */
    readonly listening: () => boolean
    /** Publishes one event (nothing when nobody listens). */
    readonly publish: (event: JobEvent) => Effect.Effect<void>
    /** Publishes events in order (nothing when nobody listens). */
    readonly publishAll: (events: Iterable<JobEvent>) => Effect.Effect<void>
    /** Subscribes for the life of the scope: every event from now on. */
    readonly subscribe: Effect.Effect<Queue.Dequeue<JobEvent>, never, Scope.Scope>
  }
}

/** Builds a bus that lives as long as the scope. */
export const make: Effect.Effect<JobEvents.Service, never, Scope.Scope> = Effect.gen(function* () {
  // sliding: a slow subscriber loses its oldest events instead of holding back the engine or growing without bound
  const hub = yield* Effect.acquireRelease(PubSub.sliding<JobEvent>(2 ** 16), PubSub.shutdown)
  // subscribers are counted so that publishing costs nothing while nobody listens
  let listeners = 0
  const counted = Effect.acquireRelease(
    Effect.sync(() => {
      listeners++
    }),
    () =>
      Effect.sync(() => {
        listeners--
      })
  )
  return {
    listening: () => listeners > 0,
    publish: (event) => (listeners === 0 ? Effect.void : Effect.asVoid(PubSub.publish(hub, event))),
    publishAll: (events) => (listeners === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(hub, events))),
    subscribe: Effect.zipRight(counted, PubSub.subscribe(hub))
  }
})

/** A bus for the life of the layer. */
export const layer: Layer.Layer<JobEvents> = Layer.scoped(JobEvents, make)
