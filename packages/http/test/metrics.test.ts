// GET /metrics over a running engine and worker: Prometheus text whose counters match the jobs run, and gauges read
// from the store.
import { describe, expect, it } from "@effect/vitest"
import { JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { Hono } from "hono"
import { Metrics } from "../src/index.js"
import { histograms, parsePrometheus, sample, total } from "./prometheusParse.js"

// a type of this file's own, so counters recorded by other tests in the same process never meet these
const key = `metered-${Math.random().toString(36).slice(2, 8)}`
const Metered = JobType.make({
  key,
  params: Schema.Struct({ fail: Schema.optional(Schema.Boolean) }),
  result: Schema.Struct({ ok: Schema.Boolean })
})
const handler = JobType.toLayer(Metered, ({ fail }) =>
  fail === true ? Effect.fail("failed on purpose") : Effect.succeed({ ok: true })
)

const stores = [
  ["memory", () => MemoryJobStore.layer],
  ["SQLite", () => SqliteJobStore.layer({ filename: ":memory:" })]
] as const

describe.each(stores)("GET /metrics over the %s store", (_, store) => {
  it("parses as Prometheus text and its counters match the jobs run", async () => {
    const queue = `q-${Math.random().toString(36).slice(2, 8)}`
    const runtime = ManagedRuntime.make(
      Worker.layer({ queues: [queue], pollInterval: "20 millis", flushInterval: "5 millis" }).pipe(
        Layer.provideMerge(handler.pipe(Layer.provideMerge(Jobs.layer({ types: [Metered] })))),
        Layer.provideMerge(store())
      )
    )
    try {
      const app = new Hono()
      app.get("/metrics", Metrics.metrics({ runtime, refreshInterval: 0, queues: [queue] }))
      const ids = await runtime.runPromise(
        Effect.gen(function* () {
          const jobs = yield* Jobs.Jobs
          const ok = yield* Effect.forEach([1, 2, 3, 4, 5], () => jobs.enqueue({ type: key, queue, params: {} }))
          const bad = yield* Effect.forEach([1, 2], () =>
            jobs.enqueue({ type: key, queue, params: { fail: true }, maxAttempts: 1 })
          )
          // created, never started: the gauges read them from the store
          yield* Effect.forEach([1, 2, 3], () => jobs.create({ type: key, queue, params: {} }))
          return [...ok, ...bad].map((job) => job.id)
        })
      )
      for (let i = 0; i < 200; i++) {
        const done = await runtime.runPromise(
          Effect.flatMap(Jobs.Jobs, (jobs) => Effect.forEach(ids, (id) => jobs.get(id)))
        )
        if (done.every((job) => job.status === "SUCCEEDED" || job.status === "FAILED")) break
        await new Promise((resolve) => setTimeout(resolve, 25))
      }

      const response = await app.request("/metrics")
      expect(response.status).toBe(200)
      const metrics = await parsePrometheus(await response.text())
      const labels = { type: key, queue }
      expect(metrics["jobloom_jobs_created_total"]?.type).toBe("counter")
      expect(total(metrics, "jobloom_jobs_created_total", labels)).toBe(10)
      expect(total(metrics, "jobloom_jobs_claimed_total", labels)).toBe(7)
      expect(sample(metrics, "jobloom_jobs_finished_total", { ...labels, status: "SUCCEEDED" })).toBe(5)
      expect(sample(metrics, "jobloom_jobs_finished_total", { ...labels, status: "FAILED" })).toBe(2)
      const durations = histograms(metrics, "jobloom_attempt_duration_seconds", labels)
      expect(durations.reduce((sum, series) => sum + series.count, 0)).toBe(7)
      expect(histograms(metrics, "jobloom_queue_wait_seconds", labels).map((series) => series.count)).toEqual([7])
      expect(metrics["jobloom_jobs"]?.type).toBe("gauge")
      expect(sample(metrics, "jobloom_jobs", { ...labels, status: "CREATED" })).toBe(3)
      expect(sample(metrics, "jobloom_workers_running")).toBeGreaterThanOrEqual(1)
      for (const name of Object.keys(metrics)) expect(name).toMatch(/^jobloom_/)
    } finally {
      await runtime.dispose()
    }
  })
})
