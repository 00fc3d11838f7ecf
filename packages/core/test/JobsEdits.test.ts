import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobState, Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import { TestLayer, images, jobIn } from "./JobsSupport.js"

describe("Jobs", () => {
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
})
