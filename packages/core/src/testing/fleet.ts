/**
 * Engine conformance of mixed fleets: workers with different handler sets on one store each claim only the types
 * they can run. Registered by `runEngineConformance`.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { uuidv7 } from "uuidv7"
import type * as Job from "../Job.js"
import type { JobStore } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Jobs from "../Jobs.js"
import * as Worker from "../Worker.js"

const unique = (prefix: string) => `${prefix}-${uuidv7().slice(-12)}`

const fast = (queue: string): Worker.WorkerOptions => ({
  queues: [queue],
  concurrency: 5,
  pollInterval: "50 millis",
  heartbeatInterval: "100 millis",
  leaseDuration: "2 seconds",
  cancelPollInterval: "50 millis",
  flushInterval: "20 millis",
  rescueInterval: "100 millis",
  expireInterval: "100 millis",
  gracePeriod: "200 millis"
})

/** Polls (live time) until every job is terminal; dies naming a job still open after `seconds`. */
const awaitTerminal = (jobs: Jobs.Jobs.Service, ids: ReadonlyArray<string>, seconds = 30) =>
  Effect.gen(function* () {
    const end = (yield* Clock.currentTimeMillis) + seconds * 1000
    const done = new Map<string, Job.Job>()
    for (;;) {
      for (const id of ids) {
        if (done.has(id)) continue
        const job = yield* jobs.get(id)
        if (job.finishedAt !== null) done.set(id, job)
      }
      if (done.size === ids.length) return ids.map((id) => done.get(id)!)
      if ((yield* Clock.currentTimeMillis) > end) {
        const open = ids.find((id) => !done.has(id))!
        return yield* Effect.dieMessage(`job ${open} is still ${(yield* jobs.get(open)).status}`)
      }
      yield* Effect.sleep("20 millis")
    }
  })

/** Declares the tests inside the engine conformance suite's `describe` block. */
export const fleetTests = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  it.effect("workers with different handler sets on one store each run only their own types", () => {
    const queue = unique("q")
    const A = JobType.make({ key: unique("a"), queue })
    const B = JobType.make({ key: unique("b"), queue })
    const ranOn = new Map<string, Array<string>>()
    const record = (label: string) => (_: unknown, context: JobType.JobContext) =>
      Effect.sync(() => {
        ranOn.set(context.job.id, [...(ranOn.get(context.job.id) ?? []), label])
      })
    // each worker has an engine (registry) of its own over the one store: only its type has a handler there
    const engineOf = (handlers: Layer.Layer<never, never, JobType.JobRegistry>) =>
      handlers.pipe(Layer.provideMerge(Jobs.layer({ types: [A, B] })))
    return Effect.gen(function* () {
      const onlyA = yield* Layer.build(engineOf(JobType.toLayer(A, record("worker-a"))))
      const onlyB = yield* Layer.build(engineOf(JobType.toLayer(B, record("worker-b"))))
      yield* Worker.make(fast(queue)).pipe(Effect.provide(onlyA))
      yield* Worker.make(fast(queue)).pipe(Effect.provide(onlyB))
      const jobs = yield* Jobs.Jobs.pipe(Effect.provide(onlyA))
      const created = yield* Effect.forEach(Array.from({ length: 40 }), (_, i) =>
        jobs.enqueue({ type: i % 2 === 0 ? A.key : B.key })
      )
      const ended = yield* awaitTerminal(
        jobs,
        created.map((job) => job.id)
      )
      expect(
        ended.map((job) => [job.status, job.attempt]),
        "every job SUCCEEDED in one attempt"
      ).toEqual(Array(40).fill(["SUCCEEDED", 1]))
      for (const job of ended) {
        const expected = job.type === A.key ? "worker-a" : "worker-b"
        expect(ranOn.get(job.id), `job ${job.id} of ${job.type} ran once, on ${expected}`).toEqual([expected])
      }
    }).pipe(Effect.scoped)
  })
}
