/**
 * The rows, options and signals of the job operations of the store port (`JobStore.Service`). `JobStore` re-exports
 * every name, so hosts and stores read them as `JobStore.JobRow` and so on.
 */
import type { DependencyColumns } from "./storeDependencies.js"
import type { JobStatus, LogLevel, TerminalReason } from "../Job.js"
import type { JobFilter, SortKey } from "./jobFilter.js"

/** A job as stored. JSON-valued fields are JSON text; times are epoch milliseconds. */
export interface JobRow extends DependencyColumns {
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
  // --- pausing and checkpoints ---
  /**
   * JSON text of the last checkpoint a handler saved (already encoded by the type's checkpoint Schema), null (or
   * absent) when none. Written only by the claim holding the job (`saveProgress`, `settle`); kept across attempts;
   * cleared by a user's retry (`update`).
   */
  readonly checkpoint?: string | null
}

/** The fields of a job that `update` may set. `updatedAt` is always set by the store to `now`. */
export type JobPatch = Partial<Omit<JobRow, FixedColumn | keyof DependencyColumns>>

/** The columns written at insert that no `update` changes. */
type FixedColumn = "id" | "number" | "type" | "createdAt" | "updatedAt" | "batchId" | "scheduleKey" | "traceContext"

/** A job to insert: every field but the `number` the store assigns (a `number` given anyway is ignored). */
export type NewJobRow = Omit<JobRow, "number">

/** The outcome of inserting one job. */
export interface InsertOutcome {
  readonly row: JobRow
  /** False when the job's `idempotencyKey` was already held by a non-terminal job; `row` is then that job. */
  readonly inserted: boolean
}

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
  /** Limits on held (RUNNING, PAUSING, CANCELLING) jobs per type, across every worker of the store. */
  readonly typeLimits: Readonly<Record<string, number>>
  /** Limits on held (RUNNING, PAUSING, CANCELLING) jobs per queue, across every worker of the store. */
  readonly queueLimits: Readonly<Record<string, number>>
}

/** One claim of one job: the job's id and the token of the claim (`ClaimOptions.token`). */
export interface LeaseRef {
  readonly id: string
  readonly token: string
}

/**
 * How a worker ends one attempt. Every settlement applies only to a row whose `leaseOwner` is the settling worker
 * (the settlement's `workerId`, else the `settle` call's), whose `leaseToken` is the settlement's `token`, and whose
 * status is RUNNING, PAUSING or CANCELLING. A RUNNING row takes the settlement's outcome; a CANCELLING row always
 * becomes CANCELLED (`user`), whatever the settlement says (a late success never overwrites a cancel). A PAUSING row
 * (pause requested) takes `Complete`, `Fail` and `Cancelled` as a RUNNING row does (a handler that finished before the
 * interruption reached it: its outcome stands), and becomes PAUSED instead of QUEUED for `Retry` (the attempt spent,
 * `runAt` and `lastError` written) and `Release` (the attempt given back: how a paused attempt is settled). Every
 * settlement clears the lease's expiry and token; one that ends the job keeps `leaseOwner` (the worker of its last
 * attempt, from which the log presents the attempt's start line), `Retry` and `Release` clear it too. Every settlement
 * sets `progress` when given, and `checkpoint` when given (the attempt's last checkpoint, written with its end).
 */
export type Settlement =
  /**
   * RUNNING → SUCCEEDED, `finishedAt` = now, `resultId` set (null without a result); the result row is inserted in
   * the same transaction. On a CANCELLING row no result is stored.
   */
  (
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
    /** RUNNING, PAUSING or CANCELLING → CANCELLED (`user`), `finishedAt` = now. */
    | { readonly _tag: "Cancelled"; readonly id: string; readonly token: string; readonly progress: string | null }
    /**
     * RUNNING → QUEUED with `attempt` − 1 (a graceful shutdown gives the attempt back); `runAt` unchanged. Publishes
     * `Enqueued`. PAUSING → PAUSED, `attempt` − 1 (a pause gives the attempt back, as a shutdown does).
     */
    | { readonly _tag: "Release"; readonly id: string; readonly token: string; readonly progress: string | null }
  ) &
    // --- pausing and checkpoints ---
    /** The attempt's last checkpoint (JSON text), written with the settlement; absent or null: the stored one stays. */
    { readonly checkpoint?: string | null }

/** One job's progress write (`saveProgress`), guarded by the claim's token. */
export interface ProgressUpdate {
  readonly id: string
  readonly token: string
  /** JSON text of `Progress`. */
  readonly progress: string
  // --- pausing and checkpoints ---
  /** JSON text of the handler's last checkpoint, written with the progress; absent: the stored one stays. */
  readonly checkpoint?: string
}

/**
 * A settlement as `settle` takes it: with the worker whose lease it ends when that is not the call's `workerId`
 * (the process's one settler writes the settlements of every worker of the process in one call).
 */
export type OwnedSettlement = Settlement & { readonly workerId?: string }

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
  /**
   * A job's status was changed by `update`, `expire` or `rescue` (not by `claim` or `settle`), or by a dependency's
   * end (`reason` `dependency_failed`: whatever write ended the dependency, `settle` included).
   */
  | { readonly _tag: "Changed"; readonly id: string; readonly status: JobStatus; readonly reason?: TerminalReason }
