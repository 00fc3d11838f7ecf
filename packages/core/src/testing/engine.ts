/**
 * The engine conformance suite: end-to-end behaviours of the engine and the worker that depend on the store (results,
 * cancel signals, the settle ladder after a cancel, rescue, limits across workers, release on shutdown, progress),
 * over a real store, with live time and short intervals. Behaviours of the worker alone (backoff, timeouts,
 * deadlines, handlers that ignore interruption) run once, under TestClock, in core's `Worker*.test.ts`. Each store package runs it with one line:
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
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { uuidv7 } from "uuidv7"
import type * as Job from "../Job.js"
import { JobStore, type StoreSignal } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Jobs from "../Jobs.js"
import * as Worker from "../Worker.js"
import { engineDependencyTests } from "./engineDependencies.js"
import { engineItemsConformance } from "./engineItems.js"
import { engineLogTests } from "./engineLogs.js"
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

/** The messages of a job's log, oldest first. */
const logMessages = (id: string) =>
  Effect.map(
    Effect.flatMap(Jobs.Jobs, (jobs) => jobs.logs(id, { limit: 5000 })),
    (page) => page.items.map((line) => line.message).reverse()
  )

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
    engineDependencyTests(it)
    engineLogTests(it)

    it.effect("runs jobs to SUCCEEDED and stores their results", () => {
      const queue = unique("q")
      const Double = JobType.make({
        key: unique("double"),
        queue,
        params: Schema.Struct({ n: Schema.Number }),
        // a field whose encoded form differs: the stored result is the encoded one
        result: Schema.Struct({ doubled: Schema.Number, at: Schema.DateFromString })
      })
      const handler = JobType.toLayer(Double, ({ n }, context) =>
        Effect.gen(function* () {
          yield* context.log.info(`doubling ${n}`)
          return { doubled: n * 2, at: new Date(0) }
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
          expect(done.resultId, "result recorded").not.toBeNull()
          const result = yield* jobs.result(job.id)
          expect(result.value).toEqual({ doubled: (i + 1) * 2, at: "1970-01-01T00:00:00.000Z" })
          const logs = yield* jobs.logs(job.id)
          expect(
            logs.items.map((l) => l.message).reverse(),
            "the attempt's start and end lines, and the handler's, each once"
          ).toEqual([expect.stringMatching(/^attempt 1\/3 started/), `doubling ${i + 1}`, "attempt 1/3 succeeded"])
        }
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
        const cancelling = yield* jobs.cancel(job.id)
        expect(cancelling.status).toBe("CANCELLING")
        const cancelled = yield* awaitStatus(job.id, "CANCELLED")
        expect(cancelled.terminalReason).toBe("user")
        expect(released, "the handler's finalizer ran").toBe(true)
        expect(yield* logMessages(job.id), "the attempt's end line").toContain("attempt 1/3 cancelled")
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
        const deaf: JobStore.Service = {
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
          expect(yield* logMessages(job.id), "the success is logged, not written").toContain("attempt 1/3 succeeded")
        }).pipe(Effect.scoped, Effect.provide(engine(handler)), Effect.provideService(JobStore, deaf))
      })
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
        const survivor = unique("survivor")
        yield* Worker.make({ ...fastWorkerOptions(queue), workerId: survivor })
        const done = yield* awaitStatus(job.id, "SUCCEEDED")
        expect(done.attempt, "the vanished attempt is counted").toBe(2)
        expect(yield* logMessages(job.id), "only the second attempt logged, once").toEqual([
          `attempt 2/3 started on worker ${survivor}`,
          "attempt 2/3 succeeded"
        ])
      }).pipe(Effect.scoped, Effect.provide(engine(handler)))
    })

    it.effect("per-type concurrency holds across workers sharing the store", () => {
      const queue = unique("q")
      const Limited = JobType.make({ key: unique("limited"), queue, concurrency: 2 })
      let current = 0
      let peak = 0
      let runs = 0
      const handler = JobType.toLayer(Limited, () =>
        Effect.suspend(() => {
          current++
          runs++
          peak = Math.max(peak, current)
          return Effect.sleep("100 millis")
        }).pipe(Effect.ensuring(Effect.sync(() => current--)))
      )
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (let i = 0; i < 3; i++) yield* Worker.make(fastWorkerOptions(queue))
        const created = yield* Effect.forEach(Array.from({ length: 6 }), () => jobs.enqueue({ type: Limited.key }))
        for (const job of created) yield* awaitStatus(job.id, "SUCCEEDED")
        expect(runs, "each job ran once").toBe(6)
        expect(peak, "the limit is reached, never passed").toBe(2)
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
        expect(yield* logMessages(job.id)).toContain(
          "attempt 1/3 interrupted by worker shutdown; released without spending the attempt"
        )
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
