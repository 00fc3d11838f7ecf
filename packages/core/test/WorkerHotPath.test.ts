// The worker's fast paths (handlers started on a runtime that already holds their services, synchronous Schema
// work, attempts started on the claimer's stack) keep the behaviour of the general path.
import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { awaitStatus, engine, logMessages, settle } from "./WorkerSupport.js"

class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}

// a transformation that answers on a later turn of the fiber: its parser returns an Effect, never an Either
const Later = Schema.transformOrFail(Schema.Number, Schema.Number, {
  strict: true,
  decode: (n) => Effect.zipRight(Effect.yieldNow(), ParseResult.succeed(n * 2)),
  encode: (n, _, ast) =>
    Effect.zipRight(
      Effect.yieldNow(),
      n < 0 ? ParseResult.fail(new ParseResult.Type(ast, n, "negative")) : ParseResult.succeed(n / 2)
    )
})

describe("Worker hot path", () => {
  it.effect("gives each handler the services of its own layer", () => {
    const Hello = JobType.make({ key: "hello", result: Schema.String })
    const Salut = JobType.make({ key: "salut", result: Schema.String })
    const greet = (_: unknown) => Greeting
    const handlers = Layer.mergeAll(
      JobType.toLayer(Hello, greet).pipe(Layer.provide(Layer.succeed(Greeting, "hello"))),
      JobType.toLayer(Salut, greet).pipe(Layer.provide(Layer.succeed(Greeting, "salut")))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const hello = yield* jobs.enqueue({ type: "hello" })
      const salut = yield* jobs.enqueue({ type: "salut" })
      yield* awaitStatus(hello.id, "SUCCEEDED")
      yield* awaitStatus(salut.id, "SUCCEEDED")
      assert.strictEqual((yield* jobs.result(hello.id)).value, "hello")
      assert.strictEqual((yield* jobs.result(salut.id)).value, "salut")
    }).pipe(Effect.scoped, Effect.provide(engine([Hello, Salut], handlers)))
  })

  it.effect("encodes results with an asynchronous Schema, and fails the attempt when that encoding fails", () => {
    // params are checked synchronously at create, so only a result Schema can be asynchronous in practice
    const Double = JobType.make({
      key: "double",
      params: Schema.Struct({ n: Schema.Number }),
      result: Schema.Struct({ twice: Later }),
      retry: { maxAttempts: 1 }
    })
    const handler = JobType.toLayer(Double, ({ n }) => Effect.succeed({ twice: n * 2 }))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const good = yield* jobs.enqueue({ type: "double", params: { n: 3 } })
      const bad = yield* jobs.enqueue({ type: "double", params: { n: -3 } })
      yield* awaitStatus(good.id, "SUCCEEDED")
      // stored encoded: the handler's 6 encodes back to 3
      expect((yield* jobs.result(good.id)).value).toEqual({ twice: 3 })
      const failed = yield* awaitStatus(bad.id, "FAILED")
      assert.strictEqual(failed.lastError?.tag, "Unrunnable")
      expect(failed.lastError?.message).toContain('result does not match job type "double"')
      expect(failed.lastError?.message).toContain("negative")
    }).pipe(Effect.scoped, Effect.provide(engine([Double], handler)))
  })

  it.effect("a handler that throws instead of returning an Effect fails as a defect, and the worker goes on", () => {
    const Thrower = JobType.make({ key: "thrower", retry: { maxAttempts: 1 } })
    let calls = 0
    const handler = JobType.toLayer(Thrower, (params): Effect.Effect<void> => {
      calls++
      if ((params as { readonly ok?: boolean }).ok === true) return Effect.void
      throw new Error("thrown before any Effect")
    })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ workerId: "w-throw" })
      const bad = yield* jobs.enqueue({ type: "thrower", params: {} })
      const failed = yield* awaitStatus(bad.id, "FAILED")
      assert.strictEqual(failed.terminalReason, "error")
      assert.strictEqual(failed.lastError?.message, "thrown before any Effect")
      assert.strictEqual(failed.lastError?.tag, "Defect")
      expect(yield* logMessages(bad.id)).toEqual([
        "attempt 1/1 started on worker w-throw",
        "attempt 1/1 failed: thrown before any Effect; no attempts left"
      ])
      const good = yield* jobs.enqueue({ type: "thrower", params: { ok: true } })
      yield* awaitStatus(good.id, "SUCCEEDED")
      assert.strictEqual(calls, 2)
    }).pipe(Effect.scoped, Effect.provide(engine([Thrower], handler)))
  })

  it.effect("a job cancelled during its handler's first synchronous steps is interrupted and ends CANCELLED", () => {
    const Selfish = JobType.make({ key: "selfish" })
    let interrupted = false
    let engineOfTest: Jobs.Jobs.Service | undefined
    const handler = JobType.toLayer(Selfish, (_, context) =>
      Effect.gen(function* () {
        const jobs = engineOfTest!
        // all synchronous over the memory store: the worker learns of the cancel before the handler first waits
        yield* jobs.cancel(context.job.id)
        yield* context.heartbeat
        yield* Effect.never
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      engineOfTest = jobs
      const worker = yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "selfish" })
      const cancelled = yield* awaitStatus(job.id, "CANCELLED", { within: "1 second" })
      assert.strictEqual(cancelled.terminalReason, "user")
      assert.isTrue(interrupted)
      yield* worker.awaitIdle
      expect(yield* logMessages(job.id)).toContain("attempt 1/3 cancelled")
    }).pipe(Effect.scoped, Effect.provide(engine([Selfish], handler)))
  })

  it.effect("a failed attempt is the worker's to report: its fiber logs nothing of its own, even at Debug", () => {
    const Failing = JobType.make({ key: "failing", retry: { maxAttempts: 1 } })
    const handler = JobType.toLayer(Failing, () =>
      Effect.fail(new JobType.JobFailure({ message: "no luck", retryable: false }))
    )
    const messages: Array<string> = []
    const capture = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ message }) => {
        messages.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "failing" })
      const failed = yield* awaitStatus(job.id, "FAILED")
      assert.strictEqual(failed.lastError?.message, "no luck")
      expect(messages.filter((m) => m.includes("unhandled"))).toEqual([])
    }).pipe(
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.scoped,
      Effect.provide(Layer.merge(engine([Failing], handler), capture))
    )
  })

  it.effect("a handler that returns nothing stores no result; one that returns null stores null", () => {
    const Quiet = JobType.make({ key: "quiet", retry: { maxAttempts: 1 } })
    const Nil = JobType.make({ key: "nil", retry: { maxAttempts: 1 } })
    const handlers = Layer.mergeAll(
      JobType.toLayer(Quiet, () => Effect.void),
      JobType.toLayer(Nil, () => Effect.succeed(null))
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const quiet = yield* jobs.enqueue({ type: "quiet" })
      const nil = yield* jobs.enqueue({ type: "nil" })
      const done = yield* awaitStatus(quiet.id, "SUCCEEDED")
      yield* awaitStatus(nil.id, "SUCCEEDED")
      assert.isNull(done.resultId)
      const missing = yield* Effect.flip(jobs.result(quiet.id))
      assert.strictEqual(missing._tag, "ResultNotFound")
      assert.isNull((yield* jobs.result(nil.id)).value)
      expect(yield* logMessages(quiet.id)).toEqual([
        expect.stringMatching(/^attempt 1\/1 started on worker /),
        "attempt 1/1 succeeded"
      ])
    }).pipe(Effect.scoped, Effect.provide(engine([Quiet, Nil], handlers)))
  })

  it.effect("after a claim that took every due job, ending and settling jobs do not send the worker claiming", () => {
    const Quick = JobType.make({ key: "quick", retry: { maxAttempts: 1 } })
    const handler = JobType.toLayer(Quick, () => Effect.void)
    let claims = 0
    const counting = Layer.effect(
      JobStore.JobStore,
      Effect.map(JobStore.JobStore, (store) => ({
        ...store,
        claim: (options: Parameters<typeof store.claim>[0]) =>
          Effect.suspend(() => {
            claims++
            return store.claim(options)
          })
      }))
    ).pipe(Layer.provide(MemoryJobStore.layer))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "1 hour" })
      yield* settle
      const before = claims
      for (let i = 0; i < 20; i++) {
        const job = yield* jobs.enqueue({ type: "quick" })
        yield* awaitStatus(job.id, "SUCCEEDED")
        yield* settle
      }
      // one claim per enqueue (its signal wakes the worker); none for the job's end or its settlement
      assert.strictEqual(claims - before, 20)
    }).pipe(Effect.scoped, Effect.provide(engine([Quick], handler, counting)))
  })
})
