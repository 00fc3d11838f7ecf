/**
 * The engine: every operation on jobs a host or the HTTP router needs. The service Tag is `Jobs`; `Jobs.layer`
 * builds it over any `JobStore`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Option from "effect/Option"
import type { Job, JobResult, LogEntry, LogLevel, Progress, TerminalReason } from "./Job.js"
import { type ItemPage, type ItemStatus, type JobItem, type NewItem, NewItems } from "./JobItem.js"
import { JobStatus } from "./Job.js"
import type {
  BatchNotFound,
  IdempotencyKeyHeld,
  InvalidInput,
  InvalidParams,
  InvalidTransition,
  JobNotFound,
  ResultNotFound,
  UnknownJobType
} from "./JobError.js"
import * as internal from "./internal/engine.js"
import type { FilterQuery } from "./internal/jobFilter.js"
import type { JobStore, JobStoreError, SortKey } from "./JobStore.js"
import type { Any, JobRegistry, StageSpec } from "./JobType.js"
import type { JobScope } from "./JobScope.js"

const isoTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/** A time a client may send: an ISO 8601 date or date-time (never Date.parse's guesses, such as `1` for 2001). */
export const TimeInput = Schema.String.pipe(
  Schema.filter((s) => (isoTime.test(s) && Number.isFinite(Date.parse(s))) || "must be an ISO 8601 date or date-time"),
  Schema.annotations({ identifier: "TimeInput", jsonSchema: { type: "string", format: "date-time" } })
)

/** An http(s) URL without credentials (a secret in a URL ends up in logs; sign with the worker's secret instead). */
const CallbackUrl = Schema.String.pipe(
  Schema.pattern(/^https?:\/\/\S+$/, { message: () => "must be an http(s) URL" }),
  Schema.filter((s) => {
    let url: URL
    try {
      url = new URL(s)
    } catch {
      return "must be an http(s) URL"
    }
    return (url.username === "" && url.password === "") || "must not carry credentials (user:password@)"
  }),
  Schema.annotations({ jsonSchema: { type: "string", format: "uri", pattern: "^https?://\\S+$" } })
)

const NonEmpty = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

/** The body that creates one job. Every field but `type` overrides the type's default. */
export const CreateJob = Schema.Struct({
  type: NonEmpty,
  params: Schema.optional(Schema.Unknown),
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  queue: Schema.optional(NonEmpty),
  owner: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200)))),
  priority: Schema.optional(Schema.Int.pipe(Schema.between(-1_000_000, 1_000_000))),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  tags: Schema.optional(Schema.Array(NonEmpty).pipe(Schema.maxItems(100))),
  runAt: Schema.optional(TimeInput),
  deadline: Schema.optional(Schema.NullOr(TimeInput)),
  timeoutMs: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  maxAttempts: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  callbackUrl: Schema.optional(Schema.NullOr(CallbackUrl)),
  idempotencyKey: Schema.optional(Schema.NullOr(NonEmpty)),
  items: Schema.optional(NewItems.annotations({ description: "Per-input items, each PENDING with its key and input" }))
}).annotations({ identifier: "CreateJob" })
/** The body that creates one job. */
export type CreateJob = typeof CreateJob.Type

/** The fields `update` may change while a job is CREATED, QUEUED or PAUSED. */
export const UpdateJob = Schema.Struct({
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  priority: Schema.optional(Schema.Int.pipe(Schema.between(-1_000_000, 1_000_000))),
  params: Schema.optional(Schema.Unknown),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  tags: Schema.optional(Schema.Array(NonEmpty).pipe(Schema.maxItems(100))),
  runAt: Schema.optional(TimeInput),
  deadline: Schema.optional(Schema.NullOr(TimeInput))
}).annotations({ identifier: "UpdateJob" })
/** The fields `update` may change. */
export type UpdateJob = typeof UpdateJob.Type

/** Options of create. */
export interface CreateOptions {
  /** QUEUED at once instead of CREATED. */
  readonly startNow?: boolean
  /**
   * The caller's scope: a job's `owner` must be inside it (omitted, a one-owner scope's owner is used), and an
   * idempotency key is looked up only inside it.
   */
  readonly scope?: JobScope
}

/** Options of the calls that take only a scope: a job outside it is not found. */
export interface ScopeOptions {
  readonly scope?: JobScope
}

/** Filters of list, stats and bulk delete. Times are ISO strings; every given field must match. */
export interface JobQuery extends FilterQuery {
  /** The caller's scope, applied by the store with the other filters. */
  readonly scope?: JobScope
}

/** Options of list. */
export interface ListQuery extends JobQuery {
  readonly sort?: SortKey
  readonly order?: "asc" | "desc"
  /** 1 to 1000, default 50. Out of range is an `InvalidInput`, never clamped. */
  readonly limit?: number
  /** An opaque cursor from a previous page. */
  readonly cursor?: string
  readonly withTotal?: boolean
}

/** A page of jobs. */
export interface JobPage {
  readonly items: ReadonlyArray<Job>
  readonly nextCursor: string | null
  readonly total?: number
}

/** A page of log lines, newest first. */
export interface LogPage {
  readonly items: ReadonlyArray<LogEntry>
  readonly nextCursor: string | null
}

/** Counts of jobs. `byStatus` lists all nine statuses, zeros included. */
export const JobStats = Schema.Struct({
  total: Schema.Number,
  byStatus: Schema.Record({ key: JobStatus, value: Schema.Number }),
  byType: Schema.Record({ key: Schema.String, value: Schema.Record({ key: JobStatus, value: Schema.Number }) })
}).annotations({ identifier: "JobStats" })
/** Counts of jobs. */
export type JobStats = typeof JobStats.Type

/** A batch's counts and overall state. */
export const BatchSummary = Schema.Struct({
  batchId: Schema.String,
  total: Schema.Number,
  byStatus: Schema.Record({ key: JobStatus, value: Schema.Number }),
  /**
   * `CREATED`: its unfinished jobs all wait to be run (none queued or running yet); `RUNNING`: some are queued or
   * running; then, once every job is terminal, `COMPLETED`, `FAILED` (none succeeded) or `PARTIAL_FAILURE`.
   */
  state: Schema.Literal("CREATED", "RUNNING", "COMPLETED", "FAILED", "PARTIAL_FAILURE")
}).annotations({ identifier: "BatchSummary" })
/** A batch's counts and overall state. */
export type BatchSummary = typeof BatchSummary.Type

/** What `types()` tells of a registered job type. */
export interface JobTypeInfo {
  readonly key: string
  readonly name: string
  readonly description: string
  readonly queue: string
  readonly stages: ReadonlyArray<StageSpec>
  readonly maxAttempts: number
  readonly timeoutMs: number | null
  readonly concurrency: number | null
  /** JSON Schema of the params. */
  readonly paramsSchema: unknown
}

/** A change to a job, published to in-process subscribers (and to SSE clients through the HTTP router). */
export type JobEvent =
  | { readonly _tag: "created"; readonly jobId: string; readonly job: Job }
  | {
      readonly _tag: "status"
      readonly jobId: string
      readonly status: JobStatus
      readonly terminalReason: TerminalReason | null
    }
  | { readonly _tag: "progress"; readonly jobId: string; readonly progress: Progress }
  | {
      readonly _tag: "log"
      readonly jobId: string
      readonly at: string
      readonly level: LogLevel
      readonly message: string
    }
  | { readonly _tag: "deleted"; readonly jobId: string }

/** Errors of actions on one job. */
export type ActionError = JobNotFound | InvalidTransition | JobStoreError

/** The engine Tag. */
export class Jobs extends Context.Tag("@jobloom/core/Jobs")<Jobs, Jobs.Service>() {}

/** The types of the `Jobs` service. */
export declare namespace Jobs {
  /** The engine service. */
  export interface Service {
    /** Creates one job; `created` is false when an `idempotencyKey` returned an existing job. */
    readonly create: (
      input: CreateJob,
      options?: CreateOptions
    ) => Effect.Effect<
      { readonly job: Job; readonly created: boolean },
      UnknownJobType | InvalidParams | InvalidInput | IdempotencyKeyHeld | JobStoreError
    >
    /**
     * Creates many jobs atomically, sharing a new `batchId`. When every job hit a held idempotency key (nothing was
     * inserted), `batchId` is the holders' batch when they share one (a repeated request answers the first one's
     * batch), else null: the answer never names a batch that does not exist.
     */
    readonly createMany: (
      inputs: ReadonlyArray<CreateJob>,
      options?: CreateOptions
    ) => Effect.Effect<
      { readonly batchId: string | null; readonly jobs: ReadonlyArray<Job> },
      UnknownJobType | InvalidParams | InvalidInput | IdempotencyKeyHeld | JobStoreError
    >
    /** Creates one job QUEUED at once. */
    readonly enqueue: (
      input: CreateJob
    ) => Effect.Effect<Job, UnknownJobType | InvalidParams | InvalidInput | IdempotencyKeyHeld | JobStoreError>
    /** One job; outside `scope` it is a `JobNotFound`. */
    readonly get: (id: string, options?: ScopeOptions) => Effect.Effect<Job, JobNotFound | JobStoreError>
    readonly list: (query?: ListQuery) => Effect.Effect<JobPage, InvalidInput | JobStoreError>
    /** CREATED → QUEUED. Queued or running is an `InvalidTransition`, never a second execution. */
    readonly run: (id: string) => Effect.Effect<Job, ActionError>
    readonly cancel: (id: string) => Effect.Effect<Job, ActionError>
    /** Terminal → QUEUED; SUCCEEDED items are kept (handed to no handler) unless `full` reruns them all. */
    readonly retry: (id: string, options?: { readonly full?: boolean }) => Effect.Effect<Job, ActionError>
    /** A page of the job's items in order, optionally only some statuses; `limit` 1 to 1000, default 100. */
    readonly items: (
      id: string,
      options?: {
        readonly statuses?: ReadonlyArray<ItemStatus>
        readonly limit?: number
        readonly cursor?: string
      }
    ) => Effect.Effect<ItemPage, JobNotFound | InvalidInput | JobStoreError>
    /**
     * Sets the host's annotations of a job in any status, finished ones too (super.AI tags and reviews jobs after
     * they ran): `tags` and `metadata` replace the job's own when given. Never changes the status.
     */
    readonly annotate: (
      id: string,
      patch: { readonly tags?: ReadonlyArray<string>; readonly metadata?: Readonly<Record<string, unknown>> }
    ) => Effect.Effect<Job, ActionError | InvalidInput>
    /** One item of the job by key. */
    readonly item: (id: string, key: string) => Effect.Effect<Option.Option<JobItem>, JobNotFound | JobStoreError>
    /**
     * Adds items to a CREATED, QUEUED or PAUSED job (a running job's handler adds its own): new keys last, an existing
     * key gets the new input and is PENDING again.
     */
    readonly addItems: (id: string, items: ReadonlyArray<NewItem>) => Effect.Effect<Job, ActionError | InvalidInput>
    readonly pause: (id: string) => Effect.Effect<Job, ActionError>
    readonly resume: (id: string) => Effect.Effect<Job, ActionError>
    readonly update: (id: string, patch: UpdateJob) => Effect.Effect<Job, ActionError | InvalidParams | InvalidInput>
    /** Deletes from CREATED or a terminal status; `force` cancels first and deletes whatever the status. */
    readonly delete: (id: string, options?: { readonly force?: boolean }) => Effect.Effect<void, ActionError>
    /** Deletes CREATED and terminal jobs matching every given filter; no filter at all is refused unless `all`. */
    readonly deleteMany: (
      query: Pick<JobQuery, "statuses" | "types" | "owner" | "createdBefore" | "finishedBefore" | "scope"> & {
        readonly all?: boolean
      }
    ) => Effect.Effect<number, InvalidInput | JobStoreError>
    /** Newest first; `limit` 1 to 5000, default 100. */
    readonly logs: (
      id: string,
      options?: { readonly limit?: number; readonly cursor?: string }
    ) => Effect.Effect<LogPage, JobNotFound | InvalidInput | JobStoreError>
    readonly result: (
      id: string,
      options?: { readonly compact?: boolean }
    ) => Effect.Effect<JobResult, JobNotFound | ResultNotFound | JobStoreError>
    /** A result by its id; a result of a job outside `scope` is not found. */
    readonly resultById: (
      resultId: string,
      options?: { readonly compact?: boolean; readonly scope?: JobScope }
    ) => Effect.Effect<JobResult, ResultNotFound | JobStoreError>
    /** The job that produced a result; outside `scope` the result is not found. */
    readonly jobByResultId: (
      resultId: string,
      options?: ScopeOptions
    ) => Effect.Effect<Job, ResultNotFound | JobStoreError>
    readonly stats: (query?: JobQuery) => Effect.Effect<JobStats, InvalidInput | JobStoreError>
    /** A batch's counts over the jobs inside `scope`; none there is a `BatchNotFound`. */
    readonly batch: (
      batchId: string,
      options?: ScopeOptions
    ) => Effect.Effect<BatchSummary, BatchNotFound | JobStoreError>
    readonly types: () => ReadonlyArray<JobTypeInfo>
    /**
     * Every event from now on, optionally of one job, and only of jobs inside `scope` when given. Subscribed when the
     * stream starts.
     */
    readonly events: (options?: { readonly jobId?: string; readonly scope?: JobScope }) => Stream.Stream<JobEvent>
    /** Subscribes now (for the life of the scope) and returns the stream of events from this moment on. */
    readonly subscribe: (options?: {
      readonly jobId?: string
      readonly scope?: JobScope
    }) => Effect.Effect<Stream.Stream<JobEvent>, never, Scope.Scope>
  }
}

/** Options of {@link layer}. */
export interface LayerOptions {
  /** Job type definitions this process knows (handlers are attached with `JobType.toLayer`). */
  readonly types?: ReadonlyArray<Any>
  /** Log lines kept per job when the engine writes one. Default 10 000. */
  readonly logCap?: number
  /**
   * Where an `idempotencyKey` is unique: `"owner"` (default: the same key under another owner creates that owner's
   * own job) or `"global"` (one holder across owners; a key held by a job outside the caller's scope is an
   * `IdempotencyKeyHeld`, which says nothing of that job).
   */
  readonly idempotencyKeys?: "owner" | "global"
}

/**
 * The engine over the `JobStore` in context, with a fresh `JobRegistry` holding `types` and the built-in `delay`
 * type and its handler, and the engine's event bus (which the worker and maintenance publish to).
 */
export const layer = (options?: LayerOptions): Layer.Layer<Jobs | JobRegistry, never, JobStore> =>
  internal.layer(options)
