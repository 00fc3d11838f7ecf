import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobError, Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { TestLayer, images } from "./JobsSupport.js"

describe("Jobs", () => {
  describe("create", () => {
    it.effect("creates a CREATED job with the type's defaults and its declared stages pending", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse("2024-05-01T10:00:00.000Z"))
        const jobs = yield* Jobs.Jobs
        const { job, created } = yield* jobs.create(images())
        assert.isTrue(created)
        expect(job).toMatchObject({
          type: "images",
          name: "Process images",
          queue: "ml",
          priority: 3,
          maxAttempts: 5,
          timeoutMs: 60_000,
          status: "CREATED",
          attempt: 0,
          owner: null,
          tags: [],
          metadata: {},
          batchId: null,
          queuedAt: null,
          createdAt: "2024-05-01T10:00:00.000Z",
          runAt: "2024-05-01T10:00:00.000Z"
        })
        expect(job.progress).toEqual({
          summary: { status: "CREATED", progress: 0 },
          stages: [
            {
              key: "detect",
              name: "Detect",
              status: "PENDING",
              progress: 0,
              params: [{ key: "found", name: "Found", category: "count", value: null }]
            },
            { key: "classify", name: "Classify", status: "PENDING", progress: 0, params: [] }
          ],
          items: null
        })
        expect(yield* jobs.get(job.id)).toEqual(job)
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("stores the encoded params, so the Schema's defaults are materialized", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images())
        expect(job.params).toEqual({ images: ["a.jpg"], size: 512 })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("lets the input override every default of the type", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(
          images({
            name: "night 12",
            queue: "gpu",
            priority: -2,
            maxAttempts: 1,
            timeoutMs: null,
            owner: "project-7",
            tags: ["night"],
            metadata: { externalId: 42 },
            runAt: "2030-01-01T00:00:00Z",
            deadline: "2030-01-02T00:00:00+01:00",
            callbackUrl: "https://example.com/hook"
          })
        )
        expect(job).toMatchObject({
          name: "night 12",
          queue: "gpu",
          priority: -2,
          maxAttempts: 1,
          timeoutMs: null,
          owner: "project-7",
          tags: ["night"],
          metadata: { externalId: 42 },
          runAt: "2030-01-01T00:00:00.000Z",
          deadline: "2030-01-01T23:00:00.000Z",
          callbackUrl: "https://example.com/hook"
        })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("queues at once with startNow, and enqueue does the same", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(5_000)
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images(), { startNow: true })
        expect(job).toMatchObject({ status: "QUEUED", queuedAt: Job.formatTime(5_000) })
        expect(job.progress.summary.status).toBe("QUEUED")
        const enqueued = yield* jobs.enqueue({ type: "delay", params: { seconds: 1 } })
        expect(enqueued).toMatchObject({ status: "QUEUED", type: "delay", name: "Delay", queue: "default" })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("rejects an unknown job type", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.create({ type: "nope" }))
        expect(error).toEqual(new JobError.UnknownJobType({ type: "nope" }))
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("rejects invalid params with one issue per bad field", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.create({ type: "images", params: { images: [], size: -1 } }))
        assert(error._tag === "InvalidParams")
        expect(error.type).toBe("images")
        expect(error.issues.map((issue) => issue.path).sort()).toEqual(["params.images", "params.size"])
        const missing = yield* Effect.flip(jobs.create({ type: "images", params: { images: ["a", 3] } }))
        assert(missing._tag === "InvalidParams")
        expect(missing.issues.map((issue) => issue.path)).toEqual(["params.images[1]"])
        const delay = yield* Effect.flip(jobs.create({ type: "delay", params: { seconds: -1 } }))
        assert(delay._tag === "InvalidParams")
        expect(delay.issues.map((issue) => issue.path)).toEqual(["params.seconds"])
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("rejects an unparsable time naming the field", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.create(images({ runAt: "next tuesday", priority: 1.5 })))
        assert(error._tag === "InvalidInput")
        expect(error.issues.map((issue) => issue.path).sort()).toEqual(["priority", "runAt"])
        const deadline = yield* Effect.flip(jobs.create(images({ deadline: "2024-13-45" })))
        assert(deadline._tag === "InvalidInput")
        expect(deadline.issues.map((issue) => issue.path)).toEqual(["deadline"])
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("returns the existing job for an idempotencyKey a non-terminal job holds", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const first = yield* jobs.create(images({ idempotencyKey: "sample-1" }))
        const second = yield* jobs.create(images({ idempotencyKey: "sample-1", name: "other" }))
        assert.isFalse(second.created)
        expect(second.job.id).toBe(first.job.id)
        expect((yield* jobs.list()).items).toHaveLength(1)
        // once the holder is terminal, the key is free again
        yield* jobs.cancel(first.job.id)
        const third = yield* jobs.create(images({ idempotencyKey: "sample-1" }))
        assert.isTrue(third.created)
        expect(third.job.id).not.toBe(first.job.id)
      }).pipe(Effect.provide(TestLayer))
    )
  })

  describe("createMany", () => {
    it.effect("creates every job with one shared batch id", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { batchId, jobs: created } = yield* jobs.createMany(
          [images(), images({ name: "second" }), { type: "delay", params: { seconds: 0 } }],
          { startNow: true }
        )
        expect(created).toHaveLength(3)
        expect(created.map((job) => job.batchId)).toEqual([batchId, batchId, batchId])
        expect(created.map((job) => job.status)).toEqual(["QUEUED", "QUEUED", "QUEUED"])
        const listed = yield* jobs.list({ batchId: batchId! })
        expect(listed.items.map((job) => job.id).sort()).toEqual(created.map((job) => job.id).sort())
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("inserts nothing when any job is invalid, reporting every bad field by its index", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(
          jobs.createMany([
            images(),
            images({ params: { images: [] } }),
            images(),
            images({ params: { images: ["x"], size: 0 } })
          ])
        )
        assert(error._tag === "InvalidParams")
        expect(error.issues.map((issue) => issue.path)).toEqual(["jobs[1].params.images", "jobs[3].params.size"])
        const mixed = yield* Effect.flip(jobs.createMany([images({ runAt: "soon" }), images({ params: {} })]))
        assert(mixed._tag === "InvalidInput")
        expect(mixed.issues.map((issue) => issue.path)).toEqual(["jobs[0].runAt", "jobs[1].params.images"])
        const unknown = yield* Effect.flip(jobs.createMany([images(), { type: "nope" }]))
        expect(unknown._tag).toBe("UnknownJobType")
        expect((yield* jobs.stats()).total).toBe(0)
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("refuses an empty batch", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(jobs.createMany([]))
        assert(error._tag === "InvalidInput")
        expect(error.issues[0].path).toBe("jobs")
      }).pipe(Effect.provide(TestLayer))
    )
  })
})
