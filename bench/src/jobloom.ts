/**
 * The jobloom driver, over any store layer: bulk enqueue through `Jobs.createMany`, one-at-a-time through
 * `Jobs.enqueue`, and a worker from `Worker.make` in a scope of its own (closing it is the graceful shutdown).
 */
import { JobMetrics, Jobs, JobStore, JobType, Worker } from "@jobloom/core"
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import type { Engine, Payload, Setting, Target } from "./protocol.js"

/** The no-op job type of every measurement. One attempt: a no-op never fails. */
export const noop = JobType.make({ key: "noop", retry: { maxAttempts: 1 } })

/**
 * What a host that traces pays: `BENCH_TRACING=1` (`pnpm bench --tracing`) installs `@effect/opentelemetry`'s tracer
 * with a batch processor, as a host sending to a collector would, and an exporter that drops the spans (no network:
 * the cost measured is making, ending and batching them). Without it no tracer is installed and jobloom makes no span.
 */
const tracing = (): Layer.Layer<never> => {
  if (process.env.BENCH_TRACING !== "1") return Layer.empty
  const dropping: SpanExporter = {
    export: (_spans: Array<ReadableSpan>, done) => done({ code: 0 }),
    shutdown: () => Promise.resolve()
  }
  // imported only when tracing: OpenTelemetry's modules are ~14 MB of every process's RSS
  return Layer.unwrapEffect(
    Effect.promise(async () => {
      const [NodeSdk, { BatchSpanProcessor }] = await Promise.all([
        import("@effect/opentelemetry/NodeSdk"),
        import("@opentelemetry/sdk-trace-base")
      ])
      return NodeSdk.layer(() => ({
        resource: { serviceName: "jobloom-bench" },
        spanProcessor: new BatchSpanProcessor(dropping)
      }))
    })
  )
}

/** Worker settings per measurement. `best` is the setting measured fastest here. */
export const defaultSettings: Record<Setting | "latency", Worker.WorkerOptions> = {
  c10: { concurrency: 10 },
  // measured here (N = 20,000, Postgres / SQLite, one run each, machine shared): since settles carry the attempt
  // log lines, concurrency 50 → 7.3k / 18.5k jobs/s, 200 → 11.4k / 18.5k, 500 → 15.9–17.4k / 19.2–28.8k,
  // 1000 → 10.3k / 16.8k, 2000 → 7.9k / 19.0k. A claim takes at most the free slots, so for jobs that finish at once
  // the concurrency is the claim batch: 500 is graphile-worker's local-queue batch too
  best: { concurrency: 500 },
  latency: { concurrency: 10 }
}

/** Builds a protocol engine from a store layer and an ANALYZE for its target. */
export const makeEngine = (options: {
  readonly store: (target: Target, migrate: boolean) => Layer.Layer<JobStore.JobStore, JobStore.JobStoreError>
  readonly analyze: (target: Target) => Promise<void>
  readonly settings?: Partial<Record<Setting | "latency", Worker.WorkerOptions>>
}): Engine => {
  const settings = { ...defaultSettings, ...options.settings }
  // tuning aid: BENCH_BEST='{"concurrency": 100}' merges into the best setting
  if (process.env.BENCH_BEST) settings.best = { ...settings.best, ...JSON.parse(process.env.BENCH_BEST) }
  // `pnpm bench --no-metrics`: jobloom records no metric in this process (they are recorded by default)
  if (process.env.BENCH_METRICS === "off") JobMetrics.setRecording(false)
  // BENCH_WORKERS=8 runs each drain with 8 workers of the setting in one process over one store (a host running one
  // worker per queue): the process-wide settler is measured by it
  const workers = Math.max(1, Number(process.env.BENCH_WORKERS ?? 1))
  return {
    open: async (target, migrate) => {
      // the handler of the current worker run; a no-op apart from telling the harness it started
      let onJob: (payload: Payload) => void = () => {}
      const handler = JobType.toLayer(noop, (params) => Effect.sync(() => onJob(params as Payload)))
      const runtime = ManagedRuntime.make(
        Layer.provideMerge(handler, Jobs.layer({ types: [noop] })).pipe(
          Layer.provideMerge(options.store(target, migrate)),
          Layer.provideMerge(tracing())
        )
      )
      const run = <A, E>(effect: Effect.Effect<A, E, Jobs.Jobs | JobType.JobRegistry | JobStore.JobStore>) =>
        runtime.runPromise(effect)
      await run(Effect.void)
      return {
        enqueueMany: (payloads) =>
          run(
            Effect.flatMap(Jobs.Jobs, (jobs) =>
              jobs.createMany(
                payloads.map((params) => ({ type: "noop", params })),
                { startNow: true }
              )
            )
          ).then(() => undefined),
        enqueue: (payload) =>
          run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.enqueue({ type: "noop", params: payload }))).then(
            () => undefined
          ),
        analyze: () => options.analyze(target),
        pending: () =>
          run(
            Effect.flatMap(JobStore.JobStore, (store) =>
              store.stats({ filter: { statuses: ["QUEUED", "RUNNING"] } })
            ).pipe(Effect.map((rows) => rows.reduce((n, row) => n + row.count, 0)))
          ),
        startWorker: async (setting, callback) => {
          onJob = callback
          const scope = await runtime.runPromise(Scope.make())
          for (let i = 0; i < workers; i++) await run(Scope.extend(Worker.make(settings[setting]), scope))
          return { stop: () => runtime.runPromise(Scope.close(scope, Exit.void)) }
        },
        close: () => runtime.dispose()
      }
    }
  }
}
