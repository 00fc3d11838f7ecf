import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobState, JobStore, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { TOKEN, Images, TestLayer, images, jobIn, userActions, act } from "./JobsSupport.js"

describe("Jobs", () => {
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
                Effect.map(MemoryJobStore.make, (store): JobStore.JobStore.Service => {
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
})
