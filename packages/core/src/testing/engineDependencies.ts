/**
 * The dependencies part of the engine conformance suite (engine and worker end to end over a real store, live time):
 * a dependent runs only after its dependency, a failure cascades with a status event, a delete of a needed job is a
 * `JobHasDependents` unless forced, and a parent spawns children and awaits their results. Registered by
 * `runEngineConformance`.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
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
  gracePeriod: "200 millis"
})

/** Polls (live time) until the job has this status; dies naming the last one after 15 s. */
const awaitStatus = (id: string, status: Job.JobStatus) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const end = (yield* Clock.currentTimeMillis) + 15_000
    for (;;) {
      const job = yield* jobs.get(id)
      if (job.status === status) return job
      if ((yield* Clock.currentTimeMillis) > end) return yield* Effect.dieMessage(`job ${id} is still ${job.status}`)
      yield* Effect.sleep("20 millis")
    }
  })

/** Declares the tests on `it` (the engine conformance suite's, over one store). */
export const engineDependencyTests = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  it.effect("dependencies: run after success, cascade on failure, delete 409 / force, spawn and await", () => {
    const queue = unique("q")
    const Step = JobType.make({
      key: unique("step"),
      queue,
      params: Schema.Struct({ fail: Schema.optional(Schema.Boolean), n: Schema.optional(Schema.Number) }),
      result: Schema.Number,
      retry: { maxAttempts: 1 }
    })
    const Parent = JobType.make({ key: unique("parent"), queue, result: Schema.Number, retry: { maxAttempts: 1 } })
    const order: Array<number> = []
    const handlers = Layer.merge(
      JobType.toLayer(Step, ({ fail, n }) =>
        Effect.suspend(() => {
          order.push(n ?? 0)
          return fail === true ? Effect.fail(new Error("step failed")) : Effect.succeed(n ?? 0)
        })
      ),
      JobType.toLayer(Parent, (_, context) =>
        Effect.gen(function* () {
          const children = yield* context.spawn([
            { type: Step.key, params: { n: 20 } },
            { type: Step.key, params: { n: 22 } }
          ])
          const finished = yield* context.awaitJobs(children.map((child) => child.id))
          return finished.reduce((sum, { result }) => sum + Number(result?.value ?? 0), 0)
        })
      )
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const events = yield* jobs.subscribe()
      const cascaded: Array<string> = []
      yield* Effect.forkScoped(
        Stream.runForEach(events, (event) =>
          Effect.sync(() => {
            if (event._tag === "status" && event.terminalReason === "dependency_failed") cascaded.push(event.jobId)
          })
        )
      )
      // a dependency created but not run: its dependent waits, and a delete of it is refused
      const first = yield* jobs.create({ type: Step.key, params: { n: 1 } })
      const second = yield* jobs.enqueue({ type: Step.key, params: { n: 2 }, dependsOn: [first.job.id] })
      const refused = yield* Effect.flip(jobs.delete(first.job.id))
      expect(refused, "delete: a job others wait on").toMatchObject({ _tag: "JobHasDependents", dependents: 1 })
      yield* Worker.make(fast(queue))
      yield* Effect.sleep("200 millis")
      expect((yield* jobs.get(second.id)).status, "the dependent is not claimed while it waits").toBe("QUEUED")
      yield* jobs.run(first.job.id)
      yield* awaitStatus(second.id, "SUCCEEDED")
      expect(order, "the dependent ran after its dependency").toEqual([1, 2])
      // a failure cascades, with a status event for the job it failed
      // (the dependency runs only once its dependent exists, so the failure is a cascade, not a failure at create)
      const failing = yield* jobs.create({ type: Step.key, params: { fail: true } })
      const doomed = yield* jobs.enqueue({ type: Step.key, dependsOn: [failing.job.id] })
      yield* jobs.run(failing.job.id)
      yield* awaitStatus(doomed.id, "FAILED")
      expect((yield* jobs.get(doomed.id)).terminalReason).toBe("dependency_failed")
      // forced, a delete of an unfinished job fails the job waiting on it
      const held = yield* jobs.create({ type: Step.key })
      const waiter = yield* jobs.enqueue({ type: Step.key, dependsOn: [held.job.id] })
      yield* jobs.delete(held.job.id, { force: true })
      expect((yield* jobs.get(waiter.id)).terminalReason).toBe("dependency_failed")
      // a parent spawns children and awaits their results
      const parent = yield* jobs.enqueue({ type: Parent.key })
      yield* awaitStatus(parent.id, "SUCCEEDED")
      expect((yield* jobs.result(parent.id)).value).toBe(42)
      for (let i = 0; i < 50 && cascaded.length < 2; i++) yield* Effect.sleep("20 millis")
      expect(cascaded.sort(), "a status event for each job the cascade failed").toEqual([doomed.id, waiter.id].sort())
    }).pipe(Effect.scoped, Effect.provide(handlers.pipe(Layer.provideMerge(Jobs.layer()))))
  })
}
