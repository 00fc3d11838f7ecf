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
 * - **Dependencies are released in the same transaction.** Any write that moves a job into a terminal status (every
 *   method above, and a cascade) updates the jobs that depend on it (`JobRow.waitingOn`): a dependency SUCCEEDED, or
 *   terminal for a `run` dependent, counts as done; a dependency FAILED, CANCELLED or TIMED_OUT ends a `fail`
 *   dependent that still waits (CREATED, QUEUED or PAUSED) FAILED (`dependency_failed`, `lastError` naming it,
 *   `finishedAt` = the write's now, its callback row), and so on down the chain. Each dependency counts once per
 *   dependent (a retried dependency ending again changes nothing). Released jobs publish `Enqueued`, failed ones
 *   `Changed` with `reason` `dependency_failed`. A QUEUED job with `waitingOn` > 0 is never claimed.
 * - **Signals are hints.** `subscribe` may drop or merge signals; workers also poll. A store says with
 *   `crossProcessSignals` whether writes made by other processes reach its subscribers.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { JobStatus } from "./Job.js"
import type { JobFilter } from "./internal/jobFilter.js"
import type { ItemRow, ItemStore } from "./internal/storeItems.js"
import type {
  CallbackRow,
  ClaimOptions,
  InsertOutcome,
  JobPatch,
  JobRow,
  LeaseRef,
  ListOptions,
  ListPage,
  LogRow,
  NewJobRow,
  NewLog,
  OwnedSettlement,
  ProgressUpdate,
  ResultRow,
  StatsRow,
  StatusChange,
  StoreSignal
} from "./internal/storeRows.js"
import type { ScheduleStore } from "./internal/storeSchedules.js"

/** The job filter and the sort keys, defined once in `internal/jobFilter.ts`. */
export type { JobFilter, SortKey } from "./internal/jobFilter.js"

/**
 * The value a row sorts by in `list`, as its `ListCursor` carries it (null times as -1): defined once, for the stores
 * that compute a page's cursor from its last row.
 */
export { sortValue } from "./internal/jobFilter.js"

/** The rows, options and signals of the job operations (`internal/storeRows.ts`), every one of them. */
export type * from "./internal/storeRows.js"

/** The store's single infrastructure error; `SqlError` never leaves a store package. */
export class JobStoreError extends Schema.TaggedError<JobStoreError>()("JobStoreError", {
  reason: Schema.Literal("Unavailable", "Conflict", "Corrupt", "Unknown"),
  message: Schema.String,
  /** The failure underneath (a store's `SqlError`, a driver error), kept for logs and traces; never shown to clients. */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The dependency columns of a job row (`internal/storeDependencies.ts`). */
export type { DependencyColumns } from "./internal/storeDependencies.js"

/**
 * For a store's `check`: the highest migration number among its `<number>_<name>` migration keys, the one a schema
 * must have applied to be current.
 */
export const latestMigration = (migrations: Readonly<Record<string, unknown>>): number =>
  Math.max(
    0,
    ...Object.keys(migrations)
      .map((key) => Number.parseInt(key, 10))
      .filter(Number.isFinite)
  )

/**
 * For a store's `check`: succeeds when the highest migration applied (as the database answered it: a number, text for
 * a big one, or null when none) is `latest`; else a `Corrupt` error saying whether the schema is behind or ahead.
 */
export const schemaCurrent = (applied: unknown, latest: number): Effect.Effect<void, JobStoreError> => {
  const n = applied === null || applied === undefined ? 0 : Number(applied)
  return n === latest
    ? Effect.void
    : Effect.fail(
        new JobStoreError({
          reason: "Corrupt",
          message:
            n < latest
              ? `schema is behind: migration ${n} applied, ${latest} expected`
              : `schema is ahead: migration ${n} applied, this version knows up to ${latest}`
        })
      )
}

/** The item part of the port and its rows (`internal/storeItems.ts`, one block so the item operations read together). */
export type { ItemCursor, ItemRow, ItemStatusCounts, ItemStore } from "./internal/storeItems.js"

/** The schedule and retention part of the port and its rows (`internal/storeSchedules.ts`). */
export type { PruneBound, ScheduleRow, ScheduleStore, TickJob } from "./internal/storeSchedules.js"

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
     * worker still holds by its claim (RUNNING, PAUSING or CANCELLING); a job missing from the answer has been lost (rescued,
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
     * Applies settlements in one transaction (see {@link OwnedSettlement}), in order. Returns the changes applied; a
     * settlement whose guard failed is absent.
     *
     * `logs`, when given, are appended in the same transaction as the settlements, exactly as `appendLogs` would
     * (lines of missing jobs dropped, each touched job trimmed to `cap`): the worker sends an
     * attempt's log lines, its end line included, with its settlement, so a reader who sees a settled job sees its
     * lines, and a no-op job costs one write, not two. The lines need not belong to the settled jobs.
     *
     * A batch may mix workers: a settlement with its own `workerId` is guarded by that worker's lease, the others by
     * the call's `workerId` (the process's one settler groups the settlements of all its workers into one call).
     * Settlements of one job by different claims apply in order, each against its own guard.
     */
    readonly settle: (options: {
      /** The lease owner of every settlement that names none. */
      readonly workerId: string
      readonly now: number
      readonly settlements: ReadonlyArray<OwnedSettlement>
      readonly logs?: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }
    }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * Writes progress (and `updatedAt` = now) of jobs the worker holds by the update's claim (status RUNNING,
     * PAUSING or CANCELLING, lease owner `workerId`, lease token `token`); others are skipped. An update with a
     * `checkpoint` writes it too (a handler's checkpoint rides along with its progress).
     */
    readonly saveProgress: (options: {
      readonly workerId: string
      readonly now: number
      readonly updates: ReadonlyArray<ProgressUpdate>
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
     * `attempt` < `maxAttempts`, else FAILED (`stalled`, `finishedAt` = now); PAUSING → PAUSED when `attempt` <
     * `maxAttempts` (the crash spends the attempt), else FAILED (`stalled`); CANCELLING → CANCELLED (`user`,
     * `finishedAt` = now). Every change sets `updatedAt` = now and publishes `Changed`; re-queued jobs also `Enqueued`.
     */
    readonly rescue: (options: { readonly now: number }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>

    /**
     * QUEUED, RUNNING, PAUSING or PAUSED jobs whose `deadline` <= now → TIMED_OUT (`expired`), lease cleared, `finishedAt` and
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
