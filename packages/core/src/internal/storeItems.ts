/**
 * The items part of the store port: the per-input records of a job, their rows, cursors and counts. `JobStore`
 * re-exports every name, so hosts and stores read them as `JobStore.ItemRow` and so on.
 */
import type * as Effect from "effect/Effect"
import type { JobStatus } from "../Job.js"
import type { JobStoreError, LeaseRef } from "../JobStore.js"

/** An item as stored: JSON columns as text, times as epoch milliseconds. */
export interface ItemRow {
  readonly jobId: string
  readonly key: string
  /** Listing order within the job; ties break by key. */
  readonly position: number
  readonly status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED"
  /** JSON text, or null. */
  readonly input: string | null
  /** JSON text, or null. */
  readonly output: string | null
  readonly error: string | null
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly updatedAt: number
}

/** A position in a job's items: the last row of the previous page. */
export interface ItemCursor {
  readonly position: number
  readonly key: string
}

/** Count of a job's items by status (statuses with none are absent or 0). */
export type ItemStatusCounts = Readonly<Partial<Record<ItemRow["status"], number>>>

/**
 * The item operations of the port. Items belong to a job: deleting the job deletes them, and items of a missing job
 * are never written. Writes of whole rows are upserts by (jobId, key).
 */
export interface ItemStore {
  /**
   * Upserts items of one job when its status is one of `from` (items added to a job that is not running). False
   * when the job is missing or in another status; nothing is written then.
   */
  readonly putItems: (options: {
    readonly jobId: string
    readonly from: ReadonlyArray<JobStatus>
    readonly items: ReadonlyArray<ItemRow>
  }) => Effect.Effect<boolean, JobStoreError>

  /**
   * Upserts items of the claims in `leases` the worker still holds (status RUNNING or CANCELLING, lease owner
   * `workerId`, lease token the lease's `token`), in one transaction; items of other jobs are skipped. The worker's
   * coalesced item writes.
   */
  readonly saveItems: (options: {
    readonly workerId: string
    readonly leases: ReadonlyArray<LeaseRef>
    readonly items: ReadonlyArray<ItemRow>
  }) => Effect.Effect<void, JobStoreError>

  /** A page of a job's items by (position, key), optionally only those with one of `statuses`. */
  readonly listItems: (options: {
    readonly jobId: string
    readonly statuses?: ReadonlyArray<ItemRow["status"]>
    readonly limit: number
    readonly cursor: ItemCursor | null
  }) => Effect.Effect<{ readonly rows: ReadonlyArray<ItemRow>; readonly nextCursor: ItemCursor | null }, JobStoreError>

  /** How many items of the job are in each status. */
  readonly countItems: (options: { readonly jobId: string }) => Effect.Effect<ItemStatusCounts, JobStoreError>

  /**
   * Sets the job's items with one of `statuses` back to PENDING (output, error and times cleared, `updatedAt` =
   * now), when the job's status is one of `from`. Returns how many items changed.
   */
  readonly resetItems: (options: {
    readonly jobId: string
    readonly from: ReadonlyArray<JobStatus>
    readonly statuses: ReadonlyArray<ItemRow["status"]>
    readonly now: number
  }) => Effect.Effect<number, JobStoreError>
}
