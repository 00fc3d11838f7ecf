import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { awaitJob, awaitStatus, engine } from "./WorkerSupport.js"

/** A memory store that counts `saveProgress` calls and the updates they carry. */
const countingStore = (counts: { calls: number; updates: number }) =>
  Layer.effect(
    JobStore.JobStore,
    Effect.map(MemoryJobStore.make, (store) => ({
      ...store,
      saveProgress: (options: Parameters<JobStore.JobStore.Service["saveProgress"]>[0]) =>
        Effect.suspend(() => {
          counts.calls++
          counts.updates += options.updates.length
          return store.saveProgress(options)
        })
    }))
  )

describe("Progress", () => {
  const Bulk = JobType.make({
    key: "bulk",
    stages: [{ key: "work", name: "Work", params: [{ key: "done", name: "Done", category: "count" }] }]
  })

  it.effect("10,000 reports in a tight loop make a few store writes, and the final progress is exact", () => {
    const counts = { calls: 0, updates: 0 }
    const total = 10_000
    const handler = JobType.toLayer(Bulk, (_, context) =>
      Effect.gen(function* () {
        const stage = context.stage("work")
        yield* stage.start
        yield* context.items.setTotal(total)
        for (let i = 1; i <= total; i++) {
          yield* stage.progress(i / total)
          yield* stage.param("done", i)
          yield* context.items.completed()
          // about a second of work in all, in 40 slices
          if (i % 250 === 0) yield* Effect.sleep("25 millis")
        }
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "bulk" })
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      // 250 ms flushes over about a second of work: a handful, never one per report
      assert.isAtLeast(counts.calls, 1)
      assert.isAtMost(counts.calls, 30)
      assert.strictEqual(counts.updates, counts.calls)
      expect(done.progress.summary).toEqual({ status: "SUCCEEDED", progress: 1 })
      // started, never completed by the handler: closed by the engine at SUCCEEDED
      expect(done.progress.stages).toEqual([
        {
          key: "work",
          name: "Work",
          status: "SUCCEEDED",
          progress: 1,
          params: [{ key: "done", name: "Done", category: "count", value: total }]
        }
      ])
      expect(done.progress.items).toEqual({ total, pending: 0, completed: total, failed: 0 })
    }).pipe(Effect.scoped, Effect.provide(engine([Bulk], handler, countingStore(counts))))
  })

  it.effect("stage progress is clamped to [0, 1], never lowered, and never sets the stage's status", () => {
    const Two = JobType.make({
      key: "two",
      stages: [
        { key: "a", name: "A" },
        { key: "b", name: "B" }
      ]
    })
    return Effect.gen(function* () {
      const reported = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      const handler = JobType.toLayer(Two, (_, context) =>
        Effect.gen(function* () {
          const a = context.stage("a")
          yield* a.progress(0.5)
          yield* a.progress(0.2)
          yield* a.progress(7)
          yield* a.progress(-1)
          yield* context.stage("b").update({ status: "RUNNING", progress: Number.NaN })
          yield* Deferred.succeed(reported, undefined)
          yield* Deferred.await(finish)
        })
      )
      const run = Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make()
        const job = yield* jobs.enqueue({ type: "two" })
        yield* Deferred.await(reported)
        const flushed = yield* awaitJob(job.id, (j) => j.progress.stages[0].progress > 0)
        expect(flushed.progress.stages.map((s) => [s.key, s.status, s.progress])).toEqual([
          ["a", "PENDING", 1],
          ["b", "RUNNING", 0]
        ])
        assert.strictEqual(flushed.progress.summary.progress, 0.5)
        yield* Deferred.succeed(finish, undefined)
        const done = yield* awaitStatus(job.id, "SUCCEEDED")
        assert.strictEqual(done.progress.summary.progress, 1)
        // while it ran, progress never set a status; at SUCCEEDED the engine closes every stage
        expect(done.progress.stages.map((s) => s.status)).toEqual(["SUCCEEDED", "SUCCEEDED"])
      })
      yield* run.pipe(Effect.scoped, Effect.provide(engine([Two], handler)))
    })
  })

  it.effect("without stages, the summary is completed/total of the items", () => {
    const Items = JobType.make({ key: "items" })
    return Effect.gen(function* () {
      const reported = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      const handler = JobType.toLayer(Items, (_, context) =>
        Effect.gen(function* () {
          yield* context.items.setTotal(4)
          yield* context.items.completed()
          yield* context.items.failed()
          yield* Deferred.succeed(reported, undefined)
          yield* Deferred.await(finish)
        })
      )
      const run = Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make()
        const job = yield* jobs.enqueue({ type: "items" })
        yield* Deferred.await(reported)
        const flushed = yield* awaitJob(job.id, (j) => j.progress.items !== null)
        expect(flushed.progress.items).toEqual({ total: 4, pending: 2, completed: 1, failed: 1 })
        assert.strictEqual(flushed.progress.summary.progress, 0.25)
        yield* Deferred.succeed(finish, undefined)
        yield* awaitStatus(job.id, "SUCCEEDED")
      })
      yield* run.pipe(Effect.scoped, Effect.provide(engine([Items], handler)))
    })
  })

  it.effect("params take their name and category from the declaration; ad hoc stages are added", () => {
    const Declared = JobType.make({
      key: "declared",
      stages: [{ key: "detect", name: "Detect", params: [{ key: "found", name: "Found", category: "count" }] }]
    })
    const handler = JobType.toLayer(Declared, (_, context) =>
      Effect.gen(function* () {
        yield* context.stage("detect").param("found", 12)
        yield* context.stage("detect").param("model", "yolo", { name: "Model" })
        yield* context.stage("extra").complete
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "declared" })
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(done.progress.stages).toEqual([
        {
          key: "detect",
          name: "Detect",
          // closed at SUCCEEDED
          status: "SUCCEEDED",
          progress: 1,
          params: [
            { key: "found", name: "Found", category: "count", value: 12 },
            { key: "model", name: "Model", category: "default", value: "yolo" }
          ]
        },
        { key: "extra", name: "extra", status: "SUCCEEDED", progress: 1, params: [] }
      ])
    }).pipe(Effect.scoped, Effect.provide(engine([Declared], handler)))
  })

  it.effect("flushed progress and log lines are published as events", () => {
    const Chatty = JobType.make({ key: "chatty", stages: [{ key: "s", name: "S" }] })
    const handler = JobType.toLayer(Chatty, (_, context) =>
      Effect.gen(function* () {
        yield* context.stage("s").progress(0.5)
        yield* context.log.warn("halfway")
        yield* Effect.sleep("1 second")
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const events = yield* jobs.subscribe()
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "chatty" })
      yield* awaitStatus(job.id, "SUCCEEDED")
      const mine = yield* events.pipe(
        Stream.filter((e) => e.jobId === job.id && (e._tag === "progress" || e._tag === "log")),
        Stream.takeUntil((e) => e._tag === "progress" && e.progress.summary.status === "SUCCEEDED"),
        Stream.runCollect
      )
      const list = Chunk.toArray(mine)
      expect(list.some((e) => e._tag === "log" && e.message === "halfway" && e.level === "warn")).toBe(true)
      expect(list.some((e) => e._tag === "progress" && e.progress.summary.progress === 0.5)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(engine([Chatty], handler)))
  })
})
