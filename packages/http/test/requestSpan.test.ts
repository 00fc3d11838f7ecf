// The jobs API's server span per request: named by the route, with method, route and status; the child of an
// incoming W3C `traceparent`, so the create span and the job's stored trace context belong to the caller's trace.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Hono } from "hono"
import { JobsApi } from "../src/index.js"

const Echo = JobType.make({ key: "echo", params: Schema.Struct({}), result: Schema.Struct({}) })

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const callerSpanId = "00f067aa0ba902b7"

const setup = (traced: boolean) => {
  const exporter = new InMemorySpanExporter()
  const engine = Jobs.layer({ types: [Echo] }).pipe(Layer.provideMerge(MemoryJobStore.layer))
  const runtime = ManagedRuntime.make(
    traced
      ? engine.pipe(
          Layer.provideMerge(
            NodeSdk.layer(() => ({
              resource: { serviceName: "jobloom-http-test" },
              spanProcessor: new SimpleSpanProcessor(exporter)
            }))
          )
        )
      : engine
  )
  const app = new Hono()
  app.route("/api/v1", JobsApi.make({ runtime }))
  return { exporter, runtime, app }
}

const storedContext = (runtime: ManagedRuntime.ManagedRuntime<JobStore.JobStore, unknown>, id: string) =>
  runtime.runPromise(
    Effect.map(
      Effect.flatMap(JobStore.JobStore, (store) => store.get({ id })),
      (row) => (Option.isSome(row) ? (row.value.traceContext ?? null) : "missing")
    )
  )

describe("the jobs API's request span", () => {
  it("continues the caller's traceparent: the server span, the create span and the stored context", async () => {
    const { exporter, runtime, app } = setup(true)
    try {
      const response = await app.request("/api/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${callerSpanId}-01` },
        body: JSON.stringify({ type: "echo", params: {} })
      })
      expect(response.status).toBe(201)
      const job = (await response.json()) as { readonly id: string }
      const spans = exporter.getFinishedSpans()
      const server = spans.filter((s) => s.name === "POST /api/v1/jobs")
      expect(server.length).toBe(1)
      expect(server[0]!.spanContext().traceId).toBe(traceId)
      expect(server[0]!.parentSpanContext?.spanId).toBe(callerSpanId)
      expect(server[0]!.attributes).toMatchObject({
        "http.request.method": "POST",
        "http.route": "/api/v1/jobs",
        "http.response.status_code": 201
      })
      const create = spans.filter((s) => s.name === "jobloom.create")
      expect(create.length).toBe(1)
      expect(create[0]!.parentSpanContext?.spanId).toBe(server[0]!.spanContext().spanId)
      expect(await storedContext(runtime, job.id)).toBe(`00-${traceId}-${create[0]!.spanContext().spanId}-01`)
    } finally {
      await runtime.dispose()
    }
  })

  it("names a request by its route pattern and records a client error's status, without a traceparent", async () => {
    const { exporter, runtime, app } = setup(true)
    try {
      const response = await app.request("/api/v1/jobs/not-a-job")
      expect(response.status).toBe(404)
      const server = exporter.getFinishedSpans().filter((s) => s.name === "GET /api/v1/jobs/:id")
      expect(server.length).toBe(1)
      expect(server[0]!.parentSpanContext).toBeUndefined()
      expect(server[0]!.attributes).toMatchObject({
        "http.route": "/api/v1/jobs/:id",
        "http.response.status_code": 404
      })
      // a 4xx is the client's error: the span is not marked failed
      expect(server[0]!.status.code).not.toBe(2)
    } finally {
      await runtime.dispose()
    }
  })

  it("stores no trace context and makes no span without a host tracer", async () => {
    const { exporter, runtime, app } = setup(false)
    try {
      const response = await app.request("/api/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${callerSpanId}-01` },
        body: JSON.stringify({ type: "echo", params: {} })
      })
      expect(response.status).toBe(201)
      const job = (await response.json()) as { readonly id: string }
      expect(await storedContext(runtime, job.id)).toBe(null)
      expect(exporter.getFinishedSpans()).toEqual([])
    } finally {
      await runtime.dispose()
    }
  })
})
