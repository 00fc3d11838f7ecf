// The trace of a job from the HTTP request that created it to its attempt on a worker in another process, over one
// PostgreSQL schema: the request's span and the create span are exported here, the attempt's span by the worker
// process (printed as JSON lines), and the attempt's span is in the request's trace, the child of the create span and
// linked to it; the handler's own span nests under the attempt.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { adminQuery, databaseUrl, freshSchemaName } from "../../store-postgres/test/utils.js"
import { JobsApi } from "../src/index.js"
import { Traced } from "./fixtures/traced.js"
import type { PrintedSpan } from "./fixtures/tracedWorker.js"

const tsxLoader = new URL("../../../node_modules/tsx/dist/loader.mjs", import.meta.url).href
const script = fileURLToPath(new URL("./fixtures/tracedWorker.ts", import.meta.url))
const cwd = fileURLToPath(new URL("..", import.meta.url))

const schema = freshSchemaName()
const exporter = new InMemorySpanExporter()
const runtime = ManagedRuntime.make(
  Jobs.layer({ types: [Traced] }).pipe(
    Layer.provideMerge(PgJobStore.layer({ url: databaseUrl, schema })),
    Layer.provideMerge(
      NodeSdk.layer(() => ({
        resource: { serviceName: "jobloom-api" },
        spanProcessor: new SimpleSpanProcessor(exporter)
      }))
    )
  )
)
let child: ChildProcess | undefined
let output = ""

/** The spans the worker process printed so far. */
const childSpans = (): Array<PrintedSpan> =>
  output
    .split("\n")
    .filter((line) => line.startsWith("span "))
    .map((line) => JSON.parse(line.slice(5)) as PrintedSpan)

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 1200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  if (!check()) throw new Error(`${what} never happened; the worker printed:\n${output.slice(-5000)}`)
}

beforeAll(async () => {
  // the schema is migrated by this process before the worker starts
  await runtime.runPromise(Jobs.Jobs)
  child = spawn(process.execPath, ["--import", tsxLoader, script], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DATABASE_URL: databaseUrl, JOBLOOM_SCHEMA: schema, JOBLOOM_WORKER_ID: "worker-process" }
  })
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  await until(() => /^ready$/m.test(output), "the worker process's start")
}, 120_000)

afterAll(async () => {
  child?.kill("SIGKILL")
  await runtime.dispose()
  await Effect.runPromise(adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
})

describe("a job's trace across two processes on PostgreSQL", () => {
  it("puts the attempt run by the worker process in the trace of the request that created the job", async () => {
    const app = new Hono()
    app.route("/api/v1", JobsApi.make({ runtime }))
    const response = await app.request("/api/v1/jobs?startNow=true", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "traced", params: {} })
    })
    expect(response.status).toBe(201)
    const job = (await response.json()) as { readonly id: string }

    const attemptOf = () =>
      childSpans().find((s) => s.name === "jobloom.attempt" && s.attributes["jobloom.job.id"] === job.id)
    await until(() => attemptOf() !== undefined, "the attempt span's export")
    const attempt = attemptOf()!

    const spans = exporter.getFinishedSpans()
    const request = spans.find((s) => s.name === "POST /api/v1/jobs")!
    const create = spans.find((s) => s.name === "jobloom.create")!
    expect(request).toBeDefined()
    expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    // no attempt ran in this process: it has no worker
    expect(spans.some((s) => s.name === "jobloom.attempt")).toBe(false)

    expect(attempt.traceId).toBe(request.spanContext().traceId)
    expect(attempt.parentSpanId).toBe(create.spanContext().spanId)
    expect(attempt.links).toContainEqual({ traceId: create.spanContext().traceId, spanId: create.spanContext().spanId })
    expect(attempt.attributes).toMatchObject({
      "jobloom.job.type": "traced",
      "jobloom.worker.id": "worker-process",
      "jobloom.attempt.outcome": "succeeded"
    })
    const work = childSpans().find((s) => s.name === "handler.work" && s.parentSpanId === attempt.spanId)
    expect(work?.traceId).toBe(request.spanContext().traceId)
  }, 180_000)
})
