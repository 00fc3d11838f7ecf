/**
 * A many-job event stream narrowed to a caller's scope. Most events carry only a job id, so whether a job is inside
 * is read once from the store (or from its `created` event) and remembered for the life of the stream.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Jobs from "../Jobs.js"
import * as JobScope from "../JobScope.js"
import type { JobStore } from "../JobStore.js"

/** How many jobs' answers a stream remembers; the oldest is forgotten first (and read again if it speaks again). */
const remembered = 10_000

/** Keeps the events of jobs inside `scope`; every event when the scope sees every job. */
export const filter =
  (store: JobStore.Service, scope: JobScope.JobScope | undefined) =>
  (stream: Stream.Stream<Jobs.JobEvent>): Stream.Stream<Jobs.JobEvent> => {
    if (scope?.owners === undefined) return stream
    return Stream.suspend(() => {
      const inside = new Map<string, boolean>()
      const remember = (jobId: string, answer: boolean) => {
        if (inside.size >= remembered) inside.delete(inside.keys().next().value as string)
        inside.set(jobId, answer)
        return answer
      }
      return Stream.filterEffect(stream, (event) => {
        if (event._tag === "created") return Effect.succeed(remember(event.jobId, JobScope.contains(scope, event.job)))
        const known = inside.get(event.jobId)
        if (known !== undefined) return Effect.succeed(known)
        // a deleted job cannot be read any more: unknown, it is not shown
        if (event._tag === "deleted") return Effect.succeed(false)
        return store.get({ id: event.jobId }).pipe(
          Effect.map((row) => remember(event.jobId, Option.isSome(row) && JobScope.contains(scope, row.value))),
          // a store that cannot answer shows nothing rather than something outside the scope
          Effect.orElseSucceed(() => false)
        )
      })
    })
  }
