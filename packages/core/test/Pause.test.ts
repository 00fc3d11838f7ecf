// Pausing a running job: the worker interrupts its handler (finalizers run), the job becomes PAUSED without spending
// an attempt, and a resume queues it again; the next attempt gets the checkpoint the paused one saved and keeps the
// stages it had SUCCEEDED.
import { describe, expect, it } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { awaitJob, awaitStatus, engine, logMessages, settle } from "./WorkerSupport.js"

const BATCHES = 6

/** A job of batches: each batch takes a second and is saved as a checkpoint; a resumed attempt goes on from it. */
const batches = (key: string) => {
  const state = { processed: [] as Array<number>, seen: [] as Array<Option.Option<{ next: number }>>, finalized: 0 }
  const type = JobType.make({
    key,
    stages: [
      { key: "prepare", name: "Prepare" },
      { key: "work", name: "Work" }
    ],
    checkpoint: Schema.Struct({ next: Schema.Int })
  })
  const handler = JobType.toLayer(type, (_params, context) =>
    Effect.gen(function* () {
      state.seen.push(context.lastCheckpoint)
      const start = Option.match(context.lastCheckpoint, { onNone: () => 0, onSome: (c) => c.next })
      if (start === 0) yield* context.stage("prepare").complete
      yield* context.stage("work").start
      for (let i = start; i < BATCHES; i++) {
        yield* Effect.sleep("1 second")
        state.processed.push(i)
        yield* context.stage("work").progress((i + 1) / BATCHES)
        yield* context.checkpoint({ next: i + 1 })
      }
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => state.finalized++)))
  )
  return { type, handler, state }
}

const stageStatus = (job: Job.Job, key: string) => job.progress.stages.find((s) => s.key === key)?.status

describe("Pausing a running job", () => {
  it.effect("interrupts the handler (finalizers run), PAUSED with the attempt given back; resumed, it goes on", () => {
    const { handler, state, type } = batches("pause-batches")
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "50 millis", cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: type.key })
      yield* awaitJob(job.id, (j) => j.status === "RUNNING" && state.processed.length >= 2)
      const pausing = yield* jobs.pause(job.id)
      expect(pausing.status, "a running job is PAUSING until its worker settles it").toBe("PAUSING")
      const paused = yield* awaitStatus(job.id, "PAUSED")
      expect(state.finalized, "the handler's finalizer ran").toBe(1)
      expect(paused.attempt, "the attempt is given back").toBe(0)
      expect(paused.finishedAt).toBe(null)
      const saved = (paused.checkpoint as { next: number }).next
      expect(saved, "the last checkpoint is written with the pause").toBe(state.processed.length)
      expect(stageStatus(paused, "prepare"), "a finished stage shows SUCCEEDED").toBe("SUCCEEDED")
      expect(yield* logMessages(job.id)).toContain("attempt 1/3 paused; the attempt is given back")

      // nothing runs while it is paused
      yield* TestClock.adjust("10 seconds")
      yield* settle
      expect((yield* jobs.get(job.id)).status).toBe("PAUSED")

      const resumed = yield* jobs.resume(job.id)
      expect([resumed.status, resumed.runAt], "resume queues it again, runAt kept").toEqual(["QUEUED", job.runAt])
      const second = yield* awaitJob(
        job.id,
        (j) => j.attempt === 1 && (j.progress.stages[1]?.progress ?? 0) > saved / BATCHES
      )
      expect(stageStatus(second, "prepare"), "the next attempt keeps the SUCCEEDED stage").toBe("SUCCEEDED")
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(done.attempt, "the paused attempt was not counted").toBe(1)
      expect(state.seen.map(Option.getOrNull), "the next attempt got the checkpoint, decoded").toEqual([
        null,
        { next: saved }
      ])
      expect(state.processed, "each batch processed once").toEqual([0, 1, 2, 3, 4, 5])
      expect(done.checkpoint).toEqual({ next: BATCHES })
    }).pipe(Effect.scoped, Effect.provide(engine([type], handler)))
  })

  it.effect("refuses pause and resume of a PAUSING job (409); a cancel overtakes the pause", () => {
    const Stubborn = JobType.make({ key: "pause-stubborn" })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    // a Promise handler that takes its time to stop: the job stays PAUSING meanwhile
    const handler = JobType.toLayerPromise(Stubborn, async (_params, context) => {
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()))
      await released
    })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "50 millis", cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: Stubborn.key })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.pause(job.id)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect((yield* jobs.get(job.id)).status, "PAUSING while the handler stops").toBe("PAUSING")
      for (const action of ["pause", "resume", "run", "retry"] as const) {
        const error = yield* Effect.flip(jobs[action](job.id))
        expect(error, action).toMatchObject({ _tag: "InvalidTransition", from: "PAUSING", action })
      }
      const cancelling = yield* jobs.cancel(job.id)
      expect(cancelling.status, "a cancel of a PAUSING job").toBe("CANCELLING")
      release()
      const cancelled = yield* awaitStatus(job.id, "CANCELLED")
      expect(cancelled.terminalReason).toBe("user")
    }).pipe(Effect.scoped, Effect.provide(engine([Stubborn], handler)))
  })

  it.effect("a Promise handler saves checkpoints and reads the last one after a pause", () => {
    const Counter = JobType.make({ key: "pause-promise", checkpoint: Schema.Struct({ count: Schema.Int }) })
    const seen: Array<unknown> = []
    const handler = JobType.toLayerPromise(Counter, async (_params, context) => {
      seen.push(context.lastCheckpoint)
      context.checkpoint({ count: (context.lastCheckpoint?.count ?? 0) + 1 })
      if (context.lastCheckpoint === undefined) {
        await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()))
      }
    })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "50 millis", cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: Counter.key })
      yield* awaitStatus(job.id, "RUNNING")
      yield* jobs.pause(job.id)
      const paused = yield* awaitStatus(job.id, "PAUSED")
      expect([paused.attempt, paused.checkpoint]).toEqual([0, { count: 1 }])
      yield* jobs.resume(job.id)
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(seen).toEqual([undefined, { count: 1 }])
      expect(done.checkpoint).toEqual({ count: 2 })
    }).pipe(Effect.scoped, Effect.provide(engine([Counter], handler)))
  })

  it.effect("a retry of a finished job starts afresh: no checkpoint", () => {
    const Once = JobType.make({ key: "pause-retry-fresh" })
    const seen: Array<Option.Option<unknown>> = []
    const handler = JobType.toLayer(Once, (_params, context) =>
      Effect.gen(function* () {
        seen.push(context.lastCheckpoint)
        yield* context.checkpoint({ step: seen.length })
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: Once.key })
      expect((yield* awaitStatus(job.id, "SUCCEEDED")).checkpoint).toEqual({ step: 1 })
      const retried = yield* jobs.retry(job.id)
      expect(retried.checkpoint, "the retry clears the checkpoint").toBe(null)
      yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED" && j.attempt === 1 && seen.length === 2)
      expect(seen.map(Option.isSome), "neither attempt got a checkpoint").toEqual([false, false])
    }).pipe(Effect.scoped, Effect.provide(engine([Once], handler)))
  })

  it.effect("a PAUSING job whose worker died is PAUSED by the rescuer, the crashed attempt spent", () => {
    const Orphan = JobType.make({ key: "pause-orphan", queue: "orphans" })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const job = yield* jobs.enqueue({ type: Orphan.key })
      // a worker of another process claims it, and dies
      const now = yield* TestClock.currentTimeMillis
      const [claimed] = yield* store.claim({
        workerId: "dead-worker",
        token: "dead-claim",
        now,
        leaseMs: 5_000,
        limit: 1,
        queues: ["orphans"],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed?.id).toBe(job.id)
      expect((yield* jobs.pause(job.id)).status).toBe("PAUSING")
      // this process's maintenance rescues the expired lease
      yield* Worker.make({ queues: ["other"], pollInterval: "50 millis" })
      const paused = yield* awaitStatus(job.id, "PAUSED", { step: "500 millis" })
      expect([paused.attempt, paused.lease], "the crash spent the attempt; the lease is gone").toEqual([1, null])
    }).pipe(Effect.scoped, Effect.provide(engine([Orphan])))
  })

  it.effect("a deadline that passes while a job is PAUSED times it out (expired)", () => {
    const { handler, state, type } = batches("pause-deadline")
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ pollInterval: "50 millis", cancelPollInterval: "50 millis" })
      const now = yield* TestClock.currentTimeMillis
      const job = yield* jobs.enqueue({ type: type.key, deadline: new Date(now + 30_000).toISOString() })
      yield* awaitJob(job.id, () => state.processed.length >= 1)
      yield* jobs.pause(job.id)
      yield* awaitStatus(job.id, "PAUSED")
      const expired = yield* awaitStatus(job.id, "TIMED_OUT", { step: "500 millis" })
      expect(expired.terminalReason).toBe("expired")
    }).pipe(Effect.scoped, Effect.provide(engine([type], handler)))
  })
})
