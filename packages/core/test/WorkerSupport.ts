// Shared pieces of the worker tests: an engine over a memory store, and waiting for a job under TestClock.
import { Job, JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"

/** An engine (Jobs, registry, memory store) with `types` and their handlers registered. */
export const engine = (
  types: ReadonlyArray<JobType.Any>,
  handlers: Layer.Layer<never, never, JobType.JobRegistry> = Layer.empty,
  store: Layer.Layer<JobStore.JobStore> = MemoryJobStore.layer
) => handlers.pipe(Layer.provideMerge(Jobs.layer({ types })), Layer.provideMerge(store))

/**
 * Moves the TestClock in small steps until the job satisfies `until`; fails naming the last status when it never
 * does within `within` of simulated time.
 */
export const awaitJob = (
  id: string,
  until: (job: Job.Job) => boolean,
  options: { readonly step?: Duration.DurationInput; readonly within?: Duration.DurationInput } = {}
) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const step = Duration.toMillis(options.step ?? "50 millis")
    const start = yield* Clock.currentTimeMillis
    const end = start + Duration.toMillis(options.within ?? "2 minutes")
    for (;;) {
      const job = yield* jobs.get(id)
      if (until(job)) return job
      if ((yield* Clock.currentTimeMillis) >= end) {
        return yield* Effect.dieMessage(`job ${id} is still ${job.status} (attempt ${job.attempt})`)
      }
      yield* TestClock.adjust(step)
    }
  })

/** Waits until the job has this status. */
export const awaitStatus = (id: string, status: Job.JobStatus, options?: Parameters<typeof awaitJob>[2]) =>
  awaitJob(id, (job) => job.status === status, options)

/** The messages of a job's log, oldest first. */
export const logMessages = (id: string) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const page = yield* jobs.logs(id, { limit: 5000 })
    return page.items.map((line) => line.message).reverse()
  })

/** Lets every fiber that can run, run (without moving the clock). */
export const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
  yield* TestClock.adjust(0)
})
