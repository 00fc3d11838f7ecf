// Maintenance as a layer of its own, with no worker running: rescue, expiry and their events.
import { assert, describe, expect, it } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, Maintenance } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { awaitStatus, engine } from "./WorkerSupport.js"

const Orphan = JobType.make({ key: "orphan", retry: { maxAttempts: 1 } })

describe("Maintenance.layer", () => {
  it.scoped("rescues an expired lease and expires a deadline without a worker, publishing both to the engine", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const events = yield* jobs.subscribe()
      const now = yield* Clock.currentTimeMillis
      const stalled = yield* jobs.enqueue({ type: "orphan" })
      // a worker claims the job and dies: its lease is never renewed
      yield* store.claim({
        token: "ghost-claim",
        workerId: "ghost",
        now,
        leaseMs: 2_000,
        limit: 1,
        queues: ["default"],
        typeLimits: {},
        queueLimits: {}
      })
      const late = yield* jobs.enqueue({
        type: "orphan",
        runAt: Job.formatTime(now + 60_000),
        deadline: Job.formatTime(now + 3_000)
      })
      const statuses = yield* Effect.fork(
        events.pipe(
          Stream.filter((e) => e._tag === "status"),
          Stream.map((e) => (e._tag === "status" ? [e.jobId, e.status, e.terminalReason] : [])),
          Stream.take(2),
          Stream.runCollect
        )
      )
      yield* Layer.launch(Maintenance.layer({ rescueInterval: "1 second", expireInterval: "1 second" })).pipe(
        Effect.forkScoped
      )
      const failed = yield* awaitStatus(stalled.id, "FAILED")
      assert.strictEqual(failed.terminalReason, "stalled")
      const expired = yield* awaitStatus(late.id, "TIMED_OUT")
      assert.strictEqual(expired.terminalReason, "expired")
      expect(Array.from(yield* Fiber.join(statuses))).toEqual([
        [stalled.id, "FAILED", "stalled"],
        [late.id, "TIMED_OUT", "expired"]
      ])
    }).pipe(Effect.provide(engine([Orphan])))
  )

  it.scoped("does nothing to a job whose lease holds", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const job = yield* jobs.enqueue({ type: "orphan" })
      yield* store.claim({
        token: "live-claim",
        workerId: "alive",
        now: yield* Clock.currentTimeMillis,
        leaseMs: 60_000,
        limit: 1,
        queues: ["default"],
        typeLimits: {},
        queueLimits: {}
      })
      yield* Layer.launch(Maintenance.layer({ rescueInterval: "1 second" })).pipe(Effect.forkScoped)
      yield* TestClock.adjust("10 seconds")
      const held = yield* jobs.get(job.id)
      assert.strictEqual(held.status, "RUNNING")
      assert.strictEqual(held.lease?.workerId, "alive")
    }).pipe(Effect.provide(engine([Orphan])))
  )
})
