/**
 * The job filter, defined once: the store's `JobFilter` (times as epoch milliseconds), the client's `FilterQuery`
 * derived from it (times as ISO 8601 text, store-only fields left out), the sort keys, and the row matcher and sort
 * value every in-process reader uses. The SQL stores write the same rules as SQL; the conformance suite holds them
 * to this one.
 */
import type { JobStatus } from "../Job.js"
import type { JobRow } from "../JobStore.js"

/** Filters shared by list, stats and bulk delete. Every given field must match (AND); empty arrays match nothing. */
export interface JobFilter {
  readonly ids?: ReadonlyArray<string>
  /** The job's `number` is one of these (how the compat routers find a job by their own id). */
  readonly numbers?: ReadonlyArray<number>
  readonly statuses?: ReadonlyArray<JobStatus>
  readonly types?: ReadonlyArray<string>
  readonly queues?: ReadonlyArray<string>
  readonly owner?: string
  /** The job's owner is one of these (`null`: jobs without an owner); a caller's scope (`JobScope`). */
  readonly owners?: ReadonlyArray<string | null>
  /** The job holds this idempotency key (whatever its owner). */
  readonly idempotencyKey?: string
  /** The job's tags contain this tag. */
  readonly tag?: string
  readonly batchId?: string
  /** Case-insensitive substring of the name or of the params JSON text. */
  readonly q?: string
  /** `createdAt > createdAfter`. */
  readonly createdAfter?: number
  /** `createdAt < createdBefore`. */
  readonly createdBefore?: number
  /** `finishedAt < finishedBefore` (jobs with no `finishedAt` never match). */
  readonly finishedBefore?: number
  // --- dependencies -------------------------------------------------------------------------------------------------
  /**
   * true: jobs still waiting on dependencies (`waitingOn` > 0, status CREATED, QUEUED or PAUSED); false: all others.
   */
  readonly waiting?: boolean
  /** The jobs that depend on this job (a parent's children, a step's successors). */
  readonly dependsOn?: string
  /**
   * false: only jobs no non-terminal job depends on (what bulk delete may remove); true: only jobs one depends on.
   * Store-only.
   */
  readonly required?: boolean
}

/** The columns a list may sort by, in the order error messages name them. */
export const sortKeys = ["createdAt", "updatedAt", "startedAt", "finishedAt", "priority", "name"] as const

/** The columns a list may sort by. `name` sorts in binary order, never by locale (Postgres: `COLLATE "C"`). */
export type SortKey = (typeof sortKeys)[number]

/** The filter fields that hold times: epoch milliseconds in the store filter, ISO 8601 text in a client's query. */
export type TimeField = "createdAfter" | "createdBefore" | "finishedBefore"

/** Store-only fields: a client reaches them through its scope or through `get`, never as a query field. */
export type StoreOnlyField = "ids" | "owners" | "idempotencyKey" | "required"

/** A client's filter, derived from `JobFilter`: the same fields but the store-only ones, times as text. */
export type FilterQuery = Omit<JobFilter, StoreOnlyField | TimeField> & { readonly [K in TimeField]?: string }

/** The statuses in which a job may wait on dependencies. */
export const waitingStatuses: ReadonlyArray<JobStatus> = ["CREATED", "QUEUED", "PAUSED"]

/** Whether a job still waits on dependencies. */
export const isWaiting = (row: JobRow): boolean => (row.waitingOn ?? 0) > 0 && waitingStatuses.includes(row.status)

/**
 * Whether a row matches every given field of the filter. `required` needs the store's knowledge of dependents: a
 * reader that has it passes `isRequired`; without it the field is ignored.
 */
export const matches = (filter: JobFilter, row: JobRow, isRequired?: (id: string) => boolean): boolean => {
  if (filter.ids !== undefined && !filter.ids.includes(row.id)) return false
  if (filter.numbers !== undefined && !filter.numbers.includes(row.number)) return false
  if (filter.statuses !== undefined && !filter.statuses.includes(row.status)) return false
  if (filter.types !== undefined && !filter.types.includes(row.type)) return false
  if (filter.queues !== undefined && !filter.queues.includes(row.queue)) return false
  if (filter.owner !== undefined && row.owner !== filter.owner) return false
  if (filter.owners !== undefined && !filter.owners.includes(row.owner)) return false
  if (filter.idempotencyKey !== undefined && row.idempotencyKey !== filter.idempotencyKey) return false
  if (filter.tag !== undefined && !row.tags.includes(filter.tag)) return false
  if (filter.batchId !== undefined && row.batchId !== filter.batchId) return false
  if (filter.q !== undefined) {
    const q = filter.q.toLowerCase()
    if (!row.name.toLowerCase().includes(q) && !row.params.toLowerCase().includes(q)) return false
  }
  if (filter.createdAfter !== undefined && !(row.createdAt > filter.createdAfter)) return false
  if (filter.createdBefore !== undefined && !(row.createdAt < filter.createdBefore)) return false
  if (filter.finishedBefore !== undefined && !(row.finishedAt !== null && row.finishedAt < filter.finishedBefore)) {
    return false
  }
  if (filter.waiting !== undefined && isWaiting(row) !== filter.waiting) return false
  if (filter.dependsOn !== undefined && !(row.dependsOn ?? []).includes(filter.dependsOn)) return false
  if (filter.required !== undefined && isRequired !== undefined && isRequired(row.id) !== filter.required) return false
  return true
}

/** The value a row sorts by: null times as -1 (see `ListCursor`). */
export const sortValue = (row: JobRow, sort: SortKey): number | string => {
  switch (sort) {
    case "name":
      return row.name
    case "priority":
      return row.priority
    default:
      return row[sort] ?? -1
  }
}
