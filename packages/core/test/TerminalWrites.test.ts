// What a job reads like once it is over: stages closed at every terminal status (worker, cancel and rescue paths),
// bulk deletes announced, and batches that never name a batch that does not exist.
import { describe, expect, it } from "@effect/vitest"
import { Jobloom, JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { awaitStatus, engine, settle } from "./WorkerSupport.js"

const stages = [
  { key: "fetch", name: "Fetch" },
  { key: "process", name: "Process" }
]

const stageStates = (job: {
  readonly progress: { readonly stages: ReadonlyArray<{ status: string; progress: number }> }
}) => job.progress.stages.map((s) => [s.status, s.progress])

describe("stages at a terminal status", () => {
  const Untouched = JobType.make({ key: "untouched", stages })
  const Failing = JobType.make({ key: "failing", stages, retry: { maxAttempts: 1 } })
  const Endless = JobType.make({ key: "endless", stages })

  it.effect("a SUCCEEDED job whose handler never touched its stages shows them SUCCEEDED at 1", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: Untouched.key })
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(stageStates(done)).toEqual([
        ["SUCCEEDED", 1],
        ["SUCCEEDED", 1]
      ])
      expect(done.progress.summary).toEqual({ status: "SUCCEEDED", progress: 1 })
    }).pipe(
      Effect.scoped,
      Effect.provide(
        engine(
          [Untouched],
          JobType.toLayer(Untouched, () => Effect.void)
        )
      )
    )
  )

  it.effect("a FAILED job shows its running stage FAILED and its pending ones PENDING", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: Failing.key })
      const failed = yield* awaitStatus(job.id, "FAILED")
      expect(stageStates(failed)).toEqual([
        ["FAILED", 0.5],
        ["PENDING", 0]
      ])
    }).pipe(
      Effect.scoped,
      Effect.provide(
        engine(
          [Failing],
          JobType.toLayer(Failing, (_, context) =>
            Effect.zipRight(context.stage("fetch").update({ status: "RUNNING", progress: 0.5 }), Effect.fail("boom"))
          )
        )
      )
    )
  )

  it.effect("a cancelled running job shows its running stage CANCELLED", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ cancelPollInterval: "50 millis" })
      const job = yield* jobs.enqueue({ type: Endless.key })
      yield* awaitStatus(job.id, "RUNNING")
      yield* TestClock.adjust("100 millis")
      yield* jobs.cancel(job.id)
      const cancelled = yield* awaitStatus(job.id, "CANCELLED")
      expect(stageStates(cancelled)).toEqual([
        ["SUCCEEDED", 1],
        ["CANCELLED", 0]
      ])
    }).pipe(
      Effect.scoped,
      Effect.provide(
        engine(
          [Endless],
          JobType.toLayer(Endless, (_, context) =>
            Effect.zipRight(
              Effect.zipRight(context.stage("fetch").complete, context.stage("process").start),
              Effect.never
            )
          )
        )
      )
    )
  )

  it.effect("a job rescued without attempts left (FAILED, stalled) shows its running stage FAILED", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const job = yield* jobs.enqueue({ type: "orphaned", maxAttempts: 1 })
      const now = yield* Clock.currentTimeMillis
      const token = "ghost-claim"
      yield* store.claim({
        workerId: "ghost",
        token,
        now,
        leaseMs: 1_000,
        limit: 1,
        queues: ["default"],
        typeLimits: {},
        queueLimits: {}
      })
      const progress = JSON.stringify({
        summary: { status: "RUNNING", progress: 0.25 },
        stages: [{ key: "only", name: "Only", status: "RUNNING", progress: 0.25, params: [] }],
        items: null
      })
      yield* store.saveProgress({ workerId: "ghost", now, updates: [{ id: job.id, token, progress }] })
      // a worker that runs maintenance only (no handler for the type) rescues the ghost's job
      yield* Worker.make({ rescueInterval: "1 second" })
      yield* TestClock.adjust("3 seconds")
      const failed = yield* awaitStatus(job.id, "FAILED")
      expect(failed.terminalReason).toBe("stalled")
      expect(stageStates(failed)).toEqual([["FAILED", 0.25]])
      expect(failed.progress.summary.status).toBe("FAILED")
    }).pipe(Effect.scoped, Effect.provide(engine([JobType.make({ key: "orphaned" })])))
  )
})

describe("bulk delete", () => {
  it.effect("publishes a deleted event for every job it deletes", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const created = yield* Effect.forEach([1, 2, 3], () => jobs.create({ type: "doomed" }))
      const kept = yield* jobs.enqueue({ type: "doomed" })
      const events = yield* jobs.subscribe()
      const collected = yield* Effect.fork(
        Stream.runCollect(
          Stream.take(
            Stream.filter(events, (e) => e._tag === "deleted"),
            3
          )
        )
      )
      yield* settle
      const count = yield* jobs.deleteMany({ types: ["doomed"] })
      expect(count).toBe(3)
      const deleted = Chunk.toArray(yield* Fiber.join(collected)).map((e) => e.jobId)
      expect(deleted.sort()).toEqual(created.map((c) => c.job.id).sort())
      expect((yield* jobs.get(kept.id)).status, "a queued job is not bulk-deleted").toBe("QUEUED")
    }).pipe(Effect.scoped, Effect.provide(engine([JobType.make({ key: "doomed" })])))
  )
})

describe("batches", () => {
  const Keyed = JobType.make({ key: "keyed" })

  it.effect("a repeated batch whose jobs all hit held idempotency keys answers the first batch, which resolves", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const inputs = [
        { type: Keyed.key, idempotencyKey: "k1" },
        { type: Keyed.key, idempotencyKey: "k2" }
      ]
      const first = yield* jobs.createMany(inputs)
      const again = yield* jobs.createMany(inputs)
      expect(again.batchId).toBe(first.batchId)
      expect(again.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id))
      expect((yield* jobs.batch(again.batchId!)).total).toBe(2)
      // holders of different batches: no batch to name
      const other = yield* jobs.create({ type: Keyed.key, idempotencyKey: "k3" })
      const mixed = yield* jobs.createMany([inputs[0]!, { type: Keyed.key, idempotencyKey: "k3" }])
      expect(mixed.batchId).toBeNull()
      expect(mixed.jobs.map((j) => j.id)).toEqual([first.jobs[0]!.id, other.job.id])
    }).pipe(Effect.provide(engine([Keyed])))
  )

  it.effect("a batch of CREATED jobs reads CREATED until one of them is run", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const { batchId, jobs: created } = yield* jobs.createMany([{ type: Keyed.key }, { type: Keyed.key }])
      expect((yield* jobs.batch(batchId!)).state).toBe("CREATED")
      yield* jobs.run(created[0]!.id)
      expect((yield* jobs.batch(batchId!)).state).toBe("RUNNING")
    }).pipe(Effect.provide(engine([Keyed])))
  )
})

describe("Jobloom.make", () => {
  it.live("honours logCap for the lines its worker writes", () =>
    Effect.promise(async () => {
      const Chatty = JobType.make({ key: "chatty" })
      const jobloom = await Jobloom.make({
        store: MemoryJobStore.layer,
        types: [Chatty],
        handlers: [
          {
            type: Chatty,
            handler: async (_params, context) => {
              for (let i = 0; i < 20; i++) context.log.info(`line ${i}`)
            }
          }
        ],
        logCap: 5,
        worker: { pollInterval: "20 millis", flushInterval: "10 millis" }
      })
      try {
        const job = await jobloom.enqueue({ type: Chatty.key })
        for (let i = 0; i < 500 && (await jobloom.get(job.id)).status !== "SUCCEEDED"; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        const page = await jobloom.logs(job.id, { limit: 100 })
        expect(page.items.map((line) => line.message)).toEqual([
          "attempt 1/3 succeeded",
          "line 19",
          "line 18",
          "line 17",
          "line 16",
          "line 15",
          // the cap counts stored lines: the start line, presented from the row, sits by its time before them
          expect.stringMatching(/^attempt 1\/3 started on worker /)
        ])
      } finally {
        await jobloom.close()
      }
    })
  )
})
