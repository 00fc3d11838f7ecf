/**
 * The `JobStore` port: the only thing a store implements. It sees encoded rows only (JSON columns as text, times as
 * epoch milliseconds); core does every Schema decode and every rule that is not about storage.
 *
 * Every method takes one readonly options object. Every method that writes takes `now` (epoch ms, read by core from
 * Effect's `Clock`), so `TestClock` drives every store alike. Every status write is a compare-and-set: a write whose
 * guard matches nothing changes nothing and reports so.
 *
 * Rules every store keeps (the conformance suite in `@jobloom/core/testing` checks each one):
 * - **Callbacks are durable.** Any write that moves a job with a non-null `callbackUrl` into a terminal status
 *   (`update`, `settle`, `rescue`, `expire`) inserts a pending callback in the same transaction.
 * - **Deletes cascade.** Deleting a job deletes its logs, its result, its items and its pending callbacks.
 * - **Signals are hints.** `subscribe` may drop or merge signals; workers also poll. A store says with
 *   `crossProcessSignals` whether writes made by other processes reach its subscribers.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { JobStatus, LogLevel, TerminalReason } from "./Job.js"
import type { JobFilter, SortKey } from "./internal/jobFilter.js"
import type { ItemRow, ItemStore } from "./internal/storeItems.js"

/** A job as stored. JSON-valued fields are JSON text; times are epoch milliseconds. */
export interface JobRow {
  readonly id: string
  /** Assigned by the store at insert (1, 2, 3, …): unique per store, increasing, never reused (compat routers' ids). */
  readonly number: number
  readonly type: string
  readonly name: string
  readonly queue: string
  readonly owner: string | null
  /** Unique among the non-terminal jobs of one owner (enforced by the store; a null owner is one owner). */
  readonly idempotencyKey: string | null
  readonly status: JobStatus
  readonly terminalReason: TerminalReason | null
  readonly priority: number
  /** JSON text. */
  readonly params: string
  /** JSON text of an object. */
  readonly metadata: string
  readonly tags: ReadonlyArray<string>
  readonly batchId: string | null
  readonly callbackUrl: string | null
  readonly attempt: number
  readonly maxAttempts: number
  readonly timeoutMs: number | null
  readonly deadline: number | null
  readonly runAt: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly queuedAt: number | null
  readonly startedAt: number | null
  readonly finishedAt: number | null
  /** JSON text of `Progress`. */
  readonly progress: string
  /** JSON text of `JobError`, or null. */
  readonly lastError: string | null
  readonly resultId: string | null
  readonly leaseOwner: string | null
  readonly leaseExpiresAt: number | null
  /**
   * The token of the claim that holds the lease (`ClaimOptions.token`), null when none does. Every worker write
   * names it, so a late write about an older claim of the same job, even by the same worker, changes nothing.
   */
  readonly leaseToken: string | null
  /**
   * The W3C `traceparent` of the span that created the job (`JobTracing`), null when none was exported. Written at
   * insert, never changed; the attempt's span is its child. Optional: a store that predates it reads it as absent.
   */
  readonly traceContext?: string | null
  /**
   * The key of the schedule whose tick created the job, null (or absent) for other jobs. Set only by `fireSchedule`;
   * it never changes.
   */
  readonly scheduleKey?: string | null
}

/** The fields of a job that `update` may set. `updatedAt` is always set by the store to `now`. */
export type JobPatch = Partial<
  Omit<JobRow, "id" | "number" | "type" | "createdAt" | "updatedAt" | "batchId" | "scheduleKey" | "traceContext">
>

/** A job to insert: every field but the `number` the store assigns (a `number` given anyway is ignored). */
export type NewJobRow = Omit<JobRow, "number">

/** The outcome of inserting one job. */
export interface InsertOutcome {
  readonly row: JobRow
  /** False when the job's `idempotencyKey` was already held by a non-terminal job; `row` is then that job. */
  readonly inserted: boolean
}

/** The job filter and the sort keys, defined once in `internal/jobFilter.ts`. */
export type { JobFilter, SortKey } from "./internal/jobFilter.js"

/**
 * A keyset position: the sort value and id of the last row of the previous page.
 * Null times sort as -1 (so they come last in `desc`, first in `asc`); ties break by id in the same direction.
 */
export interface ListCursor {
  readonly value: number | string
  readonly id: string
}

/** Options of `list`. */
export interface ListOptions {
  readonly filter: JobFilter
  readonly sort: SortKey
  readonly order: "asc" | "desc"
  /** 1 or more; the store returns at most this many rows. */
  readonly limit: number
  readonly cursor: ListCursor | null
  /** Count every row that matches the filter (ignoring cursor and limit). */
  readonly withTotal: boolean
}

/** A page of jobs. `nextCursor` is the position of the page's last row when more rows follow it, else null. */
export interface ListPage {
  readonly rows: ReadonlyArray<JobRow>
  readonly nextCursor: ListCursor | null
  readonly total: number | null
}

/** Options of `claim`. */
export interface ClaimOptions {
  readonly workerId: string
  /**
   * The claim's token, never used before for any claim (a UUID): each claimed job's `leaseToken`. The pair (job id,
   * token) names one claim of one job, and every later worker write about it is guarded by that pair.
   */
  readonly token: string
  readonly now: number
  readonly leaseMs: number
  /** How many jobs at most (the worker's free slots). */
  readonly limit: number
  /** Claim only from these queues. */
  readonly queues: ReadonlyArray<string>
  /**
   * Claim only jobs of these types (the ones the worker has handlers for); absent: any type. Jobs of other types stay
   * QUEUED for a worker that can run them.
   */
  readonly types?: ReadonlyArray<string>
  /** Limits on RUNNING + CANCELLING jobs per type, across every worker of the store. */
  readonly typeLimits: Readonly<Record<string, number>>
  /** Limits on RUNNING + CANCELLING jobs per queue, across every worker of the store. */
  readonly queueLimits: Readonly<Record<string, number>>
}

/** One claim of one job: the job's id and the token of the claim (`ClaimOptions.token`). */
export interface LeaseRef {
  readonly id: string
  readonly token: string
}

/**
 * How a worker ends one attempt. Every settlement applies only to a row whose `leaseOwner` is the settling worker,
 * whose `leaseToken` is the settlement's `token`, and whose status is RUNNING or CANCELLING. A RUNNING row takes the settlement's outcome; a CANCELLING row always
 * becomes CANCELLED (`user`), whatever the settlement says (a late success never overwrites a cancel). Every
 * settlement clears the lease and sets `progress` when given.
 */
export type Settlement =
  /**
   * RUNNING → SUCCEEDED, `finishedAt` = now, `resultId` set (null without a result); the result row is inserted in
   * the same transaction. On a CANCELLING row no result is stored.
   */
  | {
      readonly _tag: "Complete"
      readonly id: string
      readonly token: string
      readonly progress: string | null
      readonly result: { readonly id: string; readonly value: string } | null
    }
  /** RUNNING → QUEUED with `runAt` and `lastError` set (the attempt is spent). Publishes `Enqueued`. */
  | {
      readonly _tag: "Retry"
      readonly id: string
      readonly token: string
      readonly runAt: number
      readonly lastError: string
      readonly progress: string | null
    }
  /** RUNNING → `status` (FAILED or TIMED_OUT) with `terminalReason`, `lastError`, `finishedAt` = now. */
  | {
      readonly _tag: "Fail"
      readonly id: string
      readonly token: string
      readonly status: "FAILED" | "TIMED_OUT"
      readonly reason: TerminalReason
      readonly lastError: string
      readonly progress: string | null
    }
  /** RUNNING or CANCELLING → CANCELLED (`user`), `finishedAt` = now. */
  | { readonly _tag: "Cancelled"; readonly id: string; readonly token: string; readonly progress: string | null }
  /**
   * RUNNING → QUEUED with `attempt` − 1 (a graceful shutdown gives the attempt back); `runAt` unchanged. Publishes
   * `Enqueued`.
   */
  | { readonly _tag: "Release"; readonly id: string; readonly token: string; readonly progress: string | null }

/** A status change the store made. */
export interface StatusChange {
  readonly id: string
  readonly status: JobStatus
}

/** A log line as stored. `id` is assigned by the store and increases with insertion order. */
export interface LogRow {
  readonly id: string
  readonly jobId: string
  readonly at: number
  readonly level: LogLevel
  readonly message: string
}

/**
 * A log line to append. A line with a `token` is a worker's line about one claim: it is appended only while that
 * claim holds the job (or with the claim's own settlement in the same `settle` call), never after a newer claim.
 */
export type NewLog = Omit<LogRow, "id"> & { readonly token?: string }

/** A stored result: `value` is JSON text. */
export interface ResultRow {
  readonly id: string
  readonly jobId: string
  readonly value: string
  readonly createdAt: number
}

/** A pending callback delivery, captured at the terminal write. */
export interface CallbackRow {
  readonly id: string
  readonly jobId: string
  readonly url: string
  readonly status: JobStatus
  readonly terminalReason: TerminalReason | null
  readonly resultId: string | null
  readonly finishedAt: number | null
  /** Deliveries tried so far. */
  readonly attempts: number
}

/** Count of jobs with one type and status. */
export interface StatsRow {
  readonly type: string
  readonly status: JobStatus
  readonly count: number
}

/** A hint published to subscribers. */
export type StoreSignal =
  /** Jobs may have become claimable in this queue (insert, run, resume, retry, release, rescue). */
  | { readonly _tag: "Enqueued"; readonly queue: string }
  /** A job's status was changed by `update`, `expire` or `rescue` (not by `claim` or `settle`). */
  | { readonly _tag: "Changed"; readonly id: string; readonly status: JobStatus }

/** The store's single infrastructure error; `SqlError` never leaves a store package. */
export class JobStoreError extends Schema.TaggedError<JobStoreError>()("JobStoreError", {
  reason: Schema.Literal("Unavailable", "Conflict", "Corrupt", "Unknown"),
  message: Schema.String,
  /** The failure underneath (a store's `SqlError`, a driver error), kept for logs and traces; never shown to clients. */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The item part of the port and its rows (`internal/storeItems.ts`, one block so the item operations read together). */
export type { ItemCursor, ItemRow, ItemStatusCounts, ItemStore } from "./internal/storeItems.js"

// --- schedules and retention (one block, so the recurring-job and pruning operations read together) ------------

/**
 * A schedule as stored. Core owns every rule: it validates the spec and the job template, computes `nextRunAt`, and
 * builds the jobs of each tick; the store keeps the row and guards each tick with a compare-and-set on `nextRunAt`.
 */
export interface ScheduleRow {
  /** Unique per store. */
  readonly key: string
  /** A five- or six-field cron expression, or null for an interval schedule. */
  readonly cron: string | null
  /** The IANA time zone the cron expression is read in (null for an interval schedule). */
  readonly timeZone: string | null
  /** The interval of an interval schedule in milliseconds, or null for a cron schedule. */
  readonly everyMs: number | null
  /** How many missed ticks are run when several fell due at once (0: only the latest, the others are skipped). */
  readonly backfill: number
  /** JSON text of the job each tick creates (core's encoded template: type, params, queue, …). */
  readonly template: string
  /** `code` when defined by the host's code (re-registered at each start), `api` when created through the API. */
  readonly source: "code" | "api"
  /** A paused schedule fires nothing; its `nextRunAt` is computed afresh when it is resumed. */
  readonly paused: boolean
  /** The next tick (epoch ms). */
  readonly nextRunAt: number
  /** The last tick that created a job, or null. */
  readonly lastRunAt: number | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** A job a schedule's tick creates: the row to insert and the tick it belongs to. */
export interface TickJob {
  readonly job: NewJobRow
  /** The tick (epoch ms): at most one job per (schedule key, tick) ever exists, enforced by the store. */
  readonly tick: number
}

/** One bound of `prune`: terminal jobs with this status that finished before `before` (epoch ms). */
export interface PruneBound {
  readonly status: JobStatus
  readonly before: number
}

/**
 * The schedule and retention operations of the port. `fireSchedule` is how exactly one job per tick is created across
 * any number of processes: only the caller whose `expectedNextRunAt` still matches advances the schedule, and the
 * jobs are inserted in the same transaction.
 */
export interface ScheduleStore {
  /**
   * Writes a schedule. `insert`: only when no schedule has the key (`written` false and `row` the existing one
   * otherwise). `upsert`: inserts, or replaces every field of the existing row but `createdAt` and `paused`, and
   * keeps its `nextRunAt` and `lastRunAt` when `cron`, `timeZone` and `everyMs` are unchanged (a host that registers
   * its schedules at every start neither skips nor repeats a tick).
   */
  readonly putSchedule: (options: {
    readonly row: ScheduleRow
    readonly mode: "insert" | "upsert"
  }) => Effect.Effect<{ readonly row: ScheduleRow; readonly written: boolean }, JobStoreError>

  /** One schedule by key. */
  readonly getSchedule: (options: { readonly key: string }) => Effect.Effect<Option.Option<ScheduleRow>, JobStoreError>

  /** Every schedule, by key (binary order). */
  readonly listSchedules: (options: {}) => Effect.Effect<ReadonlyArray<ScheduleRow>, JobStoreError>

  /** Deletes a schedule (its jobs stay, keeping their `scheduleKey`). True when deleted. */
  readonly deleteSchedule: (options: { readonly key: string }) => Effect.Effect<boolean, JobStoreError>

  /**
   * Pauses (`paused` true) or resumes a schedule; resuming also sets `nextRunAt` (core computes it from now, so the
   * ticks of the pause are not run). `updatedAt` = now. None when no schedule has the key.
   */
  readonly setSchedulePaused: (options: {
    readonly key: string
    readonly paused: boolean
    readonly nextRunAt: number
    readonly now: number
  }) => Effect.Effect<Option.Option<ScheduleRow>, JobStoreError>

  /** Up to `limit` schedules that are not paused with `nextRunAt` <= now, earliest first. Read-only. */
  readonly dueSchedules: (options: {
    readonly now: number
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<ScheduleRow>, JobStoreError>

  /**
   * Fires a schedule's ticks in one transaction: when the schedule exists, is not paused and its `nextRunAt` is still
   * `expectedNextRunAt`, sets `nextRunAt`, `lastRunAt` and `updatedAt` = now, and inserts `jobs` with their
   * `scheduleKey` = key (a job whose (key, tick) already has a job is not inserted). Returns the inserted rows, or
   * None when the guard failed (another process fired these ticks). Publishes `Enqueued` for inserted QUEUED jobs.
   */
  readonly fireSchedule: (options: {
    readonly key: string
    readonly expectedNextRunAt: number
    readonly nextRunAt: number
    readonly lastRunAt: number | null
    readonly jobs: ReadonlyArray<TickJob>
    readonly now: number
  }) => Effect.Effect<Option.Option<ReadonlyArray<JobRow>>, JobStoreError>

  /**
   * Deletes up to `limit` terminal jobs, each matching one of `bounds` (its status, `finishedAt` < `before`), oldest
   * finished first, with their logs, items, results and pending callbacks, in one short transaction. Returns the
   * deleted jobs; fewer than `limit` means nothing else matched. Core calls it again for the next batch.
   */
  readonly prune: (options: {
    readonly bounds: ReadonlyArray<PruneBound>
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>
}

/** The service Tag of the port. */
export class JobStore extends Context.Tag("@jobloom/core/JobStore")<JobStore, JobStore.Service>() {}

/** The types of the `JobStore` service. */
export declare namespace JobStore {
  /** The port. */
  export interface Service extends ItemStore, ScheduleStore {
    /** Whether writes of other processes reach `subscribe` (Postgres: yes; SQLite, memory: no). */
    readonly crossProcessSignals: boolean

    /**
     * Inserts jobs in one transaction, all or none. A job whose `idempotencyKey` is held by a non-terminal job of the
     * same owner (in the store or earlier in the same call) is not inserted; its outcome carries the holder with
     * `inserted: false`. Outcomes are in input order. An id that already exists fails the whole call with `JobStoreError` `Conflict`.
     * Publishes `Enqueued` for the queues of inserted QUEUED jobs. Each inserted job gets the next `number` of the
     * store in the same transaction, in input order; the outcome's row carries it. `items` are inserted in the same
     * transaction for the jobs that were inserted (items of a job that was not are dropped).
     */
    readonly insert: (options: {
      readonly jobs: ReadonlyArray<NewJobRow>
      readonly items?: ReadonlyArray<ItemRow>
    }) => Effect.Effect<ReadonlyArray<InsertOutcome>, JobStoreError>

    /** One job by id. */
    readonly get: (options: { readonly id: string }) => Effect.Effect<Option.Option<JobRow>, JobStoreError>

    /** A page of jobs: filter first, then keyset paging by (sort value, id). */
    readonly list: (options: ListOptions) => Effect.Effect<ListPage, JobStoreError>

    /**
     * The guarded write behind every user action (run, cancel, pause, resume, retry, edit): sets `patch` and
     * `updatedAt = now` only when the job's status is one of `from`. Returns the row after the write, or None when
     * the job is missing or its status is not in `from`. Publishes `Changed` when the status changed, and `Enqueued`
     * when the job became QUEUED. A patch field given as `undefined` is not written. A write that would leave two
     * non-terminal jobs holding one `idempotencyKey` (a retry of a job whose key was taken since) changes nothing and
     * fails with `JobStoreError` `Conflict`.
     */
    readonly update: (options: {
      readonly id: string
      readonly from: ReadonlyArray<JobStatus>
      readonly patch: JobPatch
      readonly now: number
    }) => Effect.Effect<Option.Option<JobRow>, JobStoreError>

    /**
     * Claims up to `limit` due jobs (QUEUED, `runAt` <= now, in `queues`, of `types` when given) in one transaction, ordered by priority
     * desc, `runAt` asc, id asc, respecting `typeLimits` and `queueLimits` across all workers. Each claimed job becomes
     * RUNNING with `attempt` + 1, `startedAt` = now, the lease (`workerId`, now + `leaseMs`, `token`), and
     * `updatedAt` = now.
     * No job is ever claimed by two workers.
     */
    readonly claim: (options: ClaimOptions) => Effect.Effect<ReadonlyArray<JobRow>, JobStoreError>

    /**
     * Extends the leases the worker still holds by these claims to now + `leaseMs`. Returns the status of each job the
     * worker still holds by its claim (RUNNING or CANCELLING); a job missing from the answer has been lost (rescued,
     * expired, deleted, or claimed again). `updatedAt` is not changed (a lease refresh is not a change users see).
     */
    readonly heartbeat: (options: {
      readonly workerId: string
      readonly leases: ReadonlyArray<LeaseRef>
      readonly now: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /** The current status of each existing job among `ids` (read-only; the cross-process cancellation poll). */
    readonly statuses: (options: {
      readonly ids: ReadonlyArray<string>
    }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * Applies settlements in one transaction (see {@link Settlement}), in order. Returns the changes applied; a
     * settlement whose guard failed is absent.
     *
     * `logs`, when given, are appended in the same transaction as the settlements, exactly as `appendLogs` would
     * (lines of missing jobs dropped, each touched job trimmed to `cap`): the worker sends an
     * attempt's log lines, its end line included, with its settlement, so a reader who sees a settled job sees its
     * lines, and a no-op job costs one write, not two. The lines need not belong to the settled jobs.
     */
    readonly settle: (options: {
      readonly workerId: string
      readonly now: number
      readonly settlements: ReadonlyArray<Settlement>
      readonly logs?: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }
    }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * Writes progress (and `updatedAt` = now) of jobs the worker holds by the update's claim (status RUNNING or
     * CANCELLING, lease owner `workerId`, lease token `token`); others are skipped.
     */
    readonly saveProgress: (options: {
      readonly workerId: string
      readonly now: number
      readonly updates: ReadonlyArray<{ readonly id: string; readonly token: string; readonly progress: string }>
    }) => Effect.Effect<void, JobStoreError>

    /**
     * Appends log lines, then drops a job's oldest lines beyond `cap`. Lines of missing (deleted) jobs are dropped, and
     * so are lines whose `token` is not the job's current lease token.
     */
    readonly appendLogs: (options: {
      readonly entries: ReadonlyArray<NewLog>
      readonly cap: number
    }) => Effect.Effect<void, JobStoreError>

    /**
     * A job's log lines newest first; `cursor` is the `id` of the last line of the previous page. `nextCursor` is the
     * last row's id when older lines follow, else null. Log ids are opaque to core; only the store compares them.
     */
    readonly logs: (options: {
      readonly jobId: string
      readonly limit: number
      readonly cursor: string | null
    }) => Effect.Effect<{ readonly rows: ReadonlyArray<LogRow>; readonly nextCursor: string | null }, JobStoreError>

    /** A result by its id. */
    readonly getResult: (options: {
      readonly resultId: string
    }) => Effect.Effect<Option.Option<ResultRow>, JobStoreError>

    /** Counts by type and status over the jobs matching `filter`; combinations with no job are absent. */
    readonly stats: (options: { readonly filter: JobFilter }) => Effect.Effect<ReadonlyArray<StatsRow>, JobStoreError>

    /** Deletes one job (with its logs, result and callbacks) when its status is in `from`. True when deleted. */
    readonly delete: (options: {
      readonly id: string
      readonly from: ReadonlyArray<JobStatus>
    }) => Effect.Effect<boolean, JobStoreError>

    /** Deletes every job matching `filter` (with logs, results, callbacks). Returns how many jobs. */
    readonly deleteMany: (options: { readonly filter: JobFilter }) => Effect.Effect<number, JobStoreError>

    /**
     * Returns jobs whose lease expired (`leaseExpiresAt` <= now): RUNNING → QUEUED (lease cleared, `runAt` kept: a
     * rescued job keeps its place in the queue) when
     * `attempt` < `maxAttempts`, else FAILED (`stalled`, `finishedAt` = now); CANCELLING → CANCELLED (`user`,
     * `finishedAt` = now). Every change sets `updatedAt` = now and publishes `Changed`; re-queued jobs also `Enqueued`.
     */
    readonly rescue: (options: { readonly now: number }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * QUEUED, RUNNING or PAUSED jobs whose `deadline` <= now → TIMED_OUT (`expired`), lease cleared, `finishedAt` and
     * `updatedAt` = now. Publishes `Changed` for each.
     */
    readonly expire: (options: { readonly now: number }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * Takes up to `limit` pending callbacks due at `now` (oldest due first), hiding each from other takers until
     * now + `leaseMs` (so a crashed deliverer's callbacks come back). A new callback is due at the terminal write's
     * `now` with `attempts` 0.
     */
    readonly claimCallbacks: (options: {
      readonly now: number
      readonly limit: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<CallbackRow>, JobStoreError>

    /**
     * Ends a delivery try: `retryAt` null deletes the callback (delivered or given up); else it is due again then,
     * attempts + 1. An unknown id is ignored.
     */
    readonly settleCallback: (options: {
      readonly id: string
      readonly retryAt: number | null
      readonly now: number
    }) => Effect.Effect<void, JobStoreError>

    /**
     * Readiness: succeeds when the store answers and its schema is current (every migration this version knows is
     * applied); fails with `Unavailable` when it cannot be reached, `Corrupt` when its schema is behind or ahead.
     * Optional: without it, readiness falls back to a cheap read.
     */
    readonly check?: Effect.Effect<void, JobStoreError>

    /** A subscription to the store's signals for the life of the scope. */
    readonly subscribe: Effect.Effect<Queue.Dequeue<StoreSignal>, never, Scope.Scope>
  }
}
