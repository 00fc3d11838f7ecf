/**
 * The engine behind the `Jobs` service: Schema work on the way in, the state machine on every action, guarded store
 * writes; events go to the `JobEvents` bus.
 *
 * Imports of `../Jobs.js` values are used only inside functions: `Jobs.ts` imports this module for its `layer`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Delay from "../Delay.js"
import * as Jobs from "../Jobs.js"
import type { JobStore } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Actions from "./engine/actions.js"
import * as Create from "./engine/create.js"
import * as Events from "./engine/events.js"
import * as Reads from "./engine/reads.js"
import * as Shared from "./engine/shared.js"
import { attach, layer as JobEventsLayer } from "./jobEvents.js"

/** Options of the engine. */
export type Options = Shared.Options

/** The `Jobs` service, assembled from the engine's modules over their shared parts. */
export const make = (options: Options = {}): Effect.Effect<Jobs.Jobs.Service, never, JobStore | JobType.JobRegistry> =>
  Effect.gen(function* () {
    const shared = yield* Shared.make(options)
    const { create, createMany } = Create.make(shared)
    const service: Jobs.Jobs.Service = {
      create,
      createMany,
      enqueue: (input) => Effect.map(create(input, { startNow: true }), (outcome) => outcome.job),
      ...Actions.make(shared),
      ...Reads.make(shared),
      ...Events.make(shared)
    }
    // the worker, the remote worker and maintenance find the engine's bus through its service
    return attach(service, shared.bus)
  })

/**
 * The engine with a fresh registry holding `types` and the built-in `delay` type with its handler, and the event bus
 * the worker and maintenance publish to.
 */
export const layer = (options: Options = {}): Layer.Layer<Jobs.Jobs | JobType.JobRegistry, never, JobStore> => {
  const registry = Layer.sync(JobType.JobRegistry, () => {
    const registry: JobType.JobRegistry.Service = { types: new Map(), handlers: new Map() }
    for (const type of options.types ?? []) registry.types.set(type.key, type)
    return registry
  })
  return Layer.effect(Jobs.Jobs, make(options)).pipe(
    Layer.merge(Delay.layer),
    Layer.provideMerge(registry),
    Layer.provideMerge(JobEventsLayer)
  )
}
