import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobError, JobState, JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { JobEvents } from "../src/internal/jobEvents.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

const Images = JobType.make({
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

const TestLayer = Jobs.layer({ types: [Images] }).pipe(Layer.provideMerge(MemoryJobStore.layer))

const images = (extra: Partial<Jobs.CreateJob> = {}): Jobs.CreateJob => ({
  type: "images",
  params: { images: ["a.jpg"] },
  ...extra
})

/** Claims the one queued job of `queue` as worker `w1`. */
const claim = (queue: string) =>
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

const settle = (settlement: JobStore.Settlement) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const changes = yield* store.settle({ workerId: "w1", now, settlements: [settlement] })
    assert.strictEqual(changes.length, 1)
  })

/** A job brought to `status` through the engine and the store, alone in its own queue. */
const jobIn = (status: Job.JobStatus) =>
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

const userActions = ["run", "cancel", "retry", "pause", "resume"] as const

const act = (jobs: Jobs.Jobs, action: (typeof userActions)[number], id: string) => jobs[action](id)

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

  describe("transitions", () => {
    it.effect("runs a CREATED job: QUEUED with queuedAt", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images())
        yield* TestClock.adjust(2_000)
        const queued = yield* jobs.run(job.id)
        expect(queued).toMatchObject({ status: "QUEUED", queuedAt: Job.formatTime(2_000) })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("refuses to run a QUEUED or RUNNING job: never a second execution", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of ["QUEUED", "RUNNING"] as const) {
          const job = yield* jobIn(status)
          const error = yield* Effect.flip(jobs.run(job.id))
          expect(error).toMatchObject({ _tag: "InvalidTransition", jobId: job.id, from: status, action: "run" })
          expect((yield* jobs.get(job.id)).status).toBe(status)
        }
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("cancels CREATED, QUEUED and PAUSED jobs at once, with reason user and finishedAt", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of ["CREATED", "QUEUED", "PAUSED"] as const) {
          const job = yield* jobIn(status)
          yield* TestClock.adjust(1_000)
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          const cancelled = yield* jobs.cancel(job.id)
          expect(cancelled).toMatchObject({
            status: "CANCELLED",
            terminalReason: "user",
            finishedAt: Job.formatTime(now)
          })
        }
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("marks a RUNNING job CANCELLING and leaves the interruption to its worker", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobIn("RUNNING")
        const cancelling = yield* jobs.cancel(job.id)
        expect(cancelling).toMatchObject({ status: "CANCELLING", finishedAt: null, terminalReason: null })
        expect(cancelling.lease?.workerId).toBe("w1")
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("pauses a QUEUED job and resumes it with its runAt kept", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images({ runAt: "2030-01-01T00:00:00.000Z" }), { startNow: true })
        const paused = yield* jobs.pause(job.id)
        expect(paused.status).toBe("PAUSED")
        yield* TestClock.adjust(60_000)
        const resumed = yield* jobs.resume(job.id)
        expect(resumed).toMatchObject({ status: "QUEUED", runAt: "2030-01-01T00:00:00.000Z" })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("retries a terminal job: QUEUED, fresh attempt budget, progress reset, last error kept", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const store = yield* JobStore.JobStore
        const job = yield* jobIn("FAILED")
        // the failed attempt left some progress behind
        const row = Option.getOrThrow(yield* store.get({ id: job.id }))
        const stale = { ...job.progress, stages: job.progress.stages.map((s) => ({ ...s, progress: 0.5 })) }
        yield* store.update({ id: job.id, from: ["FAILED"], patch: { progress: JSON.stringify(stale) }, now: 0 })
        expect(row.attempt).toBe(1)
        yield* TestClock.adjust(10_000)
        const retried = yield* jobs.retry(job.id)
        expect(retried).toMatchObject({
          id: job.id,
          status: "QUEUED",
          attempt: 0,
          terminalReason: null,
          finishedAt: null,
          startedAt: null,
          resultId: null,
          lease: null,
          runAt: Job.formatTime(10_000),
          queuedAt: Job.formatTime(10_000),
          lastError: { message: "boom", at: Job.formatTime(0) }
        })
        expect(retried.progress.stages.map((s) => [s.status, s.progress])).toEqual([
          ["PENDING", 0],
          ["PENDING", 0]
        ])
        // the retried job's own log says why it is queued again; older lines stay
        const logs = yield* jobs.logs(job.id)
        expect(logs.items[0].message).toMatch(/retry/)
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("retries every terminal status and clears a succeeded job's result", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"] as const) {
          const job = yield* jobIn(status)
          expect(job.status).toBe(status)
          const retried = yield* jobs.retry(job.id)
          expect(retried).toMatchObject({ status: "QUEUED", attempt: 0, resultId: null, finishedAt: null })
        }
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("applies every allowed user action and rejects every other with the current status", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of Job.statuses) {
          for (const action of userActions) {
            const job = yield* jobIn(status)
            expect(job.status).toBe(status)
            const expected = JobState.next(status, action)
            const outcome = yield* Effect.either(act(jobs, action, job.id))
            if (expected === undefined) {
              assert(Either.isLeft(outcome), `${status} ${action} should fail`)
              expect(outcome.left).toMatchObject({ _tag: "InvalidTransition", jobId: job.id, from: status, action })
              expect((yield* jobs.get(job.id)).status).toBe(status)
            } else {
              assert(Either.isRight(outcome), `${status} ${action} should succeed`)
              expect(outcome.right.status, `${status} ${action}`).toBe(expected)
            }
          }
        }
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("decides again when the job's status changes between its read and its write", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images({ queue: "race" }), { startNow: true })
        // the cancel reads QUEUED, but a worker claims the job before the guarded write lands
        const cancelled = yield* jobs.cancel(job.id)
        expect(cancelled.status).toBe("CANCELLING")
      }).pipe(
        Effect.provide(
          Jobs.layer({ types: [Images] }).pipe(
            Layer.provideMerge(
              Layer.effect(
                JobStore.JobStore,
                Effect.map(MemoryJobStore.make, (store): JobStore.JobStore => {
                  let raced = false
                  return {
                    ...store,
                    update: (options) =>
                      Effect.gen(function* () {
                        if (!raced) {
                          raced = true
                          yield* store.claim({
                            token: TOKEN,
                            workerId: "w1",
                            now: options.now,
                            leaseMs: 60_000,
                            limit: 1,
                            queues: ["race"],
                            typeLimits: {},
                            queueLimits: {}
                          })
                        }
                        return yield* store.update(options)
                      })
                  }
                })
              )
            )
          )
        )
      )
    )

    it.effect("reports a missing job as JobNotFound", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const action of userActions) {
          const error = yield* Effect.flip(act(jobs, action, "missing"))
          expect(error).toMatchObject({ _tag: "JobNotFound", jobId: "missing" })
        }
        expect(yield* Effect.flip(jobs.get("missing"))).toMatchObject({ _tag: "JobNotFound" })
        expect(yield* Effect.flip(jobs.delete("missing"))).toMatchObject({ _tag: "JobNotFound" })
      }).pipe(Effect.provide(TestLayer))
    )
  })

  describe("update", () => {
    it.effect("edits a job before it runs, validating params with the type's Schema", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images(), { startNow: true })
        const edited = yield* jobs.update(job.id, {
          name: "renamed",
          priority: 9,
          params: { images: ["b.jpg", "c.jpg"] },
          metadata: { k: "v" },
          tags: ["x"],
          runAt: "2031-01-01T00:00:00Z",
          deadline: null
        })
        expect(edited).toMatchObject({
          status: "QUEUED",
          name: "renamed",
          priority: 9,
          params: { images: ["b.jpg", "c.jpg"], size: 512 },
          metadata: { k: "v" },
          tags: ["x"],
          runAt: "2031-01-01T00:00:00.000Z",
          deadline: null
        })
        const bad = yield* Effect.flip(jobs.update(job.id, { params: { images: "one" } }))
        assert(bad._tag === "InvalidParams")
        expect(bad.issues.map((issue) => issue.path)).toEqual(["params.images"])
        const badTime = yield* Effect.flip(jobs.update(job.id, { runAt: "later" }))
        assert(badTime._tag === "InvalidInput")
        expect(badTime.issues.map((issue) => issue.path)).toEqual(["runAt"])
        expect((yield* jobs.get(job.id)).params).toEqual({ images: ["b.jpg", "c.jpg"], size: 512 })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("refuses to edit a running or finished job", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of ["RUNNING", "CANCELLING", "SUCCEEDED", "CANCELLED"] as const) {
          const job = yield* jobIn(status)
          const error = yield* Effect.flip(jobs.update(job.id, { name: "late" }))
          expect(error).toMatchObject({ _tag: "InvalidTransition", from: status, action: "edit" })
        }
      }).pipe(Effect.provide(TestLayer))
    )
  })

  describe("delete", () => {
    it.effect("deletes CREATED and terminal jobs, and refuses others unless forced", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of Job.statuses) {
          const job = yield* jobIn(status)
          const outcome = yield* Effect.either(jobs.delete(job.id))
          if (JobState.next(status, "delete") !== undefined) {
            assert(Either.isRight(outcome), status)
            expect(yield* Effect.flip(jobs.get(job.id))).toMatchObject({ _tag: "JobNotFound" })
          } else {
            assert(Either.isLeft(outcome), status)
            expect(outcome.left).toMatchObject({ _tag: "InvalidTransition", from: status, action: "delete" })
            yield* jobs.delete(job.id, { force: true })
            expect(yield* Effect.flip(jobs.get(job.id))).toMatchObject({ _tag: "JobNotFound" })
          }
        }
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("refuses a bulk delete without any filter unless all is set", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* jobIn("CREATED")
        yield* jobIn("RUNNING")
        const error = yield* Effect.flip(jobs.deleteMany({}))
        assert(error._tag === "InvalidInput")
        expect((yield* jobs.stats()).total).toBe(2)
        // all still spares the running job
        expect(yield* jobs.deleteMany({ all: true })).toBe(1)
        expect((yield* jobs.list()).items.map((job) => job.status)).toEqual(["RUNNING"])
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("deletes by finishedBefore only the jobs finished before then", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* TestClock.setTime(1_000)
        const early = yield* jobIn("CANCELLED")
        const earlyFailed = yield* jobIn("FAILED")
        yield* TestClock.setTime(5_000)
        const late = yield* jobIn("SUCCEEDED")
        const unfinished = yield* jobIn("CREATED")
        const deleted = yield* jobs.deleteMany({ finishedBefore: Job.formatTime(3_000) })
        expect(deleted).toBe(2)
        const left = (yield* jobs.list()).items.map((job) => job.id).sort()
        expect(left).toEqual([late.id, unfinished.id].sort())
        expect(left).not.toContain(early.id)
        expect(left).not.toContain(earlyFailed.id)
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("deletes by type and status, never touching active jobs", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* jobs.create({ type: "delay", params: { seconds: 1 } })
        yield* jobs.create(images())
        yield* jobIn("QUEUED")
        expect(yield* jobs.deleteMany({ types: ["images"], statuses: ["QUEUED", "CREATED"] })).toBe(1)
        const left = (yield* jobs.list()).items.map((job) => `${job.type} ${job.status}`).sort()
        expect(left).toEqual(["delay CREATED", "images QUEUED"])
      }).pipe(Effect.provide(TestLayer))
    )
  })

  describe("reads", () => {
    it.effect("counts every status, zeros included, overall and by type", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const status of ["CREATED", "QUEUED", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"] as const) {
          yield* jobIn(status)
        }
        yield* jobs.create({ type: "delay", params: { seconds: 2 } })
        const stats = yield* jobs.stats()
        expect(stats.total).toBe(7)
        expect(stats.byStatus).toEqual({
          CREATED: 2,
          QUEUED: 2,
          RUNNING: 1,
          PAUSED: 0,
          CANCELLING: 0,
          SUCCEEDED: 1,
          FAILED: 1,
          CANCELLED: 0,
          TIMED_OUT: 0
        })
        expect(stats.byType.images).toMatchObject({ CREATED: 1, QUEUED: 2, RUNNING: 1, PAUSED: 0 })
        expect(stats.byType.delay).toMatchObject({ CREATED: 1, QUEUED: 0 })
        const filtered = yield* jobs.stats({ types: ["delay"] })
        expect(filtered.total).toBe(1)
        expect(Schema.is(Jobs.JobStats)(stats)).toBe(true)
        const bad = yield* Effect.flip(jobs.stats({ createdAfter: "yesterday" }))
        expect(bad).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "createdAfter" }] })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("summarises a batch: RUNNING while any job is active, then by outcome", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const store = yield* JobStore.JobStore
        const { batchId, jobs: created } = yield* jobs.createMany([images({ queue: "b" }), images({ queue: "b" })], {
          startNow: true
        })
        expect(yield* jobs.batch(batchId!)).toMatchObject({ total: 2, state: "RUNNING", byStatus: { QUEUED: 2 } })
        yield* jobs.cancel(created[0].id)
        expect((yield* jobs.batch(batchId!)).state).toBe("RUNNING")
        yield* claim("b")
        yield* settle({ _tag: "Complete", id: created[1].id, token: TOKEN, progress: null, result: null })
        expect(yield* jobs.batch(batchId!)).toMatchObject({ state: "PARTIAL_FAILURE", byStatus: { SUCCEEDED: 1 } })
        yield* jobs.retry(created[0].id)
        yield* claim("b")
        yield* settle({ _tag: "Complete", id: created[0].id, token: TOKEN, progress: null, result: null })
        expect((yield* jobs.batch(batchId!)).state).toBe("COMPLETED")
        yield* jobs.retry(created[0].id)
        yield* jobs.retry(created[1].id)
        yield* jobs.cancel(created[0].id)
        yield* jobs.cancel(created[1].id)
        expect((yield* jobs.batch(batchId!)).state).toBe("FAILED")
        expect(yield* Effect.flip(jobs.batch("nope"))).toMatchObject({ _tag: "BatchNotFound", batchId: "nope" })
        expect(yield* store.stats({ filter: { batchId: batchId! } })).toHaveLength(1)
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("serves a job's result by job, by result id, compacted, and the job behind a result", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const job = yield* jobIn("SUCCEEDED")
        assert(job.resultId !== null)
        const result = yield* jobs.result(job.id)
        expect(result).toMatchObject({ id: job.resultId, jobId: job.id, value: { detections: ["moth", "beetle"] } })
        expect((yield* jobs.result(job.id, { compact: true })).value).toEqual({ count: 2 })
        expect((yield* jobs.resultById(job.resultId)).value).toEqual({ detections: ["moth", "beetle"] })
        expect((yield* jobs.resultById(job.resultId, { compact: true })).value).toEqual({ count: 2 })
        expect((yield* jobs.jobByResultId(job.resultId)).id).toBe(job.id)
        const created = yield* jobIn("CREATED")
        expect(yield* Effect.flip(jobs.result(created.id))).toMatchObject({
          _tag: "ResultNotFound",
          jobId: created.id,
          resultId: null
        })
        expect(yield* Effect.flip(jobs.resultById("r-none"))).toMatchObject({ _tag: "ResultNotFound" })
        expect(yield* Effect.flip(jobs.jobByResultId("r-none"))).toMatchObject({ _tag: "ResultNotFound" })
        expect(yield* Effect.flip(jobs.result("missing"))).toMatchObject({ _tag: "JobNotFound" })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("reads logs newest first in pages, and checks limit, cursor and job", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.create(images({ queue: "logs" }))
        yield* jobs.run(job.id)
        yield* jobs.pause(job.id)
        yield* jobs.resume(job.id)
        yield* jobs.cancel(job.id)
        const all = yield* jobs.logs(job.id)
        expect(all.items.map((line) => line.message)).toEqual(["cancelled", "resumed", "paused", "queued by request"])
        expect(all.nextCursor).toBeNull()
        const first = yield* jobs.logs(job.id, { limit: 3 })
        assert(first.nextCursor !== null)
        const second = yield* jobs.logs(job.id, { limit: 3, cursor: first.nextCursor })
        expect([...first.items, ...second.items]).toEqual(all.items)
        for (const limit of [0, 5001, 2.5]) {
          const error = yield* Effect.flip(jobs.logs(job.id, { limit }))
          expect(error).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "limit" }] })
        }
        const badCursor = yield* Effect.flip(jobs.logs(job.id, { cursor: "!!" }))
        expect(badCursor).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "cursor" }] })
        expect(yield* Effect.flip(jobs.logs("missing"))).toMatchObject({ _tag: "JobNotFound", jobId: "missing" })
      }).pipe(Effect.provide(TestLayer))
    )

    it.effect("describes every registered type, the built-in delay included, with a params JSON Schema", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const registry = yield* JobType.JobRegistry
        // a Schema with no JSON Schema form must not break the listing
        registry.types.set(
          "opaque",
          JobType.make({ key: "opaque", params: Schema.declare((u): u is Date => u instanceof Date) })
        )
        const types = jobs.types()
        expect(types.map((type) => type.key).sort()).toEqual(["delay", "images", "opaque"])
        const delay = types.find((type) => type.key === "delay")!
        expect(delay).toMatchObject({ name: "Delay", stages: [{ key: "delay", name: "Delay" }], queue: "default" })
        expect(delay.paramsSchema).toEqual({
          type: "object",
          required: ["seconds"],
          properties: { seconds: expect.objectContaining({ type: "number", minimum: 0 }) },
          additionalProperties: false
        })
        expect(types.find((type) => type.key === "images")).toMatchObject({ timeoutMs: 60_000, maxAttempts: 5 })
        expect(types.find((type) => type.key === "opaque")!.paramsSchema).toEqual({})
        assert(registry.handlers.has("delay"))
      }).pipe(Effect.provide(TestLayer))
    )
  })

  describe("events", () => {
    it.scoped("publishes created, status and deleted events to subscribers, filtered by job", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const all = yield* jobs.subscribe()
        const { job } = yield* jobs.create(images())
        const mine = yield* jobs.subscribe({ jobId: job.id })
        const collectedAll = yield* Effect.fork(
          Stream.runCollect(
            Stream.take(
              Stream.filter(all, (e) => e._tag !== "log"),
              5
            )
          )
        )
        const collectedMine = yield* Effect.fork(
          Stream.runCollect(
            Stream.take(
              Stream.filter(mine, (e) => e._tag !== "log"),
              3
            )
          )
        )
        yield* jobs.create({ type: "delay", params: { seconds: 0 } })
        yield* jobs.run(job.id)
        yield* jobs.cancel(job.id)
        yield* jobs.delete(job.id)
        const events = Chunk.toReadonlyArray(yield* Fiber.join(collectedAll))
        expect(events.map((e) => e._tag)).toEqual(["created", "created", "status", "status", "deleted"])
        expect(events[0]).toMatchObject({ _tag: "created", jobId: job.id, job: { id: job.id } })
        const own = Chunk.toReadonlyArray(yield* Fiber.join(collectedMine))
        expect(own).toEqual([
          { _tag: "status", jobId: job.id, status: "QUEUED", terminalReason: null },
          { _tag: "status", jobId: job.id, status: "CANCELLED", terminalReason: "user" },
          { _tag: "deleted", jobId: job.id }
        ])
      }).pipe(Effect.provide(TestLayer))
    )

    it.scoped("relays events the worker publishes to the engine's bus", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const bus = yield* JobEvents
        const events = yield* jobs.subscribe({ jobId: "j1" })
        yield* bus.publish({ _tag: "log", jobId: "j2", at: Job.formatTime(0), level: "info", message: "other" })
        yield* bus.publish({ _tag: "log", jobId: "j1", at: Job.formatTime(0), level: "warn", message: "mine" })
        const first = yield* Stream.runHead(events)
        expect(first).toEqual(
          Option.some({ _tag: "log", jobId: "j1", at: Job.formatTime(0), level: "warn", message: "mine" })
        )
      }).pipe(Effect.provide(TestLayer))
    )
  })
})
