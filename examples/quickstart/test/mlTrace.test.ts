// The span tree of one `ml` job of the quickstart, created through its jobs API and run by its worker (SQLite in
// memory) under an in-memory OpenTelemetry exporter. `PRINT_SPAN_TREE=1` prints the tree.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { Hono } from "hono"
import { Quickstart } from "../src/index.js"

const config: Quickstart.QuickstartConfig = {
  port: 0,
  host: Option.none(),
  db: ":memory:",
  databaseUrl: Option.none(),
  pgSchema: "public",
  worker: true,
  concurrency: 10,
  gracePeriod: Duration.seconds(1),
  callbackAllow: [],
  callbackAllowPrivate: false
}

const shown = [
  "jobloom.job.id",
  "jobloom.job.type",
  "jobloom.job.attempt",
  "jobloom.attempt.outcome",
  "jobloom.batch.count",
  "http.route",
  "http.response.status_code"
]

const kinds = ["internal", "server", "client", "producer", "consumer"]

/** The spans as an indented tree (children in start order), with their key attributes; sql spans counted. */
const render = (spans: ReadonlyArray<ReadableSpan>, roots: ReadonlyArray<ReadableSpan>): string => {
  const lines: Array<string> = []
  const walk = (span: ReadableSpan, depth: number) => {
    const attributes = shown
      .filter((key) => span.attributes[key] !== undefined)
      .map((key) => `${key.replace(/^jobloom\./, "")}=${String(span.attributes[key])}`)
    const links = span.links.length > 0 ? ` links→${span.links.map((l) => l.context.spanId.slice(0, 6)).join(",")}` : ""
    const children = spans
      .filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
    const sql = children.filter((s) => s.name === "sql.execute").length
    lines.push(
      `${"  ".repeat(depth)}${span.name} [${kinds[span.kind]}] ${span.spanContext().spanId.slice(0, 6)} ${attributes.join(" ")}${links}${sql > 0 ? ` (+${sql} sql.execute)` : ""}`
    )
    for (const child of children) if (child.name !== "sql.execute") walk(child, depth + 1)
  }
  for (const root of roots) walk(root, 0)
  return lines.join("\n")
}

describe("the span tree of one ml job", () => {
  it("runs from the request through the create span to the attempt and the settle", async () => {
    const exporter = new InMemorySpanExporter()
    const runtime = ManagedRuntime.make(
      Quickstart.engineLayer(config).pipe(
        Layer.provideMerge(
          NodeSdk.layer(() => ({
            resource: { serviceName: "jobloom-quickstart" },
            spanProcessor: new SimpleSpanProcessor(exporter)
          }))
        )
      )
    )
    try {
      const app = new Hono()
      app.route("/api", JobsApi.make({ runtime }))
      const response = await app.request("/api/jobs?startNow=true", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "ml", params: { images: 8, batchSize: 4, shuffle: false, failureRate: 0 } })
      })
      expect(response.status).toBe(201)
      const { id } = (await response.json()) as { readonly id: string }
      for (let i = 0; i < 300; i++) {
        const job = await runtime.runPromise(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(id)))
        if (job.status === "SUCCEEDED") break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      // the settle's span ends after the job reads SUCCEEDED: wait for it
      for (let i = 0; i < 100 && !exporter.getFinishedSpans().some((s) => s.name === "jobloom.settle"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const spans = exporter.getFinishedSpans()
      const request = spans.find((s) => s.name === "POST /api/jobs")!
      const create = spans.find((s) => s.name === "jobloom.create")!
      const attempt = spans.find((s) => s.name === "jobloom.attempt" && s.attributes["jobloom.job.id"] === id)!
      expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
      expect(attempt.parentSpanContext?.spanId).toBe(create.spanContext().spanId)
      expect(attempt.spanContext().traceId).toBe(request.spanContext().traceId)
      expect(attempt.attributes).toMatchObject({ "jobloom.job.type": "ml", "jobloom.attempt.outcome": "succeeded" })
      const claim = spans.find((s) => s.name === "jobloom.claim" && s.attributes["jobloom.batch.count"] === 1)
      expect(claim).toBeDefined()
      const tree = render(spans, [request, claim!, ...spans.filter((s) => s.name === "jobloom.settle")])
      if (process.env.PRINT_SPAN_TREE === "1") process.stdout.write(`${tree}\n`)
      expect(tree).toContain("jobloom.attempt")
    } finally {
      await runtime.dispose()
    }
  })
})
