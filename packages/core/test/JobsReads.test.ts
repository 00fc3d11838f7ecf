import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { TOKEN, TestLayer, images, claim, settle, jobIn } from "./JobsSupport.js"

describe("Jobs", () => {
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
          PAUSING: 0,
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
})
