import { describe, expect, it } from "@effect/vitest"
import { Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import type { Job } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

// `NodeRuntime.runMain` and `Layer.launch` stop a service by interrupting the fiber that holds its layers: the worker's
// graceful shutdown must run to the end then too, not only when its scope is closed by hand.
describe("Worker shutdown", () => {
  it.live("releases running jobs without spending an attempt when the fiber holding Worker.layer is interrupted", () =>
    Effect.gen(function* () {
      const env = yield* Layer.build(Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer)))
      const jobs = Jobs.Jobs.pipe(Effect.provide(env))
      const get = (id: string) => Effect.flatMap(jobs, (j) => j.get(id))
      const job = yield* Effect.flatMap(jobs, (j) => j.enqueue({ type: "delay", params: { seconds: 60 } }))
      const worker = Worker.layer({ pollInterval: "20 millis", flushInterval: "20 millis", gracePeriod: "50 millis" })
      const fiber = yield* Effect.fork(Layer.launch(worker).pipe(Effect.provide(env)))
      const running: Job.Job = yield* get(job.id).pipe(
        Effect.filterOrFail((current) => current.status === "RUNNING"),
        Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 1000 })
      )
      expect(running.attempt).toBe(1)
      yield* Fiber.interrupt(fiber)
      const released = yield* get(job.id)
      expect(released.status, "released to QUEUED").toBe("QUEUED")
      expect(released.attempt, "the attempt is given back").toBe(0)
      expect(released.lease, "lease cleared").toBeNull()
    }).pipe(Effect.scoped)
  )
})
