/**
 * jobloom's metrics in Prometheus text format, as a Hono handler a host mounts where it likes:
 * `app.get("/metrics", Metrics.metrics({ runtime }))`.
 *
 * The counters and histograms are recorded by the engine and the worker as they work (`JobMetrics` in
 * `@jobloom/core`); the `jobloom_jobs` gauges are read from the store on a scrape, at most once per
 * `refreshInterval`, so a scrape every few seconds costs the store a few cheap counts per interval, not per scrape.
 *
 * @since 0.1.0
 */
import { JobMetrics } from "@jobloom/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { Context } from "hono"
import * as Prometheus from "./internal/prometheus.js"
import * as Runner from "./internal/runner.js"

/** The content type of the answer: Prometheus text exposition format 0.0.4. */
export const contentType = Prometheus.contentType

/** Options of {@link metrics}. */
export interface Options {
  /** The engine's runtime, to refresh the `jobloom_jobs` gauges from the store; without it they are not refreshed. */
  readonly runtime?: Runner.JobsRuntime
  /** The gauges are read from the store at most this often. Default 15 s. */
  readonly refreshInterval?: Duration.DurationInput
  /** Queues to count in the gauges beyond the registered types' queues and `default`. */
  readonly queues?: ReadonlyArray<string>
  /** Which metrics to serve, by name. Default: jobloom's own (`jobloom_*`); `() => true` serves every Effect metric. */
  readonly include?: (name: string) => boolean
}

const jobloomOnly = (name: string) => name.startsWith(JobMetrics.prefix)

/** The metrics of this process's Effect registry as Prometheus text (jobloom's own by default). */
export const text = (include: (name: string) => boolean = jobloomOnly): string =>
  Prometheus.serialize(Metric.unsafeSnapshot(), include)

/** A handler that answers every request with the metrics as Prometheus text. */
export const metrics = (options: Options = {}): ((c: Context<any>) => Promise<Response>) => {
  const include = options.include ?? jobloomOnly
  const interval = Duration.toMillis(Duration.decode(options.refreshInterval ?? Duration.seconds(15)))
  const runner = options.runtime === undefined ? undefined : Runner.make(options.runtime)
  const refresh = JobMetrics.refreshGauges(options.queues === undefined ? {} : { queues: options.queues })
  let refreshedAt = -Infinity
  let inFlight: Promise<unknown> | undefined
  return async () => {
    if (runner !== undefined && Date.now() - refreshedAt >= interval) {
      // concurrent scrapes share one refresh; a slow store delays the answer, never doubles the reads
      inFlight ??= runner.runExit(refresh).finally(() => {
        refreshedAt = Date.now()
        inFlight = undefined
      })
      await inFlight
    }
    return new Response(text(include), {
      status: 200,
      headers: { "content-type": contentType, "cache-control": "no-store" }
    })
  }
}

/** The metrics text as an Effect (for hosts serving it with their own HTTP stack). */
export const textEffect = (include: (name: string) => boolean = jobloomOnly): Effect.Effect<string> =>
  Effect.map(Metric.snapshot, (pairs) => Prometheus.serialize(pairs, include))
