/**
 * The memory store's rules of matching and order: which rows a `JobFilter` selects, the value a row sorts by, and
 * the order claims and pages walk. Binary order (UTF-16 code units), never locale order, so every store agrees.
 */
import type { JobFilter, JobRow, ListCursor, SortKey } from "../../JobStore.js"

/** Whether a row matches every given field of the filter. */
export const matches = (filter: JobFilter, row: JobRow): boolean => {
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

/** Compares two values in binary order. */
export const compareValues = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Compares two keyset positions ascending: value, then id. */
export const comparePositions = (a: ListCursor, b: ListCursor): number =>
  compareValues(a.value, b.value) || compareValues(a.id, b.id)

/** Claim order: priority desc, then `runAt`, then id (a total order: ids break every tie). */
export const claimOrder = (a: JobRow, b: JobRow): number =>
  b.priority - a.priority || a.runAt - b.runAt || compareValues(a.id, b.id)
