// The worker under TestClock: retries with backoff, non-retryable failures, defects, timeouts and deadlines.
import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobType, Jobs, Worker } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { awaitJob, awaitStatus, engine, logMessages } from "./WorkerSupport.js"

const at = (time: string) => Date.parse(time)

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
      assert.strictEqual(startedAt.length, 3, "three runs, no more")
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
