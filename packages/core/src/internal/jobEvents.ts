/**
 * JobEvents: the in-process event bus of one engine. The engine publishes what its actions change, the worker and
 * maintenance publish what they change, and the engine's `events`/`subscribe` read from it. It is a service of its
 * own, found through the context, instead of a public `publish` on the engine or a side channel keyed by the engine.
 *
 * `Jobs.layer` provides a fresh bus beside `Jobs`, so a worker or maintenance built over that layer publishes to the
 * engine it runs with, and two engines in one process stay apart. It is a `Context.Reference` rather than a required
 * service so that the public signatures stay as they were (`Worker.make` needs `Jobs`, which `Jobs.layer` comes
 * with): outside any engine layer it falls back to one process-wide bus.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { JobEvent } from "../Jobs.js"

/** Builds a bus over a hub; subscribers are counted so that publishing costs nothing while nobody listens. */
const over = (hub: PubSub.PubSub<JobEvent>): JobEvents.Service => {
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
}

// sliding: a slow subscriber loses its oldest events instead of holding back the engine or growing without bound
const hubOf = PubSub.sliding<JobEvent>(2 ** 16)

/** The event bus of one engine, shared by the engine, the worker and maintenance. */
export class JobEvents extends Context.Reference<JobEvents>()("@jobloom/core/JobEvents", {
  defaultValue: (): JobEvents.Service => over(Effect.runSync(hubOf))
}) {}

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
export const make: Effect.Effect<JobEvents.Service, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(hubOf, PubSub.shutdown),
  over
)

/** A bus for the life of the layer. */
export const layer: Layer.Layer<JobEvents> = Layer.scoped(JobEvents, make)
