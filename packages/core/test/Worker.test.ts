import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { awaitJob, awaitStatus, engine, logMessages } from "./WorkerSupport.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

const Square = JobType.make({
  key: "square",
  params: Schema.Struct({ n: Schema.Number }),
  result: Schema.Struct({ squared: Schema.Number, at: Schema.DateFromString })
})

const squareHandler = JobType.toLayer(Square, ({ n }) => Effect.succeed({ squared: n * n, at: new Date(0) }))

const at = (time: string) => Date.parse(time)

describe("Worker", () => {
  it.effect("runs queued jobs to SUCCEEDED and stores each encoded result", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const created = yield* Effect.forEach([1, 2, 3], (n) => jobs.enqueue({ type: "square", params: { n } }))
      for (const [i, job] of created.entries()) {
        const done = yield* awaitStatus(job.id, "SUCCEEDED")
        assert.strictEqual(done.attempt, 1)
        assert.strictEqual(done.progress.summary.progress, 1)
        assert.isNull(done.lease)
        assert.isNotNull(done.resultId)
        const result = yield* jobs.result(job.id)
        expect(result.value).toEqual({ squared: (i + 1) ** 2, at: "1970-01-01T00:00:00.000Z" })
      }
    }).pipe(Effect.scoped, Effect.provide(engine([Square], squareHandler)))
  )

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

describe("Worker retries", () => {
  const Flaky = JobType.make({
    key: "flaky",
    retry: { maxAttempts: 3, backoff: Schedule.exponential("1 second") }
  })

  it.effect("retries with the type's backoff, then fails with the last error", () => {
    const startedAt: Array<number> = []
    const handler = JobType.toLayer(Flaky, () =>
      Effect.gen(function* () {
        startedAt.push(yield* Clock.currentTimeMillis)
        return yield* Effect.fail(new Error("boom"))
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "flaky" })
      const first = yield* awaitJob(job.id, (j) => j.attempt === 1 && j.status === "QUEUED")
      assert.strictEqual(first.lastError?.message, "boom")
      assert.strictEqual(at(first.runAt) - at(first.updatedAt), 1000)
      const second = yield* awaitJob(job.id, (j) => j.attempt === 2 && j.status === "QUEUED")
      assert.strictEqual(at(second.runAt) - at(second.updatedAt), 2000)
      const failed = yield* awaitStatus(job.id, "FAILED")
      assert.strictEqual(failed.attempt, 3)
      assert.strictEqual(failed.terminalReason, "error")
      assert.strictEqual(failed.lastError?.message, "boom")
      assert.isNotNull(failed.finishedAt)
      // never claimed before its runAt
      assert.isAtLeast(startedAt[1] - startedAt[0], 1000)
      assert.isAtLeast(startedAt[2] - startedAt[1], 2000)
      const lines = yield* logMessages(job.id)
      expect(lines.filter((l) => l.includes("failed"))).toEqual([
        "attempt 1/3 failed: boom; retrying in 1 s",
        "attempt 2/3 failed: boom; retrying in 2 s",
        "attempt 3/3 failed: boom; no attempts left"
      ])
    }).pipe(Effect.scoped, Effect.provide(engine([Flaky], handler)))
  })

  it.effect("fails at once with the terminal reason of a non-retryable JobFailure", () => {
    let calls = 0
    const handler = JobType.toLayer(Flaky, () =>
      Effect.suspend(() => {
        calls++
        return Effect.fail(
          new JobType.JobFailure({ message: "too many bad images", retryable: false, terminalReason: "threshold" })
        )
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "flaky" })
      const failed = yield* awaitStatus(job.id, "FAILED")
      assert.strictEqual(failed.attempt, 1)
      assert.strictEqual(failed.terminalReason, "threshold")
      assert.strictEqual(failed.lastError?.message, "too many bad images")
      assert.strictEqual(failed.lastError?.tag, "JobFailure")
      assert.strictEqual(calls, 1)
    }).pipe(Effect.scoped, Effect.provide(engine([Flaky], handler)))
  })

  it.effect("a defect in the handler is a retryable failure, never a crashed worker", () => {
    const handler = JobType.toLayer(Flaky, () => Effect.die(new Error("kaput")))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "flaky", maxAttempts: 2 })
      const failed = yield* awaitStatus(job.id, "FAILED")
      assert.strictEqual(failed.attempt, 2)
      assert.strictEqual(failed.lastError?.message, "kaput")
    }).pipe(Effect.scoped, Effect.provide(engine([Flaky], handler)))
  })
})

describe("Worker timeouts and deadlines", () => {
  const Slow = JobType.make({
    key: "slow",
    timeout: "1 second",
    retry: { maxAttempts: 2, backoff: Schedule.spaced("1 second") }
  })

  it.effect("interrupts an attempt past its timeout, retries it, then ends TIMED_OUT", () => {
    let interrupted = 0
    const handler = JobType.toLayer(Slow, () =>
      Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "slow" })
      const retried = yield* awaitJob(job.id, (j) => j.attempt === 1 && j.status === "QUEUED")
      assert.match(retried.lastError?.message ?? "", /timed out after 1000 ms/)
      const timedOut = yield* awaitStatus(job.id, "TIMED_OUT")
      assert.strictEqual(timedOut.attempt, 2)
      assert.strictEqual(timedOut.terminalReason, "timeout")
      assert.strictEqual(interrupted, 2)
    }).pipe(Effect.scoped, Effect.provide(engine([Slow], handler)))
  })

  it.effect("expires a QUEUED job at its deadline without running it", () => {
    let calls = 0
    const handler = JobType.toLayer(Slow, () => Effect.sync(() => calls++))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const now = yield* Clock.currentTimeMillis
      const job = yield* jobs.enqueue({
        type: "slow",
        runAt: Job.formatTime(now + 10_000),
        deadline: Job.formatTime(now + 2_000)
      })
      const expired = yield* awaitStatus(job.id, "TIMED_OUT")
      assert.strictEqual(expired.terminalReason, "expired")
      assert.strictEqual(expired.attempt, 0)
      assert.isAtMost(at(expired.finishedAt!) - now, 3_000)
      assert.strictEqual(calls, 0)
    }).pipe(Effect.scoped, Effect.provide(engine([Slow], handler)))
  })

  it.effect("interrupts a RUNNING job at its deadline and ends it TIMED_OUT (expired)", () => {
    let finalized = false
    const handler = JobType.toLayer(Slow, () =>
      Effect.never.pipe(Effect.ensuring(Effect.sync(() => (finalized = true))))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make()
      const now = yield* Clock.currentTimeMillis
      const job = yield* jobs.enqueue({ type: "slow", timeoutMs: null, deadline: Job.formatTime(now + 2_000) })
      yield* awaitStatus(job.id, "RUNNING")
      const expired = yield* awaitStatus(job.id, "TIMED_OUT")
      assert.strictEqual(expired.terminalReason, "expired")
      assert.strictEqual(expired.attempt, 1)
      assert.isAtMost(at(expired.finishedAt!) - now, 3_000)
      yield* worker.awaitIdle
      assert.isTrue(finalized)
      assert.strictEqual(yield* worker.running, 0)
    }).pipe(Effect.scoped, Effect.provide(engine([Slow], handler)))
  })
})

describe("Worker cancellation", () => {
  const Long = JobType.make({ key: "long", result: Schema.Struct({ ok: Schema.Boolean }) })

  it.effect("cancel of a RUNNING job interrupts its handler, runs its finalizers, and ends CANCELLED", () => {
    let released = false
    const handler = JobType.toLayer(Long, () =>
      Effect.acquireRelease(Effect.void, () => Effect.sync(() => (released = true))).pipe(
        Effect.zipRight(Effect.never),
        Effect.scoped
      )
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "long" })
      yield* awaitStatus(job.id, "RUNNING")
      const cancelling = yield* jobs.cancel(job.id)
      assert.strictEqual(cancelling.status, "CANCELLING")
      const cancelled = yield* awaitStatus(job.id, "CANCELLED", { within: "1 second" })
      assert.strictEqual(cancelled.terminalReason, "user")
      assert.isTrue(released)
      yield* worker.awaitIdle
      expect(yield* logMessages(job.id)).toContain("attempt 1/3 cancelled")
    }).pipe(Effect.scoped, Effect.provide(engine([Long], handler)))
  })

  it.effect("a late success after a cancel does not overwrite CANCELLED", () => {
    // a worker that never hears of the cancel (no signals, no status poll): its success arrives after it
    const deafStore = Layer.effect(
      JobStore.JobStore,
      Effect.map(MemoryJobStore.make, (store) => ({
        ...store,
        crossProcessSignals: true,
        subscribe: Effect.acquireRelease(Queue.unbounded<JobStore.StoreSignal>(), Queue.shutdown)
      }))
    )
    const handler = JobType.toLayer(Long, () => Effect.sleep("2 seconds").pipe(Effect.as({ ok: true })))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const worker = yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "long" })
      yield* awaitStatus(job.id, "RUNNING")
      assert.strictEqual((yield* jobs.cancel(job.id)).status, "CANCELLING")
      const cancelled = yield* awaitStatus(job.id, "CANCELLED")
      yield* worker.awaitIdle
      assert.strictEqual(cancelled.terminalReason, "user")
      assert.isNull(cancelled.resultId)
      expect(yield* logMessages(job.id)).toContain("attempt 1/3 succeeded")
      const missing = yield* Effect.flip(jobs.result(job.id))
      assert.strictEqual(missing._tag, "ResultNotFound")
    }).pipe(Effect.scoped, Effect.provide(engine([Long], handler, deafStore)))
  })

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

  it.effect("a job whose worker vanished is rescued and completes on another worker, its attempts counted", () => {
    const handler = JobType.toLayer(Echo, () => Effect.succeed("done"))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const job = yield* jobs.enqueue({ type: "echo" })
      // a worker that claims and then dies: its lease is never renewed
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "ghost",
        now: yield* Clock.currentTimeMillis,
        leaseMs: 3_000,
        limit: 10,
        queues: ["default"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed.map((r) => r.id)).toEqual([job.id])
      yield* Worker.make({ workerId: "survivor" })
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* jobs.get(job.id)).lease?.workerId, "ghost")
      const done = yield* awaitStatus(job.id, "SUCCEEDED", { step: "250 millis" })
      assert.strictEqual(done.attempt, 2)
      expect(yield* logMessages(job.id)).toEqual(["attempt 2/3 started on worker survivor", "attempt 2/3 succeeded"])
    }).pipe(Effect.scoped, Effect.provide(engine([Echo], handler)))
  })

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

  it.effect("per-type concurrency 2 holds with 3 workers sharing one store", () => {
    const Limited = JobType.make({ key: "limited", concurrency: 2 })
    let current = 0
    let peak = 0
    let runs = 0
    const handler = JobType.toLayer(Limited, () =>
      Effect.gen(function* () {
        current++
        runs++
        peak = Math.max(peak, current)
        yield* Effect.sleep("1 second")
      }).pipe(Effect.ensuring(Effect.sync(() => current--)))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      for (const workerId of ["w1", "w2", "w3"]) yield* Worker.make({ workerId, concurrency: 5 })
      const created = yield* Effect.forEach(Array.from({ length: 8 }), () => jobs.enqueue({ type: "limited" }))
      for (const job of created) yield* awaitStatus(job.id, "SUCCEEDED", { step: "100 millis" })
      assert.strictEqual(runs, 8)
      assert.strictEqual(peak, 2)
    }).pipe(Effect.scoped, Effect.provide(engine([Limited], handler)))
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
        const released = yield* jobs.get(stuck.id)
        assert.strictEqual(released.status, "QUEUED")
        assert.strictEqual(released.attempt, 0)
        assert.isNull(released.lease)
        expect(yield* logMessages(stuck.id)).toContain(
          "attempt 1/3 interrupted by worker shutdown; released without spending the attempt"
        )
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
