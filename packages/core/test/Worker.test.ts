// The worker under TestClock over a memory store: attempt logs and events, bad data, throughput. The engine behaviours that depend on the store (results, cancel, late success, rescue, per-type limits, release on shutdown) run in the conformance suite (`testing/engine.ts`) for every store.
import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { awaitStatus, engine, logMessages } from "./WorkerSupport.js"

const Square = JobType.make({
  key: "square",
  params: Schema.Struct({ n: Schema.Number }),
  result: Schema.Struct({ squared: Schema.Number, at: Schema.DateFromString })
})

const squareHandler = JobType.toLayer(Square, ({ n }) => Effect.succeed({ squared: n * n, at: new Date(0) }))

describe("Worker", () => {
  it.effect("logs each attempt's start and end exactly once", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ workerId: "w-log" })
      const job = yield* jobs.enqueue({ type: "square", params: { n: 2 } })
      yield* awaitStatus(job.id, "SUCCEEDED")
      expect(yield* logMessages(job.id)).toEqual(["attempt 1/3 started on worker w-log", "attempt 1/3 succeeded"])
    }).pipe(Effect.scoped, Effect.provide(engine([Square], squareHandler)))
  )

  it.effect("publishes RUNNING then the settled status", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const events = yield* jobs.subscribe()
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "square", params: { n: 2 } })
      yield* awaitStatus(job.id, "SUCCEEDED")
      const statuses = yield* events.pipe(
        Stream.filter((e) => e._tag === "status" && e.jobId === job.id),
        Stream.map((e) => (e._tag === "status" ? e.status : "")),
        Stream.takeUntil((s) => s === "SUCCEEDED"),
        Stream.runCollect
      )
      expect(Array.from(statuses)).toEqual(["RUNNING", "SUCCEEDED"])
    }).pipe(Effect.scoped, Effect.provide(engine([Square], squareHandler)))
  )
})

describe("Worker bad data", () => {
  const Orphan = JobType.make({ key: "orphan" })

  it.effect("corrupted params and invalid params end FAILED with a clear error; a type without a handler waits", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      yield* Worker.make()
      const corrupt = yield* jobs.create({ type: "square", params: { n: 1 } })
      const invalid = yield* jobs.create({ type: "square", params: { n: 1 } })
      const now = yield* Clock.currentTimeMillis
      yield* store.update({ id: corrupt.job.id, from: ["CREATED"], patch: { params: "{not json" }, now })
      yield* store.update({ id: invalid.job.id, from: ["CREATED"], patch: { params: `{"n":"seven"}` }, now })
      yield* jobs.run(corrupt.job.id)
      yield* jobs.run(invalid.job.id)
      const orphan = yield* jobs.enqueue({ type: "orphan" })

      const corrupted = yield* awaitStatus(corrupt.job.id, "FAILED")
      assert.match(corrupted.lastError?.message ?? "", /^params are not valid JSON/)
      assert.strictEqual(corrupted.attempt, 1)
      const mismatched = yield* awaitStatus(invalid.job.id, "FAILED")
      assert.match(mismatched.lastError?.message ?? "", /^params do not match job type "square"/)

      // the worker goes on with other jobs, and never claims one it has no handler for: it waits QUEUED
      const good = yield* jobs.enqueue({ type: "square", params: { n: 4 } })
      yield* awaitStatus(good.id, "SUCCEEDED")
      const waiting = yield* jobs.get(orphan.id)
      assert.deepStrictEqual([waiting.status, waiting.attempt, waiting.lastError], ["QUEUED", 0, null])
      const stats = yield* jobs.stats()
      assert.strictEqual(stats.byType["orphan"]?.QUEUED, 1)
    }).pipe(Effect.scoped, Effect.provide(engine([Square, Orphan], squareHandler)))
  )
})

describe("Worker throughput", () => {
  const Noop = JobType.make({ key: "noop" })

  it.effect("drains 2,000 jobs, running each exactly once, in claim batches", () => {
    let runs = 0
    let claims = 0
    const handler = JobType.toLayer(Noop, () => Effect.sync(() => runs++))
    const countingStore = Layer.effect(
      JobStore.JobStore,
      Effect.gen(function* () {
        const store = yield* MemoryJobStore.make
        return {
          ...store,
          claim: (options: JobStore.ClaimOptions) => Effect.tap(store.claim(options), () => Effect.sync(() => claims++))
        }
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* jobs.createMany(
        Array.from({ length: 2000 }, () => ({ type: "noop" })),
        { startNow: true }
      )
      const worker = yield* Worker.make({ concurrency: 50 })
      for (let i = 0; i < 200; i++) {
        const stats = yield* jobs.stats({ types: ["noop"] })
        if (stats.byStatus.SUCCEEDED === 2000) break
        yield* TestClock.adjust("10 millis")
      }
      yield* worker.awaitIdle
      const stats = yield* jobs.stats({ types: ["noop"] })
      assert.strictEqual(stats.byStatus.SUCCEEDED, 2000)
      assert.strictEqual(runs, 2000)
      // batched: far fewer claims than jobs
      assert.isBelow(claims, 400)
    }).pipe(Effect.scoped, Effect.provide(engine([Noop], handler, countingStore)))
  })
})
