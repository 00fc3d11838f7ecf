/**
 * A handler's children: `spawn` creates jobs linked to the running job (`metadata.parentId`, its owner), and
 * `awaitJobs` waits until given jobs are terminal and returns them with their results.
 *
 * Both reach the engine through the handler's own environment (a worker runs handlers with the services it was built
 * with, `Jobs` among them). `awaitJobs` subscribes to the engine's events before it reads the jobs, so no end between
 * the read and the wait is missed, and waits on events, not on a poll; its subscription closes with it (interruption
 * included). A slow re-read (every 5 s) also sees ends that no event of this process told of (a settle made by a
 * worker of another process).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Job, JobResult } from "../Job.js"
import { isTerminal } from "../Job.js"
import type { IdempotencyKeyHeld, InvalidInput, InvalidParams, JobNotFound, UnknownJobType } from "../JobError.js"
import type { JobStoreError } from "../JobStore.js"
import * as Jobs from "../Jobs.js"

/** A finished job with its result (null when it stored none, or did not succeed). */
export interface Finished {
  readonly job: Job
  readonly result: JobResult | null
}

/** What spawning can fail with. */
export type SpawnError = UnknownJobType | InvalidParams | InvalidInput | IdempotencyKeyHeld | JobStoreError

// a function, not a constant: `Jobs.ts` is still loading when this module is (Jobs → engine → context → here)
const engine = (): Effect.Effect<Jobs.Jobs.Service> =>
  Effect.flatMap(Effect.serviceOption(Jobs.Jobs), (jobs) =>
    Option.isSome(jobs)
      ? Effect.succeed(jobs.value)
      : Effect.dieMessage("jobloom: spawn and awaitJobs need the engine (Jobs) in the handler's environment")
  )

/** Creates child jobs of `parent` in one batch: `metadata.parentId` is the parent's id, the owner the parent's. */
export const spawn = (
  parent: Job,
  inputs: ReadonlyArray<Jobs.CreateJob>,
  options?: { readonly startNow?: boolean }
): Effect.Effect<ReadonlyArray<Job>, SpawnError> =>
  inputs.length === 0
    ? Effect.succeed([])
    : Effect.flatMap(engine(), (jobs) =>
        Effect.map(
          jobs.createMany(
            inputs.map((input) => ({
              ...input,
              owner: input.owner === undefined ? parent.owner : input.owner,
              metadata: { ...input.metadata, parentId: parent.id }
            })),
            { startNow: options?.startNow ?? true }
          ),
          (outcome) => outcome.jobs
        )
      )

const interval = Duration.seconds(5)

/** Waits until every job of `ids` is terminal; answers them in the order given, each with its result. */
export const awaitJobs = (
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Finished>, JobNotFound | JobStoreError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const jobs = yield* engine()
      const wanted = new Set(ids)
      const events = yield* jobs.subscribe()
      const open = new Set<string>()
      for (const id of wanted) if (!isTerminal((yield* jobs.get(id)).status)) open.add(id)
      if (open.size > 0) {
        const ends = events.pipe(
          Stream.filter((event) => event._tag === "status" && open.has(event.jobId) && isTerminal(event.status)),
          Stream.map((event) => event.jobId)
        )
        const rereads = Stream.repeatEffect(
          Effect.delay(
            Effect.filter(Array.from(open), (id) => Effect.map(jobs.get(id), (job) => isTerminal(job.status))),
            interval
          )
        ).pipe(Stream.flattenIterables)
        yield* Stream.merge(ends, rereads).pipe(
          Stream.takeUntil((id) => {
            open.delete(id)
            return open.size === 0
          }),
          Stream.runDrain
        )
      }
      return yield* Effect.forEach(ids, (id) =>
        Effect.gen(function* () {
          const job = yield* jobs.get(id)
          const result =
            job.resultId === null
              ? null
              : yield* jobs.result(id).pipe(
                  Effect.map((r): JobResult | null => r),
                  Effect.catchTag("ResultNotFound", () => Effect.succeed(null))
                )
          return { job, result }
        })
      )
    })
  )
