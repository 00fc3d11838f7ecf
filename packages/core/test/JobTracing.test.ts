// The span helpers: nothing is made without a host tracer; with one, the attempt's span joins the creator's trace.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { JobTracing } from "@jobloom/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

const otel = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "jobloom-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))
  return { exporter, layer }
}

describe("JobTracing", () => {
  it("reads and writes W3C traceparent, refusing malformed ones", () => {
    const text = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    const span = JobTracing.parse(text)
    expect(span).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" })
    expect(span?.sampled).toBe(true)
    expect(JobTracing.format(span!)).toBe(text)
    expect(JobTracing.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled).toBe(false)
    for (const bad of [
      null,
      undefined,
      "",
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01"
    ]) {
      expect(JobTracing.parse(bad)).toBeUndefined()
    }
  })

  it.effect("makes no spans and stores no context under Effect's built-in tracer", () =>
    Effect.gen(function* () {
      expect(yield* JobTracing.enabled).toBe(false)
      // even inside a span of the host's: the built-in tracer's spans are never exported, so nothing is worth storing
      const stored = yield* Effect.withSpan(JobTracing.currentContext, "host")
      expect(stored).toBeNull()
      const inside = yield* JobTracing.claim(Effect.as(Effect.option(Effect.currentSpan), [1, 2]), {
        workerId: "w",
        limit: 5
      }).pipe(Effect.flatMap(() => Effect.option(Effect.currentSpan)))
      expect(Option.isNone(inside)).toBe(true)
      expect(yield* JobTracing.startAttempt({ id: "j", type: "t", queue: "q", attempt: 1 })).toBeUndefined()
      expect(yield* Effect.withSpan(JobTracing.logSuffix, "host")).toBe("")
    })
  )

  it.effect(
    "opens an attempt under the span that created the job, linked to it, with the handler's spans inside",
    () => {
      const { exporter, layer } = otel()
      return Effect.gen(function* () {
        // the creating side: a request span, and jobloom's create span inside it whose context is stored
        const stored = yield* JobTracing.create(JobTracing.currentContext, {
          count: 1,
          type: "ml",
          queue: "default"
        }).pipe(Effect.withSpan("POST /jobs"))
        expect(stored).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)

        // the running side, as another process would: only the stored text crosses over
        const clock = yield* Effect.clock
        const span = yield* JobTracing.startAttempt(
          { id: "job-1", type: "ml", queue: "default", attempt: 2, traceContext: stored },
          { workerId: "worker-a" }
        )
        expect(span).toBeDefined()
        const suffix = yield* JobTracing.underAttempt(Effect.withSpan(JobTracing.logSuffix, "handler.step"), span)
        JobTracing.endAttempt(span, "succeeded", Exit.void, clock)

        const spans = exporter.getFinishedSpans()
        const byName = new Map(spans.map((s) => [s.name, s]))
        const request = byName.get("POST /jobs")!
        const create = byName.get("jobloom.create")!
        const attempt = byName.get("jobloom.attempt")!
        const step = byName.get("handler.step")!
        expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
        expect(create.attributes).toMatchObject({ "jobloom.job.type": "ml", "jobloom.batch.count": 1 })
        // same trace as the request, parent the create span, and a link to it
        expect(attempt.spanContext().traceId).toBe(request.spanContext().traceId)
        expect(attempt.parentSpanContext?.spanId).toBe(create.spanContext().spanId)
        expect(attempt.links.map((l) => l.context.spanId)).toEqual([create.spanContext().spanId])
        expect(attempt.attributes).toMatchObject({
          "jobloom.job.id": "job-1",
          "jobloom.job.type": "ml",
          "jobloom.job.queue": "default",
          "jobloom.job.attempt": 2,
          "jobloom.attempt.outcome": "succeeded",
          "jobloom.worker.id": "worker-a"
        })
        expect(step.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId)
        expect(suffix).toBe(` trace_id=${step.spanContext().traceId} span_id=${step.spanContext().spanId}`)
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect("starts a root attempt span for a job created outside any trace, and marks a failed attempt", () => {
    const { exporter, layer } = otel()
    return Effect.gen(function* () {
      const clock = yield* Effect.clock
      const span = yield* Effect.withSpan(
        JobTracing.startAttempt({ id: "job-2", type: "t", queue: "q", attempt: 1, traceContext: null }),
        "unrelated"
      )
      JobTracing.endAttempt(span, "failed", Exit.fail("boom"), clock)
      const attempt = exporter.getFinishedSpans().find((s) => s.name === "jobloom.attempt")!
      expect(attempt.parentSpanContext).toBeUndefined()
      expect(attempt.links).toEqual([])
      expect(attempt.status.code).toBe(2) // ERROR
      expect(attempt.attributes["jobloom.attempt.outcome"]).toBe("failed")
    }).pipe(Effect.provide(layer))
  })
})
