/**
 * Job types are plugins: a definition that is plain data (`make`), and a handler attached separately as a Layer
 * (`toLayer`, or `toLayerPromise` for hosts without Effect), in the style of Effect's Workflow.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { errorMessage, rejections, toPromiseContext } from "./internal/handlerFailure.js"
import { fromAbortable } from "./internal/promiseHandler.js"
import type { ItemCounts, Job, LogLevel, StageStatus } from "./Job.js"
import type { JobStoreError } from "./JobStore.js"

/** A value a stage reports, declared up front so a new job already shows it. */
export interface StageParamSpec {
  readonly key: string
  readonly name: string
  /** Defaults to `"default"`. */
  readonly category?: string
}

/** A declared stage. */
export interface StageSpec {
  readonly key: string
  readonly name: string
  readonly params?: ReadonlyArray<StageParamSpec>
}

/** How a type retries failed attempts. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 3. */
  readonly maxAttempts?: number
  /**
   * Delay before each retry, as a Schedule whose output is ignored and whose delays are used in order (the n-th
   * delay before the n-th retry). Default: exponential from 1 s, factor 2, capped at 5 minutes, with jitter.
   */
  readonly backoff?: Schedule.Schedule<unknown>
}

/** The default backoff: capped exponential with jitter. */
export const defaultBackoff: Schedule.Schedule<unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.minutes(5))),
  Schedule.jittered
)

/** A job type definition: plain data, no handler. */
export interface JobType<P = unknown, PI = unknown, R = unknown, RI = unknown> {
  readonly key: string
  readonly name: string
  readonly description: string
  readonly params: Schema.Schema<P, PI>
  readonly result: Schema.Schema<R, RI>
  readonly stages: ReadonlyArray<StageSpec>
  readonly maxAttempts: number
  readonly backoff: Schedule.Schedule<unknown>
  /** Per-attempt limit, or null. */
  readonly timeout: Duration.Duration | null
  /** Running jobs of this type at most, across every worker of the store; null = unlimited. */
  readonly concurrency: number | null
  readonly queue: string
  readonly priority: number
  /** A smaller view of the result (MCRIT `compact=true`); identity when absent. */
  readonly compact: ((result: R) => unknown) | null
  /** Encodes each item's output (`items.complete(key, output)`); null stores outputs as they are (JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly itemOutput: Schema.Schema<any, any> | null
  /**
   * A handler that succeeds with more than this share of its items FAILED fails for good instead, with
   * `terminalReason` `threshold` (Antenna's failure threshold); null: never.
   */
  readonly itemFailureThreshold: number | null
}

/** Any job type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = JobType<any, any, any, any>

/** Options of {@link make}. */
export interface MakeOptions<P, PI, R, RI> {
  readonly key: string
  readonly name?: string
  readonly description?: string
  readonly params?: Schema.Schema<P, PI>
  /**
   * Encodes the handler's return value, stored as the job's result. A handler whose value encodes to `undefined`
   * (it returned nothing) stores no result: the job's `resultId` stays null.
   */
  readonly result?: Schema.Schema<R, RI>
  readonly stages?: ReadonlyArray<StageSpec>
  readonly retry?: RetryPolicy
  readonly timeout?: Duration.DurationInput | null
  readonly concurrency?: number | null
  readonly queue?: string
  readonly priority?: number
  readonly compact?: (result: R) => unknown
  /** Per-input items: the Schema of an item's output, and the failure threshold (a share in [0, 1]). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly items?: { readonly output?: Schema.Schema<any, any>; readonly failureThreshold?: number }
}

/** Defines a job type. */
export const make = <P = unknown, PI = unknown, R = unknown, RI = unknown>(
  options: MakeOptions<P, PI, R, RI>
): JobType<P, PI, R, RI> => ({
  key: options.key,
  name: options.name ?? options.key,
  description: options.description ?? "",
  params: options.params ?? (Schema.Unknown as unknown as Schema.Schema<P, PI>),
  result: options.result ?? (Schema.Unknown as unknown as Schema.Schema<R, RI>),
  stages: options.stages ?? [],
  maxAttempts: options.retry?.maxAttempts ?? 3,
  backoff: options.retry?.backoff ?? defaultBackoff,
  timeout: options.timeout === undefined || options.timeout === null ? null : Duration.decode(options.timeout),
  concurrency: options.concurrency ?? null,
  queue: options.queue ?? "default",
  priority: options.priority ?? 0,
  compact: options.compact ?? null,
  itemOutput: options.items?.output ?? null,
  itemFailureThreshold:
    options.items?.failureThreshold === undefined ? null : Math.min(1, Math.max(0, options.items.failureThreshold))
})

/** A handle on one declared (or ad hoc) stage of the running job. Writes are coalesced by the worker. */
export interface StageHandle {
  /** Sets any of status, progress (clamped to [0, 1], never lower than before in this attempt) and params by key. */
  readonly update: (patch: {
    readonly status?: StageStatus
    readonly progress?: number
    readonly params?: Readonly<Record<string, unknown>>
  }) => Effect.Effect<void>
  /** Status RUNNING. */
  readonly start: Effect.Effect<void>
  /** Sets progress. */
  readonly progress: (value: number) => Effect.Effect<void>
  /** Upserts one param by key; name and category come from the declaration unless given. */
  readonly param: (
    key: string,
    value: unknown,
    options?: { readonly name?: string; readonly category?: string }
  ) => Effect.Effect<void>
  /** Status SUCCEEDED and progress 1. */
  readonly complete: Effect.Effect<void>
  /** Status FAILED (progress kept). */
  readonly fail: Effect.Effect<void>
}

/** An item as the handler sees it. */
export interface ItemInfo {
  readonly key: string
  readonly status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED"
  /** The item's input as declared (JSON), or null. */
  readonly input: unknown
  /** The error of an earlier attempt's failure, or null. */
  readonly error: string | null
}

/**
 * The running job's items. Named items (`add`, `start`, `complete`, `fail`) are stored one by one and drive the
 * `progress.items` counters; the first of these calls reads the job's items from the store, the others only change
 * memory (the worker writes changed items in batches, and before the attempt's settlement). `setTotal`, `completed`
 * and `failed` are bare counters for jobs whose items have no names; do not mix the two in one job.
 */
export interface ItemsHandle {
  readonly setTotal: (total: number) => Effect.Effect<void>
  readonly completed: (n?: number) => Effect.Effect<void>
  readonly failed: (n?: number) => Effect.Effect<void>
  /** The items this attempt has to do: every item not SUCCEEDED (an earlier attempt's FAILED ones too), in order. */
  readonly pending: Effect.Effect<ReadonlyArray<ItemInfo>, JobStoreError>
  /** The counters over every item of the job. */
  readonly counts: Effect.Effect<ItemCounts, JobStoreError>
  /** Adds items (PENDING); a key the job already has is left as it is. */
  readonly add: (
    items: ReadonlyArray<{ readonly key: string; readonly input?: unknown }>
  ) => Effect.Effect<void, JobStoreError>
  /** The item is RUNNING (an unknown key is added). */
  readonly start: (key: string) => Effect.Effect<void, JobStoreError>
  /** The item SUCCEEDED with this output (encoded by the type's `items.output` Schema when it has one). */
  readonly complete: (key: string, output?: unknown) => Effect.Effect<void, JobStoreError>
  /** The item FAILED with this error message. */
  readonly fail: (key: string, error: string) => Effect.Effect<void, JobStoreError>
}

/** What a handler gets besides its params. */
export interface JobContext {
  /** The job's fields as claimed (status RUNNING, this attempt's number in `attempt`). */
  readonly job: Job
  readonly stage: (key: string) => StageHandle
  readonly items: ItemsHandle
  readonly log: {
    readonly info: (message: string) => Effect.Effect<void>
    readonly warn: (message: string) => Effect.Effect<void>
    readonly error: (message: string) => Effect.Effect<void>
    readonly write: (level: LogLevel, message: string) => Effect.Effect<void>
  }
  /** Extends the lease now (the worker also does so on its own schedule). */
  readonly heartbeat: Effect.Effect<void>
}

/** A handler failure that says whether to retry and which terminal reason to record. */
export class JobFailure extends Schema.TaggedError<JobFailure>()("JobFailure", {
  message: Schema.String,
  retryable: Schema.Boolean,
  terminalReason: Schema.optional(Schema.Literal("error", "threshold"))
}) {}

/** The Promise-side context: the same handles, returning plain values. */
export interface PromiseJobContext {
  readonly job: Job
  readonly signal: AbortSignal
  readonly stage: (key: string) => {
    readonly update: (patch: Parameters<StageHandle["update"]>[0]) => void
    readonly start: () => void
    readonly progress: (value: number) => void
    readonly param: (
      key: string,
      value: unknown,
      options?: { readonly name?: string; readonly category?: string }
    ) => void
    readonly complete: () => void
    readonly fail: () => void
  }
  readonly items: {
    readonly setTotal: (n: number) => void
    readonly completed: (n?: number) => void
    readonly failed: (n?: number) => void
    readonly pending: () => Promise<ReadonlyArray<ItemInfo>>
    readonly counts: () => Promise<ItemCounts>
    readonly add: (items: ReadonlyArray<{ readonly key: string; readonly input?: unknown }>) => Promise<void>
    readonly start: (key: string) => Promise<void>
    readonly complete: (key: string, output?: unknown) => Promise<void>
    readonly fail: (key: string, error: string) => Promise<void>
  }
  readonly log: {
    readonly info: (m: string) => void
    readonly warn: (m: string) => void
    readonly error: (m: string) => void
  }
}

/** A registered handler, with its requirements already provided. */
export interface Handler {
  readonly type: Any
  readonly run: (params: unknown, context: JobContext) => Effect.Effect<unknown, unknown>
  /**
   * The same handler before its requirements are provided, with the context that provides them: a worker that runs
   * thousands of jobs a second provides it once for all its jobs instead of once per job. Optional.
   */
  readonly unprovided?: {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly run: (params: unknown, context: JobContext) => Effect.Effect<unknown, unknown, any>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly context: Context.Context<any>
  }
}

/** The registry Tag. `Jobs.layer` provides it; `toLayer` fills it. */
export class JobRegistry extends Context.Tag("@jobloom/core/JobRegistry")<JobRegistry, JobRegistry.Service>() {}

/** The types of the `JobRegistry` service. */
export declare namespace JobRegistry {
  /** The registry of job types known to this process, and of the handlers this process can run. */
  export interface Service {
    readonly types: Map<string, Any>
    readonly handlers: Map<string, Handler>
  }
}

/** Registers type definitions without handlers (an API process that only creates jobs). */
export const register = (...types: ReadonlyArray<Any>): Layer.Layer<never, never, JobRegistry> =>
  Layer.effectDiscard(
    Effect.map(JobRegistry, (registry) => {
      for (const type of types) registry.types.set(type.key, type)
    })
  )

/** Attaches an Effect handler to a type. Its requirements are taken from the layer's context. */
export const toLayer = <P, PI, R, RI, E, Req>(
  type: JobType<P, PI, R, RI>,
  handler: (params: P, context: JobContext) => Effect.Effect<R, E, Req>
): Layer.Layer<never, never, JobRegistry | Req> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const registry = yield* JobRegistry
      const context = yield* Effect.context<Req>()
      registry.types.set(type.key, type)
      registry.handlers.set(type.key, {
        type,
        run: (params, jobContext) => Effect.provide(handler(params as P, jobContext), context),
        unprovided: { run: (params, jobContext) => handler(params as P, jobContext), context }
      })
    })
  )

/**
 * Attaches an async-function handler; it is interrupted through its `AbortSignal`, and its attempt ends when its
 * promise settles (or when the worker abandons it, see `WorkerOptions.abandonAfter`).
 */
export const toLayerPromise = <P, PI, R, RI>(
  type: JobType<P, PI, R, RI>,
  handler: (params: P, context: PromiseJobContext) => Promise<R>
): Layer.Layer<never, never, JobRegistry> =>
  toLayer(type, (params, context) =>
    fromAbortable(
      (signal) => handler(params, toPromiseContext(context, signal)),
      (cause) => {
        if (cause instanceof JobFailure) return cause
        const failure = new JobFailure({ message: errorMessage(cause), retryable: true })
        // the rejection's own stack, for `lastError.stack` (a JobFailure built here would point at this line)
        if (cause instanceof Error) rejections.set(failure, cause)
        return failure
      }
    )
  )
