// Shared pieces of the Jobs tests: a job type with every default set, an engine over a memory store, and jobs
// brought to any status through the engine and the store.
import { assert } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** The claim token of these tests' claims (every worker write names its claim's token). */
export const TOKEN = "test-claim"

/** A job type with every default set, stages and a compacted result: the engine's full surface. */
export const Images = JobType.make({
  key: "images",
  name: "Process images",
  params: Schema.Struct({
    images: Schema.Array(Schema.String).pipe(Schema.minItems(1)),
    size: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 512 })
  }),
  result: Schema.Struct({ detections: Schema.Array(Schema.String) }),
  stages: [
    { key: "detect", name: "Detect", params: [{ key: "found", name: "Found", category: "count" }] },
    { key: "classify", name: "Classify" }
  ],
  retry: { maxAttempts: 5 },
  timeout: "1 minute",
  queue: "ml",
  priority: 3,
  compact: (result) => ({ count: result.detections.length })
})

/** An engine over a fresh memory store, with `Images` and the built-in types registered. */
export const TestLayer = Jobs.layer({ types: [Images] }).pipe(Layer.provideMerge(MemoryJobStore.layer))

/** The input of an `images` job; `extra` wins. */
export const images = (extra: Partial<Jobs.CreateJob> = {}): Jobs.CreateJob => ({
  type: "images",
  params: { images: ["a.jpg"] },
  ...extra
})

/** Claims the one queued job of `queue` as worker `w1`. */
export const claim = (queue: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const rows = yield* store.claim({
      token: TOKEN,
      workerId: "w1",
      now: yield* Effect.clockWith((clock) => clock.currentTimeMillis),
      leaseMs: 60_000,
      limit: 1,
      queues: [queue],
      typeLimits: {},
      queueLimits: {}
    })
    assert.strictEqual(rows.length, 1)
    return rows[0]
  })

/** Settles one job as worker `w1`, expecting the settlement to apply. */
export const settle = (settlement: JobStore.Settlement) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const changes = yield* store.settle({ workerId: "w1", now, settlements: [settlement] })
    assert.strictEqual(changes.length, 1)
  })

/** A job brought to `status` through the engine and the store, alone in its own queue. */
export const jobIn = (status: Job.JobStatus) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const queue = `q-${status}-${Math.random()}`
    const { job } = yield* jobs.create(images({ queue }), { startNow: status !== "CREATED" })
    switch (status) {
      case "CREATED":
      case "QUEUED":
        return job
      case "PAUSED":
        return yield* jobs.pause(job.id)
      case "CANCELLED":
        return yield* jobs.cancel(job.id)
      case "RUNNING":
        yield* claim(queue)
        return yield* jobs.get(job.id)
      case "CANCELLING":
        yield* claim(queue)
        return yield* jobs.cancel(job.id)
      case "SUCCEEDED":
        yield* claim(queue)
        yield* settle({
          _tag: "Complete",
          id: job.id,
          token: TOKEN,
          progress: null,
          result: { id: `r-${job.id}`, value: JSON.stringify({ detections: ["moth", "beetle"] }) }
        })
        return yield* jobs.get(job.id)
      case "FAILED":
      case "TIMED_OUT":
        yield* claim(queue)
        yield* settle({
          _tag: "Fail",
          id: job.id,
          token: TOKEN,
          status,
          reason: status === "FAILED" ? "error" : "timeout",
          lastError: JSON.stringify({ message: "boom", at: Job.formatTime(0) }),
          progress: null
        })
        return yield* jobs.get(job.id)
    }
  })

/** The actions a user can take on a job by id. */
export const userActions = ["run", "cancel", "retry", "pause", "resume"] as const

/** Takes a user action on a job by id. */
export const act = (jobs: Jobs.Jobs.Service, action: (typeof userActions)[number], id: string) => jobs[action](id)
