/**
 * The engine's event streams: `events` and `subscribe` over the `JobEvents` bus, narrowed to one job or a scope.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Jobs from "../../Jobs.js"
import * as JobScope from "../../JobScope.js"
import * as ScopedEvents from "../scopedEvents.js"
import type { Shared } from "./shared.js"

/** `events` and `subscribe` over the shared parts. */
export const make = ({ bus, store }: Shared) => {
  const forJob =
    (options?: { readonly jobId?: string; readonly scope?: JobScope.JobScope }) =>
    (stream: Stream.Stream<Jobs.JobEvent>): Stream.Stream<Jobs.JobEvent> =>
      ScopedEvents.filter(
        store,
        options?.scope
      )(options?.jobId === undefined ? stream : Stream.filter(stream, (event) => event.jobId === options.jobId))

  const service: Pick<Jobs.Jobs.Service, "events" | "subscribe"> = {
    events: (options) =>
      forJob(options)(Stream.flatMap(Stream.scoped(bus.subscribe), (queue) => Stream.fromQueue(queue))),
    subscribe: (options) => Effect.map(bus.subscribe, (queue) => forJob(options)(Stream.fromQueue(queue)))
  }
  return service
}
