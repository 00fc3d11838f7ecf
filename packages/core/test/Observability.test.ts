// Spans and metrics of a real engine and worker: the create's context stored with the job, the attempt under it,
// the handler's spans and log lines under the attempt, and the counters of the jobs run.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { JobMetrics, JobStore, JobType, Jobs, Worker } from "@jobloom/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { awaitStatus, engine, logMessages } from "./WorkerSupport.js"

const Traced = JobType.make({
  key: "traced",
  params: Schema.Struct({ fail: Schema.optional(Schema.Boolean) }),
  result: Schema.Struct({ ok: Schema.Boolean })
})

const tracedHandler = JobType.toLayer(Traced, ({ fail }, context) =>
  Effect.gen(function* () {
    yield* context.log.info("working")
    if (fail === true) return yield* Effect.fail("failed on purpose")
    return { ok: true }
  }).pipe(Effect.withSpan("handler.work"))
)

const otel = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "jobloom-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))
  return { exporter, layer }
}

describe("observability of the engine and worker", () => {
  it.effect("stores the create's context and runs the attempt under it, the handler's spans and lines inside", () => {
    const { exporter, layer } = otel()
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      yield* Worker.make({ workerId: "w-trace" })
      const job = yield* Effect.withSpan(jobs.enqueue({ type: "traced", params: {} }), "POST /jobs")
      yield* awaitStatus(job.id, "SUCCEEDED")

      const row = Option.getOrThrow(yield* store.get({ id: job.id }))
      const spans = exporter.getFinishedSpans()
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name)
        expect(found.map((s) => s.name)).toEqual([name])
        return found[0]!
      }
      const request = one("POST /jobs")
      const create = one("jobloom.create")
      const attempt = one("jobloom.attempt")
      const work = one("handler.work")
      expect(row.traceContext).toBe(`00-${create.spanContext().traceId}-${create.spanContext().spanId}-01`)
      expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
      expect(attempt.spanContext().traceId).toBe(request.spanContext().traceId)
      expect(attempt.parentSpanContext?.spanId).toBe(create.spanContext().spanId)
      expect(attempt.links.map((link) => link.context.spanId)).toContain(create.spanContext().spanId)
      expect(attempt.attributes).toMatchObject({
        "jobloom.job.id": job.id,
        "jobloom.job.type": "traced",
        "jobloom.job.queue": "default",
        "jobloom.job.attempt": 1,
        "jobloom.attempt.outcome": "succeeded"
      })
      expect(work.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId)
      expect(spans.some((s) => s.name === "jobloom.claim" && s.attributes["jobloom.batch.count"] === 1)).toBe(true)
      expect(spans.some((s) => s.name === "jobloom.settle")).toBe(true)
      // the handler's log line names the span it was written in
      const lines = yield* logMessages(job.id)
      expect(lines).toContain(`working trace_id=${work.spanContext().traceId} span_id=${work.spanContext().spanId}`)
    }).pipe(Effect.scoped, Effect.provide(engine([Traced], tracedHandler)), Effect.provide(layer))
  })

  it.effect("counts created, claimed and finished jobs by type, queue and status", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const value = (metric: Metric.Metric.Counter<number>, labels: Record<string, string>) =>
        Metric.value(
          Metric.taggedWithLabels(
            metric,
            Object.entries(labels).map(([k, v]) => MetricLabel.make(k, v))
          )
        ).pipe(Effect.map((state) => state.count))
      const queue = `q-${Math.random().toString(36).slice(2, 8)}`
      const before = yield* value(JobMetrics.jobsFinished, { type: "traced", queue, status: "FAILED" })
      expect(before).toBe(0)
      yield* Worker.make({ queues: [queue] })
      const ok = yield* Effect.forEach([1, 2, 3], () => jobs.enqueue({ type: "traced", queue, params: {} }))
      const bad = yield* jobs.enqueue({ type: "traced", queue, params: { fail: true }, maxAttempts: 1 })
      for (const job of ok) yield* awaitStatus(job.id, "SUCCEEDED")
      yield* awaitStatus(bad.id, "FAILED")
      expect(yield* value(JobMetrics.jobsCreated, { type: "traced", queue })).toBe(4)
      expect(yield* value(JobMetrics.jobsClaimed, { type: "traced", queue })).toBe(4)
      expect(yield* value(JobMetrics.jobsFinished, { type: "traced", queue, status: "SUCCEEDED" })).toBe(3)
      expect(yield* value(JobMetrics.jobsFinished, { type: "traced", queue, status: "FAILED" })).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(engine([Traced], tracedHandler)))
  )
})
