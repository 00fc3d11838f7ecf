// A stopped attempt (timeout, cancel, shutdown) ends when its handler has really ended: a Promise handler's promise
// settled, an Effect handler's finalizers run. Its slot stays taken until then; a handler that never ends is abandoned
// after `abandonAfter`.
import { describe, expect, it } from "@effect/vitest"
import { JobType, Jobs, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { awaitStatus, engine, settle } from "./WorkerSupport.js"

/** A gate the test opens: the handler's cleanup waits on it. */
const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open: () => open(), opened }
}

/** A Promise handler that, once aborted, cleans up until the test opens its gate; counts what runs at once. */
const slowCleanup = (key: string) => {
  const state = { starts: 0, running: 0, peak: 0, cleanups: 0, gate: gate() }
  const type = JobType.make({ key, retry: { maxAttempts: 2 } })
  const handler = JobType.toLayerPromise(type, async (_params, context) => {
    state.starts++
    state.running++
    state.peak = Math.max(state.peak, state.running)
    try {
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()))
      await state.gate.opened
      state.cleanups++
    } finally {
      state.running--
    }
    throw new Error("aborted")
  })
  return { type, handler, state }
}

describe("Worker: stopped handlers", () => {
  it.effect(
    "a timed-out Promise handler keeps its slot until its promise settles; its retry never runs beside it",
    () => {
      const { handler, state, type } = slowCleanup("promise-timeout")
      const Other = JobType.make({ key: "other" })
      const otherHandler = JobType.toLayer(Other, () => Effect.void)
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const worker = yield* Worker.make({ concurrency: 1, pollInterval: "50 millis" })
        const job = yield* jobs.enqueue({ type: type.key, timeoutMs: 100 })
        yield* awaitStatus(job.id, "RUNNING")
        const other = yield* jobs.enqueue({ type: Other.key })
        // well past the timeout and any backoff: the attempt is still running its cleanup
        yield* TestClock.adjust("5 seconds")
        yield* settle
        expect((yield* jobs.get(job.id)).status, "the attempt has not ended").toBe("RUNNING")
        expect(yield* worker.running, "its slot is still taken").toBe(1)
        expect((yield* jobs.get(other.id)).status, "the only slot is not free for another job").toBe("QUEUED")
        state.gate.open()
        yield* awaitStatus(other.id, "SUCCEEDED")
        const timedOut = yield* awaitStatus(job.id, "TIMED_OUT", { within: "1 minute" })
        expect(timedOut.attempt).toBe(2)
        expect(state.starts, "two attempts").toBe(2)
        expect(state.peak, "never two attempts of the job at once").toBe(1)
        expect(state.cleanups, "each attempt's cleanup ran to its end").toBe(2)
      }).pipe(Effect.scoped, Effect.provide(engine([type, Other], Layer.merge(handler, otherHandler))))
    }
  )

  it.effect("a cancelled Promise handler's job stays CANCELLING until its cleanup has run", () => {
    const { handler, state, type } = slowCleanup("promise-cancel")
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: type.key })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.cancel(job.id)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect((yield* jobs.get(job.id)).status, "not CANCELLED while cleanup runs").toBe("CANCELLING")
      expect(state.cleanups).toBe(0)
      state.gate.open()
      yield* awaitStatus(job.id, "CANCELLED")
      expect(state.cleanups, "the cleanup ran before CANCELLED").toBe(1)
    }).pipe(Effect.scoped, Effect.provide(engine([type], handler)))
  })

  it.effect("shutdown waits for a Promise handler's promise after the grace period, then releases the job", () => {
    const { handler, state, type } = slowCleanup("promise-shutdown")
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const scope = yield* Scope.make()
      yield* Worker.make({ gracePeriod: "100 millis" }).pipe(Scope.extend(scope))
      const job = yield* jobs.enqueue({ type: type.key })
      yield* awaitStatus(job.id, "RUNNING")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(closing.unsafePoll(), "the shutdown waits for the handler").toBeNull()
      expect((yield* jobs.get(job.id)).status).toBe("RUNNING")
      state.gate.open()
      yield* Fiber.join(closing)
      const released = yield* jobs.get(job.id)
      expect([released.status, released.attempt, state.cleanups]).toEqual(["QUEUED", 0, 1])
    }).pipe(Effect.scoped, Effect.provide(engine([type], handler)))
  })

  it.effect("an Effect handler's slow finalizer delays the end of its timed-out attempt", () => {
    const Slow = JobType.make({ key: "slow-finalizer", retry: { maxAttempts: 1 } })
    let finalized = false
    const handler = JobType.toLayer(Slow, () =>
      Effect.never.pipe(
        Effect.onInterrupt(() =>
          Effect.zipRight(
            Effect.sleep("2 seconds"),
            Effect.sync(() => (finalized = true))
          )
        )
      )
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: Slow.key, timeoutMs: 100 })
      yield* awaitStatus(job.id, "RUNNING")
      yield* TestClock.adjust("1 second")
      yield* settle
      expect((yield* jobs.get(job.id)).status, "the finalizer still runs").toBe("RUNNING")
      const timedOut = yield* awaitStatus(job.id, "TIMED_OUT")
      expect(finalized, "ended after its finalizer").toBe(true)
      expect(timedOut.terminalReason).toBe("timeout")
    }).pipe(Effect.scoped, Effect.provide(engine([Slow], handler)))
  })

  it.effect("a handler that ignores its signal is abandoned after abandonAfter, and its attempt settled", () => {
    const Deaf = JobType.make({ key: "deaf" })
    let calls = 0
    const handler = JobType.toLayerPromise(Deaf, () => {
      calls++
      return new Promise<never>(() => {})
    })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ abandonAfter: "10 seconds", cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: Deaf.key })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.cancel(job.id)
      yield* TestClock.adjust("9 seconds")
      yield* settle
      expect((yield* jobs.get(job.id)).status, "waited for up to abandonAfter").toBe("CANCELLING")
      const cancelled = yield* awaitStatus(job.id, "CANCELLED")
      expect(cancelled.terminalReason).toBe("user")
      expect(calls).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(engine([Deaf], handler)))
  })
})
