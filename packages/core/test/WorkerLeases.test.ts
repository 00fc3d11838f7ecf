// The worker under TestClock: cancellation that the handler ignores or that only a poll finds, leases, limits, queues and shutdown.
import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { awaitStatus, engine, logMessages } from "./WorkerSupport.js"

describe("Worker cancellation", () => {
  const Long = JobType.make({ key: "long", result: Schema.Struct({ ok: Schema.Boolean }) })

  it.effect("a handler that ignores interruption is settled CANCELLED once it ends", () => {
    let finished = false
    const handler = JobType.toLayer(Long, () =>
      Effect.uninterruptible(Effect.sleep("2 seconds")).pipe(
        Effect.as({ ok: true }),
        Effect.ensuring(Effect.sync(() => (finished = true)))
      )
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "long" })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.cancel(job.id)
      yield* TestClock.adjust("500 millis")
      // still running its uninterruptible part
      assert.strictEqual((yield* jobs.get(job.id)).status, "CANCELLING")
      const cancelled = yield* awaitStatus(job.id, "CANCELLED")
      yield* worker.awaitIdle
      assert.isTrue(finished)
      assert.isNull(cancelled.resultId)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* jobs.get(job.id)).status, "CANCELLED")
    }).pipe(Effect.scoped, Effect.provide(engine([Long], handler)))
  })

  it.effect("a job force-deleted while running is interrupted and never settled", () => {
    let interrupted = false
    const handler = JobType.toLayer(Long, () =>
      Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "long" })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.delete(job.id, { force: true })
      for (let i = 0; i < 20 && !interrupted; i++) yield* TestClock.adjust("50 millis")
      yield* worker.awaitIdle
      assert.isTrue(interrupted)
      const missing = yield* Effect.flip(jobs.get(job.id))
      assert.strictEqual(missing._tag, "JobNotFound")
    }).pipe(Effect.scoped, Effect.provide(engine([Long], handler)))
  })
  it.effect("without signals, the status poll notices a cancel within a second", () => {
    // signals dropped, as for a cancel made by another process on a store without cross-process signals
    const deafStore = Layer.effect(
      JobStore.JobStore,
      Effect.map(MemoryJobStore.make, (store) => ({
        ...store,
        subscribe: Effect.acquireRelease(Queue.unbounded<JobStore.StoreSignal>(), Queue.shutdown)
      }))
    )
    let finalized = false
    const handler = JobType.toLayer(Long, () =>
      Effect.never.pipe(Effect.ensuring(Effect.sync(() => (finalized = true))))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "long" })
      yield* awaitStatus(job.id, "RUNNING", { step: "100 millis" })
      yield* jobs.cancel(job.id)
      yield* awaitStatus(job.id, "CANCELLED", { within: "1 second" })
      assert.isTrue(finalized)
    }).pipe(Effect.scoped, Effect.provide(engine([Long], handler, deafStore)))
  })
})

describe("Worker leases", () => {
  const Echo = JobType.make({ key: "echo" })

  it.effect("heartbeats keep a long job's lease alive", () => {
    const handler = JobType.toLayer(Echo, () => Effect.sleep("2 minutes").pipe(Effect.as("slow")))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ workerId: "steady" })
      const job = yield* jobs.enqueue({ type: "echo" })
      const done = yield* awaitStatus(job.id, "SUCCEEDED", { step: "1 second", within: "3 minutes" })
      // never rescued: one attempt
      assert.strictEqual(done.attempt, 1)
    }).pipe(Effect.scoped, Effect.provide(engine([Echo], handler)))
  })

  it.effect("the per-worker concurrency limit holds", () => {
    let current = 0
    let peak = 0
    const handler = JobType.toLayer(Echo, () =>
      Effect.gen(function* () {
        current++
        peak = Math.max(peak, current)
        yield* Effect.sleep("1 second")
      }).pipe(Effect.ensuring(Effect.sync(() => current--)))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ concurrency: 3 })
      const created = yield* Effect.forEach(Array.from({ length: 10 }), () => jobs.enqueue({ type: "echo" }))
      for (const job of created) yield* awaitStatus(job.id, "SUCCEEDED", { step: "100 millis" })
      assert.strictEqual(peak, 3)
    }).pipe(Effect.scoped, Effect.provide(engine([Echo], handler)))
  })
  it.effect("a lost lease interrupts the handler and writes nothing", () => {
    // the store answers every heartbeat with nothing held: the lease was taken over
    const stolen = Layer.effect(
      JobStore.JobStore,
      Effect.map(MemoryJobStore.make, (store) => ({ ...store, heartbeat: () => Effect.succeed([]) }))
    )
    let interrupted = false
    const handler = JobType.toLayer(Echo, () =>
      Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make({ workerId: "loser", maintenance: false })
      const job = yield* jobs.enqueue({ type: "echo" })
      yield* awaitStatus(job.id, "RUNNING")
      yield* TestClock.adjust("10 seconds")
      yield* worker.awaitIdle
      assert.isTrue(interrupted)
      const after = yield* jobs.get(job.id)
      // no settlement was written: the row is as claimed, left to the rescuer
      assert.strictEqual(after.status, "RUNNING")
      assert.strictEqual(after.lease?.workerId, "loser")
      expect(yield* logMessages(job.id)).toEqual(["attempt 1/3 started on worker loser"])
    }).pipe(Effect.scoped, Effect.provide(engine([Echo], handler, stolen)))
  })

  it.effect("queue limits hold", () => {
    let current = 0
    let peak = 0
    const handler = JobType.toLayer(Echo, () =>
      Effect.suspend(() => {
        current++
        peak = Math.max(peak, current)
        return Effect.sleep("1 second")
      }).pipe(Effect.ensuring(Effect.sync(() => current--)))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ queueLimits: { default: 1 } })
      const created = yield* Effect.forEach(Array.from({ length: 3 }), () => jobs.enqueue({ type: "echo" }))
      for (const job of created) yield* awaitStatus(job.id, "SUCCEEDED", { step: "200 millis" })
      assert.strictEqual(peak, 1)
    }).pipe(Effect.scoped, Effect.provide(engine([Echo], handler)))
  })

  it.effect("claims from the queues of its handlers by default, and only from its queues", () => {
    const Ml = JobType.make({ key: "ml", queue: "gpu" })
    const handler = JobType.toLayer(Ml, () => Effect.succeed("inferred"))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const scope = yield* Scope.make()
      yield* Worker.make({ queues: ["cpu"] }).pipe(Scope.extend(scope))
      const job = yield* jobs.enqueue({ type: "ml" })
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual((yield* jobs.get(job.id)).status, "QUEUED")
      yield* Scope.close(scope, Exit.void)
      yield* Worker.make()
      yield* awaitStatus(job.id, "SUCCEEDED")
    }).pipe(Effect.scoped, Effect.provide(engine([Ml], handler)))
  })
})

describe("Worker shutdown", () => {
  const Quick = JobType.make({ key: "quick" })
  const Stuck = JobType.make({ key: "stuck" })

  it.effect(
    "lets running jobs finish within the grace period, then releases the rest without spending an attempt",
    () => {
      let stuckInterrupted = false
      const handlers = Layer.mergeAll(
        JobType.toLayer(Quick, () => Effect.sleep("500 millis").pipe(Effect.as("quick"))),
        JobType.toLayer(Stuck, () =>
          Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (stuckInterrupted = true))))
        )
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const scope = yield* Scope.make()
        yield* Worker.make({ workerId: "leaving", gracePeriod: "1 second" }).pipe(Scope.extend(scope))
        const quick = yield* jobs.enqueue({ type: "quick" })
        const stuck = yield* jobs.enqueue({ type: "stuck" })
        yield* awaitStatus(quick.id, "RUNNING")
        yield* awaitStatus(stuck.id, "RUNNING")
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("600 millis")
        assert.strictEqual((yield* jobs.get(quick.id)).status, "SUCCEEDED")
        assert.strictEqual((yield* jobs.get(stuck.id)).status, "RUNNING")
        assert.isFalse(stuckInterrupted)
        yield* TestClock.adjust("600 millis")
        yield* Fiber.join(closing)
        assert.isTrue(stuckInterrupted)
        // released (the row as the store writes a release is checked by the conformance suite)
        assert.strictEqual((yield* jobs.get(stuck.id)).status, "QUEUED")
      }).pipe(Effect.scoped, Effect.provide(engine([Quick, Stuck], handlers)))
    }
  )

  it.effect("stops claiming once shutdown starts", () => {
    const handler = JobType.toLayer(Quick, () => Effect.succeed("quick"))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const scope = yield* Scope.make()
      yield* Worker.make().pipe(Scope.extend(scope))
      yield* Scope.close(scope, Exit.void)
      const job = yield* jobs.enqueue({ type: "quick" })
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* jobs.get(job.id)).status, "QUEUED")
    }).pipe(Effect.scoped, Effect.provide(engine([Quick], handler)))
  })
})
