// Whose bus a worker, a remote worker and maintenance publish to: the engine's they are given, however they get it.
import { describe, expect, it } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, Maintenance, RemoteWorker, Worker } from "@jobloom/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { awaitStatus, engine } from "./WorkerSupport.js"

const Echo = JobType.make({ key: "echo", retry: { maxAttempts: 1 } })
const echoHandler = JobType.toLayer(Echo, () => Effect.void)

/**
 * The engine built apart, and a context holding only its services (`Jobs`, the registry, the store): what a host
 * hands a worker when it takes the engine from another runtime, or merges the worker beside `Jobs.layer`.
 */
const bareEngine = Effect.gen(function* () {
  const built = yield* Layer.build(engine([Echo], echoHandler))
  const jobs = Context.get(built, Jobs.Jobs)
  const bare = Context.make(Jobs.Jobs, jobs).pipe(
    Context.add(JobStore.JobStore, Context.get(built, JobStore.JobStore)),
    Context.add(JobType.JobRegistry, Context.get(built, JobType.JobRegistry))
  )
  return { jobs, bare }
})

const statusesOf = (events: Stream.Stream<Jobs.JobEvent>, jobId: string, last: Job.JobStatus) =>
  events.pipe(
    Stream.filter((e) => e._tag === "status" && e.jobId === jobId),
    Stream.map((e) => (e._tag === "status" ? e.status : "")),
    Stream.takeUntil((s) => s === last),
    Stream.runCollect,
    Effect.map((chunk) => Array.from(chunk))
  )

describe("the engine's bus", () => {
  it.scoped("a worker given only the engine's service publishes to that engine's subscribers", () =>
    Effect.gen(function* () {
      const { bare, jobs } = yield* bareEngine
      const events = yield* jobs.subscribe()
      yield* Worker.make({ workerId: "w-bare" }).pipe(Effect.provide(bare))
      const job = yield* jobs.enqueue({ type: "echo" })
      yield* awaitStatus(job.id, "SUCCEEDED").pipe(Effect.provide(bare))
      expect(yield* statusesOf(events, job.id, "SUCCEEDED")).toEqual(["RUNNING", "SUCCEEDED"])
    })
  )

  it.scoped("maintenance given the engine later publishes its rescues to that engine's subscribers", () =>
    Effect.gen(function* () {
      const { bare, jobs } = yield* bareEngine
      const store = Context.get(bare, JobStore.JobStore)
      const events = yield* jobs.subscribe()
      const job = yield* jobs.enqueue({ type: "echo" })
      // a worker claims the job and dies: its lease is never renewed
      yield* store.claim({
        token: "ghost-claim",
        workerId: "ghost",
        now: yield* Clock.currentTimeMillis,
        leaseMs: 1_000,
        limit: 1,
        queues: ["default"],
        typeLimits: {},
        queueLimits: {}
      })
      const statuses = yield* Effect.fork(statusesOf(events, job.id, "FAILED"))
      yield* Layer.launch(Maintenance.layer({ rescueInterval: "1 second" })).pipe(
        Effect.provide(bare),
        Effect.forkScoped
      )
      const failed = yield* awaitStatus(job.id, "FAILED").pipe(Effect.provide(bare))
      expect(failed.terminalReason).toBe("stalled")
      expect(yield* Fiber.join(statuses)).toEqual(["FAILED"])
    })
  )

  it.scoped("a remote worker given only the engine's service publishes to that engine's subscribers", () =>
    Effect.gen(function* () {
      const { bare, jobs } = yield* bareEngine
      const built = yield* Layer.build(RemoteWorker.layer().pipe(Layer.provide(Layer.succeedContext(bare))))
      const remote = Context.get(built, RemoteWorker.RemoteWorker)
      const events = yield* jobs.subscribe()
      const job = yield* jobs.enqueue({ type: "echo" })
      const [claimed] = yield* remote.claim({ workerId: "r-bare", types: ["echo"] })
      yield* remote.succeed(job.id, claimed.token)
      expect(yield* statusesOf(events, job.id, "SUCCEEDED")).toEqual(["RUNNING", "SUCCEEDED"])
    })
  )
})
