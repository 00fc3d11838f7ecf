// Dependencies through the engine and a worker, under TestClock: waiting, release, the fail cascade and its events,
// the run policy, the create checks, delete 409 / force, list filters and stats, and a parent awaiting its children.
import { assert, describe, expect, it } from "@effect/vitest"
import { JobType, Jobs, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { awaitJob, awaitStatus, engine, settle } from "./WorkerSupport.js"

const Step = JobType.make({
  key: "step",
  params: Schema.Struct({ fail: Schema.optional(Schema.Boolean), value: Schema.optional(Schema.Number) }),
  result: Schema.Number,
  retry: { maxAttempts: 1 }
})
const ran: Array<number> = []
const stepHandler = JobType.toLayer(Step, (params) =>
  Effect.gen(function* () {
    yield* Effect.sleep("1 second")
    ran.push(params.value ?? 0)
    if (params.fail === true) return yield* Effect.fail(new Error("step failed"))
    return params.value ?? 0
  })
)

const Parent = JobType.make({ key: "parent", result: Schema.Number, retry: { maxAttempts: 1 } })
const parentHandler = JobType.toLayer(Parent, (_, job) =>
  Effect.gen(function* () {
    const children = yield* job.spawn([
      { type: "step", params: { value: 2 } },
      { type: "step", params: { value: 3 } }
    ])
    const finished = yield* job.awaitJobs(children.map((child) => child.id))
    return finished.reduce((sum, { result }) => sum + Number(result?.value ?? 0), 0)
  })
)

const setup = engine([Step, Parent], Layer.merge(stepHandler, parentHandler))

const Waiter = JobType.make({ key: "waiter", retry: { maxAttempts: 1 } })
const waiterHandler = JobType.toLayer(Waiter, (_, job) =>
  Effect.gen(function* () {
    const [child] = yield* job.spawn([{ type: "step" }], { startNow: false })
    yield* job.awaitJobs([child.id])
  })
)
const waiterSetup = engine([Step, Waiter], Layer.merge(stepHandler, waiterHandler))

describe("Dependencies", () => {
  it.effect("a dependent waits QUEUED, not claimed, until its dependency SUCCEEDED, then runs", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      ran.length = 0
      const first = yield* jobs.enqueue({ type: "step", params: { value: 1 } })
      const second = yield* jobs.enqueue({
        type: "step",
        params: { value: 2 },
        dependsOn: [first.id, first.id],
        priority: 100
      })
      expect(second.dependsOn, "duplicates collapse").toEqual([first.id])
      expect(second.waitingOn).toBe(1)
      expect((yield* jobs.list({ waiting: true })).items.map((j) => j.id)).toEqual([second.id])
      expect((yield* jobs.list({ dependsOn: first.id })).items.map((j) => j.id)).toEqual([second.id])
      expect((yield* jobs.stats()).waiting, "stats count the waiting job apart").toBe(1)
      yield* awaitStatus(first.id, "SUCCEEDED")
      const done = yield* awaitStatus(second.id, "SUCCEEDED")
      expect(done.waitingOn).toBe(0)
      expect(ran, "the dependent ran after its dependency, despite its priority").toEqual([1, 2])
    }).pipe(Effect.scoped, Effect.provide(setup))
  )

  it.effect("a failure cascades down a chain as FAILED (dependency_failed), with status events", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const events = yield* jobs.subscribe()
      const seen: Array<string> = []
      yield* Effect.fork(
        Stream.runForEach(events, (e) =>
          Effect.sync(() => {
            if (e._tag === "status" && e.terminalReason === "dependency_failed") seen.push(e.jobId)
          })
        )
      )
      yield* Worker.make()
      const a = yield* jobs.enqueue({ type: "step", params: { fail: true } })
      const b = yield* jobs.enqueue({ type: "step", dependsOn: [a.id] })
      const c = yield* jobs.create({ type: "step", dependsOn: [b.id] })
      const runs = yield* jobs.enqueue({
        type: "step",
        params: { value: 7 },
        dependsOn: [a.id],
        dependencyPolicy: "run"
      })
      yield* awaitStatus(a.id, "FAILED")
      for (const id of [b.id, c.job.id]) {
        const failed = yield* jobs.get(id)
        expect([failed.status, failed.terminalReason]).toEqual(["FAILED", "dependency_failed"])
        expect(failed.finishedAt).not.toBeNull()
      }
      expect((yield* jobs.get(b.id)).lastError?.message).toContain(a.id)
      yield* settle
      expect(seen.sort(), "a status event for each job the cascade failed").toEqual([b.id, c.job.id].sort())
      yield* awaitStatus(runs.id, "SUCCEEDED")
      // a retry of the failed dependency brings no failed dependent back
      yield* jobs.retry(a.id)
      yield* awaitJob(a.id, (job) => job.attempt === 1 && job.status === "FAILED")
      expect((yield* jobs.get(b.id)).status).toBe("FAILED")
    }).pipe(Effect.scoped, Effect.provide(setup))
  )

  it.effect("a dependency that is unknown or outside the caller's scope is an InvalidInput naming dependsOn[i]", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const theirs = yield* jobs.enqueue({ type: "step", owner: "them" })
      const error = yield* Effect.flip(
        jobs.create({ type: "step", owner: "me", dependsOn: ["nope", theirs.id] }, { scope: { owners: ["me"] } })
      )
      assert.strictEqual(error._tag, "InvalidInput")
      if (error._tag === "InvalidInput") {
        expect(error.issues.map((i) => i.path)).toEqual(["dependsOn[0]", "dependsOn[1]"])
      }
      const many = yield* Effect.flip(jobs.createMany([{ type: "step" }, { type: "step", dependsOn: ["missing"] }]))
      if (many._tag === "InvalidInput") expect(many.issues.map((i) => i.path)).toEqual(["jobs[1].dependsOn[0]"])
      else assert.fail(`expected InvalidInput, got ${many._tag}`)
    }).pipe(Effect.provide(setup))
  )

  it.effect("a dependency already failed at create applies the policy at once", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const cancelled = yield* jobs.create({ type: "step" })
      yield* jobs.cancel(cancelled.job.id)
      const doomed = yield* jobs.enqueue({ type: "step", dependsOn: [cancelled.job.id] })
      expect([doomed.status, doomed.terminalReason, doomed.waitingOn]).toEqual(["FAILED", "dependency_failed", 0])
      const runs = yield* jobs.enqueue({ type: "step", dependsOn: [cancelled.job.id], dependencyPolicy: "run" })
      expect([runs.status, runs.waitingOn]).toEqual(["QUEUED", 0])
    }).pipe(Effect.provide(setup))
  )

  it.effect("deleting a job unfinished jobs depend on is a JobHasDependents unless forced; bulk delete skips it", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const base = yield* jobs.create({ type: "step", tags: ["bulk"] })
      const waiter = yield* jobs.enqueue({ type: "step", dependsOn: [base.job.id] })
      const refused = yield* Effect.flip(jobs.delete(base.job.id))
      expect(refused).toMatchObject({ _tag: "JobHasDependents", jobId: base.job.id, dependents: 1 })
      expect(yield* jobs.deleteMany({ statuses: ["CREATED"] }), "bulk delete skips it").toBe(0)
      yield* jobs.delete(base.job.id, { force: true })
      const after = yield* jobs.get(waiter.id)
      expect([after.status, after.terminalReason]).toEqual(["FAILED", "dependency_failed"])
    }).pipe(Effect.provide(setup))
  )

  it.effect("a parent spawns children, waits for them without polling, and reads their results", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const parent = yield* jobs.enqueue({ type: "parent" })
      const done = yield* awaitStatus(parent.id, "SUCCEEDED")
      const result = yield* jobs.result(done.id)
      expect(result.value).toBe(5)
      const children = (yield* jobs.list({ limit: 100 })).items.filter(
        (j) => (j.metadata as { parentId?: string }).parentId === parent.id
      )
      expect(children.length).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(setup))
  )

  it.effect("a parent waiting on its children is cancelled like any handler (awaitJobs is interruptible)", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const parent = yield* jobs.enqueue({ type: "waiter" })
      const child = yield* awaitJob(parent.id, (job) => job.status === "RUNNING").pipe(
        Effect.zipRight(settle),
        Effect.zipRight(jobs.list({ statuses: ["CREATED"] })),
        Effect.map((page) => page.items.find((j) => (j.metadata as { parentId?: string }).parentId === parent.id))
      )
      assert.isDefined(child, "the parent spawned a child that stays CREATED")
      yield* TestClock.adjust("1 minute")
      expect((yield* jobs.get(parent.id)).status, "still waiting on its child").toBe("RUNNING")
      yield* jobs.cancel(parent.id)
      const cancelled = yield* awaitStatus(parent.id, "CANCELLED")
      expect(cancelled.terminalReason).toBe("user")
    }).pipe(Effect.scoped, Effect.provide(waiterSetup))
  )
})
