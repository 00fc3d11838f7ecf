// Spans and metrics of what is not a worker's settle: maintenance runs (rescue, expire, schedule ticks), callback
// deliveries, users' actions that end a job, and store errors seen by the engine and the worker.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import {
  Job,
  JobMetrics,
  JobStore,
  JobType,
  Jobs,
  Maintenance,
  MemoryJobStore,
  RemoteWorker,
  Worker
} from "@jobloom/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as TestClock from "effect/TestClock"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { awaitStatus, engine } from "./WorkerSupport.js"

const Orphan = JobType.make({ key: "orphan", retry: { maxAttempts: 1 } })
const Hooked = JobType.make({ key: "hooked", retry: { maxAttempts: 1 } })
const hookedHandler = JobType.toLayer(Hooked, () => Effect.void)

const count = (metric: Metric.Metric.Counter<number>, labels: Record<string, string> = {}) =>
  Metric.value(
    Metric.taggedWithLabels(
      metric,
      Object.entries(labels).map(([k, v]) => MetricLabel.make(k, v))
    )
  ).pipe(Effect.map((state) => state.count))

const otel = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "jobloom-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))
  return { exporter, layer }
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

/** A job of `queue` claimed by a worker that dies (its 2 s lease never renewed). */
const orphaned = (queue: string) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const store = yield* JobStore.JobStore
    const job = yield* jobs.enqueue({ type: "orphan", queue })
    yield* store.claim({
      token: "ghost-claim",
      workerId: "ghost",
      now: yield* Clock.currentTimeMillis,
      leaseMs: 2_000,
      limit: 1,
      queues: [queue],
      typeLimits: {},
      queueLimits: {}
    })
    return job
  })

describe("observability of maintenance, users' actions and callbacks", () => {
  it.scoped("counts jobs ended by maintenance (stalled, expired) and by a user's cancel as finished", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const queue = unique("q")
      const finished = (status: string) => count(JobMetrics.jobsFinished, { type: "orphan", queue, status })
      const now = yield* Clock.currentTimeMillis
      const stalled = yield* orphaned(queue)
      const late = yield* jobs.enqueue({
        type: "orphan",
        queue,
        runAt: Job.formatTime(now + 60_000),
        deadline: Job.formatTime(now + 3_000)
      })
      const cancelled = yield* jobs.enqueue({ type: "orphan", queue, runAt: Job.formatTime(now + 60_000) })
      yield* jobs.cancel(cancelled.id)
      expect(yield* finished("CANCELLED")).toBe(1)
      yield* Layer.launch(Maintenance.layer({ rescueInterval: "1 second", expireInterval: "1 second" })).pipe(
        Effect.forkScoped
      )
      yield* awaitStatus(stalled.id, "FAILED")
      yield* awaitStatus(late.id, "TIMED_OUT")
      expect(yield* finished("FAILED")).toBe(1)
      expect(yield* finished("TIMED_OUT")).toBe(1)
      expect(yield* finished("CANCELLED")).toBe(1)
    }).pipe(Effect.provide(engine([Orphan])))
  )

  it.scoped("makes a span per rescue, expire, prune and schedule run, with the count of jobs each changed", () => {
    const { exporter, layer } = otel()
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const queue = unique("q")
      const now = yield* Clock.currentTimeMillis
      const stalled = yield* orphaned(queue)
      const late = yield* jobs.enqueue({
        type: "orphan",
        queue,
        runAt: Job.formatTime(now + 60_000),
        deadline: Job.formatTime(now + 3_000)
      })
      yield* Layer.launch(
        Maintenance.layer({
          rescueInterval: "1 second",
          expireInterval: "1 second",
          retention: { olderThan: { FAILED: "1 second" }, interval: "1 second" }
        })
      ).pipe(Effect.forkScoped)
      yield* awaitStatus(stalled.id, "FAILED")
      yield* awaitStatus(late.id, "TIMED_OUT")
      yield* TestClock.adjust("5 seconds")
      const spans = exporter.getFinishedSpans()
      const counts = (name: string) =>
        spans.filter((s) => s.name === name).map((s) => s.attributes["jobloom.batch.count"])
      // a run that changed nothing says 0; the run that rescued (or expired) the job says 1
      expect(counts("jobloom.maintenance.rescue")).toContain(0)
      expect(counts("jobloom.maintenance.rescue")).toContain(1)
      expect(counts("jobloom.maintenance.expire")).toContain(1)
      expect(counts("jobloom.maintenance.prune")).toContain(1)
      expect(counts("jobloom.maintenance.schedules").length).toBeGreaterThan(0)
    }).pipe(Effect.provide(engine([Orphan])), Effect.provide(layer))
  })

  it.live("counts callbacks delivered and failed, with a span per delivery try and one per delivering run", () => {
    const { exporter, layer } = otel()
    return Effect.gen(function* () {
      // answers 500 to the first request, then 200
      let requests = 0
      const url = yield* Effect.acquireRelease(
        Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
          const server = createServer((request, response) => {
            request.resume()
            request.on("end", () => response.writeHead(requests++ === 0 ? 500 : 200).end("ok"))
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo
            resume(Effect.succeed({ url: `http://127.0.0.1:${port}/hook`, close: () => server.close() }))
          })
        }),
        ({ close }) => Effect.sync(close)
      ).pipe(Effect.map(({ url }) => url))
      const delivered = yield* count(JobMetrics.callbacksDelivered)
      const failed = yield* count(JobMetrics.callbacksFailed, { final: "false" })
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({
        pollInterval: "20 millis",
        expireInterval: "20 millis",
        flushInterval: "10 millis",
        callbacks: { retryDelay: "50 millis", timeout: "2 seconds", allowPrivateNetworks: true }
      })
      yield* jobs.enqueue({ type: "hooked", callbackUrl: url })
      for (let i = 0; i < 250 && (yield* count(JobMetrics.callbacksDelivered)) === delivered; i++) {
        yield* Effect.sleep("20 millis")
      }
      expect((yield* count(JobMetrics.callbacksDelivered)) - delivered).toBe(1)
      expect((yield* count(JobMetrics.callbacksFailed, { final: "false" })) - failed).toBe(1)
      const spans = exporter.getFinishedSpans()
      const tries = spans.filter((s) => s.name === "jobloom.callback")
      expect(tries.map((s) => [s.attributes["jobloom.job.attempt"], s.attributes["jobloom.callback.status"]])).toEqual([
        [1, 500],
        [2, 200]
      ])
      const runs = spans.filter((s) => s.name === "jobloom.maintenance.callbacks")
      expect(runs.map((s) => s.attributes["jobloom.batch.count"])).toEqual([1, 1])
    }).pipe(Effect.scoped, Effect.provide(engine([Hooked], hookedHandler)), Effect.provide(layer))
  })

  it.scoped("counts the jobs a remote worker settles as finished", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const remote = yield* RemoteWorker.RemoteWorker
      const queue = unique("q")
      const finished = (status: string) => count(JobMetrics.jobsFinished, { type: "orphan", queue, status })
      const ok = yield* jobs.enqueue({ type: "orphan", queue })
      const bad = yield* jobs.enqueue({ type: "orphan", queue })
      const claimed = yield* remote.claim({ workerId: "py-1", types: ["orphan"], queues: [queue], limit: 2 })
      expect(claimed.map((c) => c.job.id).sort()).toEqual([ok.id, bad.id].sort())
      const tokenOf = (id: string) => claimed.find((c) => c.job.id === id)!.token
      yield* remote.succeed(ok.id, tokenOf(ok.id))
      yield* remote.fail(bad.id, tokenOf(bad.id), { message: "no" })
      expect(yield* finished("SUCCEEDED")).toBe(1)
      expect(yield* finished("FAILED")).toBe(1)
    }).pipe(
      Effect.provide(RemoteWorker.layer({ flushInterval: "10 millis" }).pipe(Layer.provideMerge(engine([Orphan]))))
    )
  )

  it.scoped("counts the store errors the engine and the worker see, by operation and reason, once each", () => {
    // a memory store whose reads of one job and whose claims fail as an unreachable database would
    const failing = Layer.effect(
      JobStore.JobStore,
      Effect.map(JobStore.JobStore, (store) => ({
        ...store,
        get: (options: { readonly id: string }) =>
          options.id === "unreachable"
            ? Effect.fail(new JobStore.JobStoreError({ reason: "Unavailable", message: "connection refused" }))
            : store.get(options),
        claim: () => Effect.fail(new JobStore.JobStoreError({ reason: "Unavailable", message: "connection refused" }))
      }))
    ).pipe(Layer.provide(MemoryJobStore.layer))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const errors = (operation: string) => count(JobMetrics.storeErrors, { operation, reason: "Unavailable" })
      const gets = yield* errors("get")
      const claims = yield* errors("claim")
      const error = yield* Effect.flip(jobs.get("unreachable"))
      expect(error._tag).toBe("JobStoreError")
      expect((yield* errors("get")) - gets).toBe(1)
      yield* Worker.make({ pollInterval: "1 second", maintenance: false })
      yield* awaitClaims(() => errors("claim"), claims)
      expect((yield* errors("claim")) - claims).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(engine([Orphan], Layer.empty, failing)))
  })
})

/** Moves the TestClock until the counter read by `read` passes `from`. */
const awaitClaims = (read: () => Effect.Effect<number>, from: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100 && (yield* read()) === from; i++) yield* TestClock.adjust("100 millis")
  })
