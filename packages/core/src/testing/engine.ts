/**
 * The engine conformance suite: end-to-end behaviours of the engine and the worker over a real store, with live
 * time and short intervals. Each store package runs it with one line:
 * `runEngineConformance("SqliteJobStore", SqliteJobStore.layer({ filename: ":memory:" }))`.
 *
 * The suite builds one store for all its tests; each test builds its own engine and workers over it, and keeps to
 * its own queue and job types, so leftovers of one test are never claimed by another.
 *
 * @since 0.1.0
 */
import { expect, layer } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { uuidv7 } from "uuidv7"
import type * as Job from "../Job.js"
import { JobStore, type StoreSignal } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Jobs from "../Jobs.js"
import * as Worker from "../Worker.js"
import { engineItemsConformance } from "./engineItems.js"
import { fleetTests } from "./fleet.js"

/** The claim token of this file's claims (every worker write names its claim's token). */
const TOKEN = "test-claim"

/** Worker options with every interval short, for live-time tests. */
export const fastWorkerOptions = (queue: string): Worker.WorkerOptions => ({
  queues: [queue],
  concurrency: 10,
  pollInterval: "50 millis",
  heartbeatInterval: "100 millis",
  leaseDuration: "1 second",
  cancelPollInterval: "50 millis",
  flushInterval: "20 millis",
  rescueInterval: "100 millis",
  expireInterval: "100 millis",
  gracePeriod: "200 millis"
})

const unique = (prefix: string) => `${prefix}-${uuidv7().slice(-12)}`

/** An engine over the store in context, with these handlers registered. */
const engine = (handlers: Layer.Layer<never, never, JobType.JobRegistry>) =>
  handlers.pipe(Layer.provideMerge(Jobs.layer()))

/** Polls (live time) until the job satisfies `until`; dies naming the last status after `seconds`. */
const awaitJob = (id: string, until: (job: Job.Job) => boolean, seconds = 15) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const end = (yield* Clock.currentTimeMillis) + seconds * 1000
    for (;;) {
      const job = yield* jobs.get(id)
      if (until(job)) return job
      if ((yield* Clock.currentTimeMillis) > end) {
        return yield* Effect.dieMessage(`job ${id} is still ${job.status} (attempt ${job.attempt})`)
      }
      yield* Effect.sleep("20 millis")
    }
  })

const awaitStatus = (id: string, status: Job.JobStatus) => awaitJob(id, (job) => job.status === status)

const awaitFlag = (check: () => boolean, what: string, seconds = 15) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds * 50; i++) {
      if (check()) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`never happened: ${what}`)
  })

/** Registers the engine conformance suite (a vitest `describe` block) for one store. */
export const runEngineConformance = (name: string, storeLayer: Layer.Layer<JobStore, unknown>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: 60_000 })(`${name} engine`, (it) => {
    fleetTests(it)

    it.effect("runs jobs to SUCCEEDED and stores their results", () => {
      const queue = unique("q")
      const Double = JobType.make({
        key: unique("double"),
        queue,
        params: Schema.Struct({ n: Schema.Number }),
        result: Schema.Struct({ doubled: Schema.Number })
      })
      const handler = JobType.toLayer(Double, ({ n }, context) =>
        Effect.gen(function* () {
          yield* context.log.info(`doubling ${n}`)
          return { doubled: n * 2 }
        })
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const created = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => jobs.enqueue({ type: Double.key, params: { n } }))
        for (const [i, job] of created.entries()) {
          const done = yield* awaitStatus(job.id, "SUCCEEDED")
          expect(done.attempt, "one attempt").toBe(1)
          expect(done.progress.summary.progress, "summary progress of a success").toBe(1)
          expect(done.lease, "lease cleared").toBeNull()
          const result = yield* jobs.result(job.id)
          expect(result.value).toEqual({ doubled: (i + 1) * 2 })
          const logs = yield* jobs.logs(job.id)
          expect(
            logs.items.map((l) => l.message).reverse(),
            "the attempt's start and end lines, and the handler's, each once"
          ).toEqual([expect.stringMatching(/^attempt 1\/3 started/), `doubling ${i + 1}`, "attempt 1/3 succeeded"])
        }
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("retries with backoff, then fails with the last error", () => {
      const queue = unique("q")
      const Flaky = JobType.make({
        key: unique("flaky"),
        queue,
        retry: { maxAttempts: 3, backoff: Schedule.spaced("50 millis") }
      })
      let calls = 0
      const handler = JobType.toLayer(Flaky, () =>
        Effect.suspend(() => {
          calls++
          return Effect.fail(new Error(`boom ${calls}`))
        })
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const job = yield* jobs.enqueue({ type: Flaky.key })
        const failed = yield* awaitStatus(job.id, "FAILED")
        expect(failed.attempt).toBe(3)
        expect(failed.terminalReason).toBe("error")
        expect(failed.lastError?.message).toBe("boom 3")
        expect(calls).toBe(3)
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("times out attempts, retries them, then ends TIMED_OUT", () => {
      const queue = unique("q")
      const Slow = JobType.make({
        key: unique("slow"),
        queue,
        timeout: "100 millis",
        retry: { maxAttempts: 2, backoff: Schedule.spaced("20 millis") }
      })
      let interrupted = 0
      const handler = JobType.toLayer(Slow, () =>
        Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const job = yield* jobs.enqueue({ type: Slow.key })
        const timedOut = yield* awaitStatus(job.id, "TIMED_OUT")
        expect(timedOut.attempt).toBe(2)
        expect(timedOut.terminalReason).toBe("timeout")
        yield* awaitFlag(() => interrupted === 2, "both attempts interrupted")
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("cancel of a running job interrupts its handler, runs its finalizers, and ends CANCELLED", () => {
      const queue = unique("q")
      const Long = JobType.make({ key: unique("long"), queue })
      let released = false
      const handler = JobType.toLayer(Long, () =>
        Effect.acquireRelease(Effect.void, () => Effect.sync(() => (released = true))).pipe(
          Effect.zipRight(Effect.never),
          Effect.scoped
        )
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const job = yield* jobs.enqueue({ type: Long.key })
        yield* awaitStatus(job.id, "RUNNING")
        yield* jobs.cancel(job.id)
        const cancelled = yield* awaitStatus(job.id, "CANCELLED")
        expect(cancelled.terminalReason).toBe("user")
        expect(released, "the handler's finalizer ran").toBe(true)
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("a late success after a cancel does not overwrite CANCELLED", () => {
      const queue = unique("q")
      const Unaware = JobType.make({ key: unique("unaware"), queue })
      const started = { value: false }
      const finish = { value: false }
      const handler = JobType.toLayer(Unaware, () =>
        Effect.gen(function* () {
          started.value = true
          while (!finish.value) yield* Effect.sleep("10 millis")
          return "late"
        })
      )
      return Effect.gen(function* () {
        const store = yield* JobStore
        // a worker that never hears of the cancel: no signals, no status poll, a long heartbeat
        const deaf: JobStore = {
          ...store,
          crossProcessSignals: true,
          subscribe: Effect.acquireRelease(Queue.unbounded<StoreSignal>(), Queue.shutdown)
        }
        yield* Effect.gen(function* () {
          const jobs = yield* Jobs.Jobs
          yield* Worker.make({
            ...fastWorkerOptions(queue),
            heartbeatInterval: "10 seconds",
            leaseDuration: "30 seconds"
          })
          const job = yield* jobs.enqueue({ type: Unaware.key })
          yield* awaitFlag(() => started.value, "the handler started")
          const cancelling = yield* jobs.cancel(job.id)
          expect(cancelling.status).toBe("CANCELLING")
          finish.value = true
          const cancelled = yield* awaitStatus(job.id, "CANCELLED")
          expect(cancelled.terminalReason).toBe("user")
          expect(cancelled.resultId, "no result recorded").toBeNull()
          const missing = yield* Effect.flip(jobs.result(job.id))
          expect(missing._tag).toBe("ResultNotFound")
        }).pipe(Effect.scoped, Effect.provide(engine(handler)), Effect.provideService(JobStore, deaf))
      })
    })

    it.effect("a handler that ignores interruption still ends CANCELLED", () => {
      const queue = unique("q")
      const Stubborn = JobType.make({ key: unique("stubborn"), queue })
      let finished = false
      const handler = JobType.toLayer(Stubborn, () =>
        Effect.uninterruptible(Effect.sleep("300 millis")).pipe(
          Effect.ensuring(Effect.sync(() => (finished = true))),
          Effect.as("late")
        )
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const job = yield* jobs.enqueue({ type: Stubborn.key })
        yield* awaitStatus(job.id, "RUNNING")
        yield* jobs.cancel(job.id)
        const cancelled = yield* awaitStatus(job.id, "CANCELLED")
        expect(finished, "the handler ran to its end first").toBe(true)
        expect(cancelled.resultId).toBeNull()
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("interrupts a running job at its deadline and ends it TIMED_OUT (expired)", () => {
      const queue = unique("q")
      const Endless = JobType.make({ key: unique("endless"), queue })
      let interrupted = false
      const handler = JobType.toLayer(Endless, () =>
        Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const now = yield* Clock.currentTimeMillis
        const job = yield* jobs.enqueue({ type: Endless.key, deadline: new Date(now + 300).toISOString() })
        const expired = yield* awaitStatus(job.id, "TIMED_OUT")
        expect(expired.terminalReason).toBe("expired")
        yield* awaitFlag(() => interrupted, "the handler was interrupted")
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("a job whose worker vanished is rescued and completes on another worker", () => {
      const queue = unique("q")
      const Echo = JobType.make({ key: unique("echo"), queue })
      const handler = JobType.toLayer(Echo, () => Effect.succeed("done"))
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const store = yield* JobStore
        const job = yield* jobs.enqueue({ type: Echo.key })
        const claimed = yield* store.claim({
          token: TOKEN,
          workerId: unique("ghost"),
          now: yield* Clock.currentTimeMillis,
          leaseMs: 300,
          limit: 10,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
        expect(claimed.map((r) => r.id)).toEqual([job.id])
        yield* Worker.make(fastWorkerOptions(queue))
        const done = yield* awaitStatus(job.id, "SUCCEEDED")
        expect(done.attempt, "the vanished attempt is counted").toBe(2)
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("per-type concurrency holds across workers sharing the store", () => {
      const queue = unique("q")
      const Limited = JobType.make({ key: unique("limited"), queue, concurrency: 2 })
      let current = 0
      let peak = 0
      const handler = JobType.toLayer(Limited, () =>
        Effect.suspend(() => {
          current++
          peak = Math.max(peak, current)
          return Effect.sleep("100 millis")
        }).pipe(Effect.ensuring(Effect.sync(() => current--)))
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (let i = 0; i < 3; i++) yield* Worker.make(fastWorkerOptions(queue))
        const created = yield* Effect.forEach(Array.from({ length: 6 }), () => jobs.enqueue({ type: Limited.key }))
        for (const job of created) yield* awaitStatus(job.id, "SUCCEEDED")
        expect(peak).toBeLessThanOrEqual(2)
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("graceful shutdown releases running jobs without spending an attempt", () => {
      const queue = unique("q")
      const Stuck = JobType.make({ key: unique("stuck"), queue })
      let interrupted = false
      const handler = JobType.toLayer(Stuck, () =>
        Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const scope = yield* Scope.make()
        yield* Worker.make(fastWorkerOptions(queue)).pipe(Scope.extend(scope))
        const job = yield* jobs.enqueue({ type: Stuck.key })
        yield* awaitStatus(job.id, "RUNNING")
        yield* Scope.close(scope, Exit.void)
        expect(interrupted).toBe(true)
        const released = yield* jobs.get(job.id)
        expect(released.status).toBe("QUEUED")
        expect(released.attempt).toBe(0)
        expect(released.lease).toBeNull()
        // the job is claimable again
        const store = yield* JobStore
        const reclaimed = yield* store.claim({
          token: TOKEN,
          workerId: unique("next"),
          now: yield* Clock.currentTimeMillis,
          leaseMs: 1000,
          limit: 10,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
        expect(reclaimed.map((r) => [r.id, r.attempt])).toEqual([[job.id, 1]])
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("progress is written while a job runs and is exact when it ends", () => {
      const queue = unique("q")
      const Steps = JobType.make({ key: unique("steps"), queue, stages: [{ key: "s", name: "S" }] })
      let reachedHalf = false
      let release = false
      const handler = JobType.toLayer(Steps, (_, context) =>
        Effect.gen(function* () {
          const stage = context.stage("s")
          yield* stage.start
          for (let i = 1; i <= 1000; i++) yield* stage.progress(i / 2000)
          reachedHalf = true
          while (!release) yield* Effect.sleep("10 millis")
          yield* stage.complete
        })
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* Worker.make(fastWorkerOptions(queue))
        const job = yield* jobs.enqueue({ type: Steps.key })
        yield* awaitFlag(() => reachedHalf, "the handler reported half")
        const half = yield* awaitJob(job.id, (j) => j.progress.stages[0]?.progress === 0.5)
        expect(half.progress.summary.progress).toBe(0.5)
        expect(half.progress.stages[0].status).toBe("RUNNING")
        release = true
        const done = yield* awaitStatus(job.id, "SUCCEEDED")
        expect(done.progress.stages[0]).toMatchObject({ status: "SUCCEEDED", progress: 1 })
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    engineItemsConformance(it, fastWorkerOptions, engine)
  })
