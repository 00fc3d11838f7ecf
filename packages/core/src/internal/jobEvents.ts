/**
 * JobEvents: the in-process event bus of one engine. The engine publishes what its actions change, the worker and
 * maintenance publish what they change, and the engine's `events`/`subscribe` read from it. It is a service of its
 * own, found through the context, instead of a public `publish` on the engine or a side channel keyed by the engine.
 *
 * `Jobs.layer` provides a fresh bus beside `Jobs`, and the engine attaches its bus to its own service (`attach`):
 * the worker, the remote worker and maintenance, which all require `Jobs`, read the bus from the engine they are
 * given (`ofJobs`), however that engine reached them (built over `Jobs.layer`, merged beside it and provided later,
 * or handed over as a bare service), so two engines in one process stay apart and no publisher talks to a bus nobody
 * reads. It stays a `Context.Reference` for the engine's own construction: outside any engine layer it falls back to
 * one process-wide bus.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { Jobs, JobEvent } from "../Jobs.js"

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

// a symbol property rather than a field of the public `Jobs` interface: hosts never see it, and a wrapper that
// spreads the service (`{ ...jobs, get }`) keeps it
const busKey = Symbol.for("@jobloom/core/JobEvents/bus")

/** Attaches the engine's bus to its service, so whatever is given the engine publishes to its subscribers. */
export const attach = <A extends object>(jobs: A, bus: JobEvents.Service): A => Object.assign(jobs, { [busKey]: bus })

/** The bus of this engine; an engine built without `attach` (a test double) gets the one in context. */
export const ofJobs = (jobs: Jobs.Service): Effect.Effect<JobEvents.Service> => {
  const bus = (jobs as { readonly [busKey]?: JobEvents.Service })[busKey]
  return bus === undefined ? JobEvents : Effect.succeed(bus)
}
