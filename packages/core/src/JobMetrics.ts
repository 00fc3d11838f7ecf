/**
 * jobloom's metrics, as Effect `Metric`s in the global registry: every series is named `jobloom_*`, and a host reads
 * them with `Metric.snapshot`, `@jobloom/http`'s `Metrics.metrics()` (Prometheus text) or `@effect/opentelemetry`'s
 * metrics layer.
 *
 * The engine and the worker record through the `record*` functions: synchronous, and each label set is built once
 * and reused (Effect caches a metric's hook per label array), so a job costs a few map lookups, not a registry
 * lookup per update. Label values are job types, queues and statuses: a host that makes queue names up per job makes
 * as many series.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Schedule from "effect/Schedule"
import { type JobStatus, statuses, terminalStatuses } from "./Job.js"
import { Jobs } from "./Jobs.js"
import * as JobTracing from "./JobTracing.js"

/** The prefix of every jobloom series. */
export const prefix = "jobloom_"

/** Jobs created, by `type` and `queue` (an idempotent create that returned an existing job is not counted). */
export const jobsCreated = Metric.counter("jobloom_jobs_created_total", {
  description: "Jobs created, by type and queue",
  incremental: true
})

/** Jobs claimed by a worker of this process (attempts started), by `type` and `queue`. */
export const jobsClaimed = Metric.counter("jobloom_jobs_claimed_total", {
  description: "Jobs claimed by this process's workers (attempts started), by type and queue",
  incremental: true
})

/** Jobs that reached a terminal status through this process, by `type`, `queue` and `status`. */
export const jobsFinished = Metric.counter("jobloom_jobs_finished_total", {
  description: "Jobs that reached a terminal status through this process, by type, queue and status",
  incremental: true
})

const secondsBoundaries = MetricBoundaries.fromIterable([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600
])

/** Seconds from an attempt's claim to its outcome, by `type`, `queue` and `outcome`. */
export const attemptDuration = Metric.histogram(
  "jobloom_attempt_duration_seconds",
  secondsBoundaries,
  "Seconds from an attempt's claim to its outcome, by type, queue and outcome"
)

/** Seconds a job waited from being queued to its attempt's start (`startedAt − queuedAt`), by `type` and `queue`. */
export const queueWait = Metric.histogram(
  "jobloom_queue_wait_seconds",
  secondsBoundaries,
  "Seconds from a job being queued to its attempt's start, by type and queue"
)

/** Jobs in each non-terminal status, by `type`, `queue` and `status`, read from the store by `refreshGauges`. */
export const jobs = Metric.gauge("jobloom_jobs", {
  description: "Jobs in each non-terminal status, by type, queue and status (read from the store at an interval)"
})

/** Callback deliveries answered with a 2xx. */
export const callbacksDelivered = Metric.counter("jobloom_callbacks_delivered_total", {
  description: "Callback deliveries answered with a 2xx",
  incremental: true
})

/** Callback delivery tries that failed, by `final` (`true` when no retry is left). */
export const callbacksFailed = Metric.counter("jobloom_callbacks_failed_total", {
  description: "Callback delivery tries that failed, by final (true when the delivery was given up)",
  incremental: true
})

/** Jobs per non-empty claim. */
export const claimBatchSize = Metric.histogram(
  "jobloom_claim_batch_size",
  MetricBoundaries.fromIterable([1, 2, 5, 10, 20, 50, 100, 200, 500]),
  "Jobs per non-empty claim"
)

/** Store calls that failed, by `operation` and `reason`. */
export const storeErrors = Metric.counter("jobloom_store_errors_total", {
  description: "Store calls that failed, by operation and reason",
  incremental: true
})

/** Workers running in this process (claiming; a worker shutting down no longer counts). */
export const workersRunning = Metric.gauge("jobloom_workers_running", {
  description: "Workers running (claiming) in this process"
})

// ---------------------------------------------------------------------------------------------------------------------
// recording: synchronous, with cached label arrays
// ---------------------------------------------------------------------------------------------------------------------

let recording = true

/**
 * Turns the recording of jobloom's metrics off (or back on) in this process; on by default. For measuring what they
 * cost (the bench's `--no-metrics`): a host that does not want them just does not serve them. A store given to
 * {@link countStoreErrors} while recording is off is not wrapped.
 */
export const setRecording = (enabled: boolean): void => {
  recording = enabled
}

/** Whether jobloom's metrics are being recorded in this process. */
export const isRecording = (): boolean => recording

type Labels = ReadonlyArray<MetricLabel.MetricLabel>

// Effect caches a metric's hook by the identity of its label array: one array per label set keeps updates cheap.
// Bounded, so label values a host invents without end cannot grow it forever.
const labelCache = new Map<string, Labels>()
const maxCachedLabels = 10_000

const labelsOf = (names: ReadonlyArray<string>, values: ReadonlyArray<string>): Labels => {
  const key = values.join("\u0000") + "\u0001" + names.join(",")
  let labels = labelCache.get(key)
  if (labels === undefined) {
    if (labelCache.size >= maxCachedLabels) labelCache.clear()
    labels = names.map((name, i) => MetricLabel.make(name, values[i]!))
    labelCache.set(key, labels)
  }
  return labels
}

const typeQueue = ["type", "queue"] as const
const typeQueueStatus = ["type", "queue", "status"] as const
const typeQueueOutcome = ["type", "queue", "outcome"] as const

/**
 * The label arrays of one type and queue, found per job by two map lookups on the strings the row already holds (no
 * key is built, nothing is allocated once the series exists): the worker records every job through one of these.
 */
class Series {
  readonly typeQueue: Labels
  private readonly byOutcome = new Map<string, Labels>()
  private readonly byStatus = new Map<string, Labels>()
  constructor(
    readonly type: string,
    readonly queue: string
  ) {
    this.typeQueue = labelsOf(typeQueue, [type, queue])
  }
  outcome(outcome: string): Labels {
    let labels = this.byOutcome.get(outcome)
    if (labels === undefined) {
      labels = labelsOf(typeQueueOutcome, [this.type, this.queue, outcome])
      this.byOutcome.set(outcome, labels)
    }
    return labels
  }
  status(status: string): Labels {
    let labels = this.byStatus.get(status)
    if (labels === undefined) {
      labels = labelsOf(typeQueueStatus, [this.type, this.queue, status])
      this.byStatus.set(status, labels)
    }
    return labels
  }
}

/** The series of each type, then queue; bounded like the label cache. */
const seriesCache = new Map<string, Map<string, Series>>()
let seriesCount = 0

const seriesOf = (type: string, queue: string): Series => {
  let byQueue = seriesCache.get(type)
  let series = byQueue?.get(queue)
  if (series !== undefined) return series
  if (seriesCount >= maxCachedLabels) {
    seriesCache.clear()
    seriesCount = 0
    byQueue = undefined
  }
  if (byQueue === undefined) {
    byQueue = new Map()
    seriesCache.set(type, byQueue)
  }
  series = new Series(type, queue)
  byQueue.set(queue, series)
  seriesCount++
  return series
}

/** Counts `count` jobs created of one type in one queue. */
export const recordCreated = (type: string, queue: string, count = 1): void => {
  if (recording && count > 0) jobsCreated.unsafeUpdate(count, seriesOf(type, queue).typeQueue)
}

/** What the claim metrics read of a claimed row. */
export interface ClaimedJob {
  readonly type: string
  readonly queue: string
  readonly queuedAt: number | null
  readonly startedAt: number | null
}

/**
 * Counts one claim: the batch size, and for each job its claim and its wait in the queue. The claim counter is
 * updated once per run of rows of one type and queue (a claim's rows mostly share them), not once per row.
 */
export const recordClaimed = (rows: ReadonlyArray<ClaimedJob>): void => {
  if (!recording || rows.length === 0) return
  claimBatchSize.unsafeUpdate(rows.length, [])
  let series: Series | undefined
  let run = 0
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    if (series === undefined || series.type !== row.type || series.queue !== row.queue) {
      if (series !== undefined) jobsClaimed.unsafeUpdate(run, series.typeQueue)
      series = seriesOf(row.type, row.queue)
      run = 0
    }
    run++
    if (row.queuedAt !== null && row.startedAt !== null) {
      queueWait.unsafeUpdate(Math.max(0, row.startedAt - row.queuedAt) / 1000, series.typeQueue)
    }
  }
  if (series !== undefined) jobsClaimed.unsafeUpdate(run, series.typeQueue)
}

/** Records one attempt's outcome and how long it took from claim to outcome. */
export const recordAttempt = (type: string, queue: string, outcome: string, millis: number): void => {
  if (!recording) return
  attemptDuration.unsafeUpdate(Math.max(0, millis) / 1000, seriesOf(type, queue).outcome(outcome))
}

/** Counts `count` jobs (one by default) that reached a terminal status. Non-terminal statuses are ignored. */
export const recordFinished = (type: string, queue: string, status: JobStatus, count = 1): void => {
  if (!recording || count <= 0) return
  if (status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED" || status === "TIMED_OUT") {
    jobsFinished.unsafeUpdate(count, seriesOf(type, queue).status(status))
  }
}

/** Counts one callback delivery try. */
export const recordCallback = (delivered: boolean, final: boolean): void => {
  if (!recording) return
  if (delivered) callbacksDelivered.unsafeUpdate(1, [])
  else callbacksFailed.unsafeUpdate(1, labelsOf(["final"], [final ? "true" : "false"]))
}

/** Counts one failed store call. */
export const recordStoreError = (operation: string, reason: string): void => {
  if (!recording) return
  storeErrors.unsafeUpdate(1, labelsOf(["operation", "reason"], [operation, reason]))
}

/** Marks a worker of this process as running (`+1`) or stopping (`-1`). */
export const recordWorker = (delta: 1 | -1): void => {
  workersRunning.unsafeModify(delta, [])
}

/** Workers running in this process now. */
export const runningWorkers = (): number => workersRunning.unsafeValue([]).value

// marks a store already counting, so a store passed on (engine → worker → maintenance) is never counted twice
const countingMark = Symbol.for("@jobloom/core/JobMetrics/countStoreErrors")

/**
 * The store, counting in `jobloom_store_errors_total` the failures of every call made through it, labelled by the
 * method's name (`operation`) and the error's `reason`. The engine, the worker and maintenance each see their store
 * through it; a store already counting is returned as it is. Members that are not Effects or Effect-returning
 * methods pass through unchanged, getters and prototype methods included.
 */
export const countStoreErrors = <S extends object>(store: S): S => {
  if (!recording || (store as { readonly [countingMark]?: boolean })[countingMark] === true) return store
  // one counting view per store: the process's one Settler per store is found by the store it is given
  const known = countingViews.get(store)
  if (known !== undefined) return known as S
  const view = makeCounting(store)
  countingViews.set(store, view)
  return view
}

const countingViews = new WeakMap<object, object>()

const makeCounting = <S extends object>(store: S): S => {
  const wrapped = new Map<string, { readonly member: unknown; readonly counted: unknown }>()
  return new Proxy(store, {
    get(target, key) {
      if (key === countingMark) return true
      const member: unknown = Reflect.get(target, key, target)
      if (typeof key !== "string" || (typeof member !== "function" && !Effect.isEffect(member))) return member
      const cached = wrapped.get(key)
      if (cached !== undefined && cached.member === member) return cached.counted
      const counted = Effect.isEffect(member)
        ? Effect.tapError(member, (error) => onStoreError(key, error))
        : (...args: Array<unknown>) => {
            const result = (member as (...args: Array<unknown>) => unknown).apply(target, args)
            return Effect.isEffect(result) ? Effect.tapError(result, (error) => onStoreError(key, error)) : result
          }
      wrapped.set(key, { member, counted })
      return counted
    }
  })
}

const onStoreError = (operation: string, error: unknown) =>
  Effect.sync(() => {
    const reason =
      typeof error === "object" && error !== null && "reason" in error && typeof error.reason === "string"
        ? error.reason
        : "Unknown"
    recordStoreError(operation, reason)
  })

// ---------------------------------------------------------------------------------------------------------------------
// gauges from the store
// ---------------------------------------------------------------------------------------------------------------------

/** Every status but the terminal ones (PAUSING included). */
const liveStatuses: ReadonlyArray<JobStatus> = statuses.filter((s) => !terminalStatuses.includes(s))

/** Label sets the gauges were given a value for on the last refresh (set to 0 when they disappear). */
const gaugeSeries = new Map<string, Labels>()

/**
 * Reads the count of jobs in each non-terminal status, per type, of every queue the engine knows (its types' queues,
 * `default`, and `queues`), and sets the `jobloom_jobs` gauges; a series that had jobs and has none now reads 0. One
 * stats call per queue, over non-terminal statuses only: terminal jobs pile up without end, and counting them would
 * cost a scan that grows with history (the `jobloom_jobs_finished_total` counters tell of them instead). A failed
 * read leaves the gauges as they were.
 */
export const refreshGauges = (
  options: { readonly queues?: ReadonlyArray<string> } = {}
): Effect.Effect<void, never, Jobs> =>
  Effect.gen(function* () {
    const engine = yield* Jobs
    const queues = new Set(["default", ...engine.types().map((t) => t.queue), ...(options.queues ?? [])])
    const seen = new Map<string, Labels>()
    for (const queue of queues) {
      const stats = yield* engine.stats({ queues: [queue], statuses: liveStatuses })
      for (const [type, byStatus] of Object.entries(stats.byType)) {
        for (const status of liveStatuses) {
          const count = byStatus[status] ?? 0
          if (count === 0) continue
          const labels = labelsOf(typeQueueStatus, [type, queue, status])
          jobs.unsafeUpdate(count, labels)
          seen.set(`${type}\u0000${queue}\u0000${status}`, labels)
        }
      }
    }
    for (const [key, labels] of gaugeSeries) if (!seen.has(key)) jobs.unsafeUpdate(0, labels)
    gaugeSeries.clear()
    for (const [key, labels] of seen) gaugeSeries.set(key, labels)
  }).pipe(
    Effect.catchAll(() => Effect.void),
    (self) => JobTracing.traced(self, "jobloom.metrics.refresh")
  )

/** Options of {@link layerGauges}. */
export interface GaugeOptions {
  /** How often the gauges are read from the store. Default 15 s. */
  readonly interval?: Duration.DurationInput
  /** Queues to count beyond the registered types' queues and `default`. */
  readonly queues?: ReadonlyArray<string>
}

/** Refreshes the `jobloom_jobs` gauges at an interval for the life of the layer (for hosts that push metrics). */
export const layerGauges = (options: GaugeOptions = {}): Layer.Layer<never, never, Jobs> =>
  Layer.scopedDiscard(
    Effect.forkScoped(
      Effect.repeat(
        refreshGauges(options.queues === undefined ? {} : { queues: options.queues }),
        Schedule.spaced(Duration.decode(options.interval ?? Duration.seconds(15)))
      )
    )
  )
