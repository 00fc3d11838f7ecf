/**
 * The engine's event streams: `events` and `subscribe` over the `JobEvents` bus, narrowed to one job or a scope.
 *
 * A job that a dependency's end failed was written by the store itself (a trigger, or the memory store's cascade), in
 * whatever write ended the dependency, possibly in another process: the store tells of it with a `Changed` signal
 * (`reason` `dependency_failed`), and each subscription turns those into status events beside the bus's own.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as Jobs from "../../Jobs.js"
import type { StoreSignal } from "../../JobStore.js"
import * as JobScope from "../../JobScope.js"
import * as ScopedEvents from "../scopedEvents.js"
import type { Shared } from "./shared.js"

/** The status events of the jobs a dependency's end failed, from the store's signals. */
const cascaded = (signals: Queue.Dequeue<StoreSignal>): Stream.Stream<Jobs.JobEvent> =>
  Stream.filterMap(Stream.fromQueue(signals), (signal) =>
    signal._tag === "Changed" && signal.reason === "dependency_failed"
      ? Option.some<Jobs.JobEvent>({
          _tag: "status",
          jobId: signal.id,
          status: signal.status,
          terminalReason: "dependency_failed"
        })
      : Option.none()
  )

/** `events` and `subscribe` over the shared parts. */
export const make = ({ bus, store }: Shared) => {
  const forJob =
    (options?: { readonly jobId?: string; readonly scope?: JobScope.JobScope }) =>
    (stream: Stream.Stream<Jobs.JobEvent>): Stream.Stream<Jobs.JobEvent> =>
      ScopedEvents.filter(
        store,
        options?.scope
      )(options?.jobId === undefined ? stream : Stream.filter(stream, (event) => event.jobId === options.jobId))

  // both subscribed before the stream is handed out, so nothing between subscribing and reading is missed
  const both = Effect.zipWith(bus.subscribe, store.subscribe, (events, signals) =>
    Stream.merge(Stream.fromQueue(events), cascaded(signals))
  )

  const service: Pick<Jobs.Jobs.Service, "events" | "subscribe"> = {
    events: (options) => forJob(options)(Stream.unwrapScoped(both)),
    subscribe: (options) => Effect.map(both, forJob(options))
  }
  return service
}
