/**
 * The memory store's rules of matching and order: which rows a `JobFilter` selects, the value a row sorts by, and
 * the order claims and pages walk. Binary order (UTF-16 code units), never locale order, so every store agrees.
 */
import type { JobRow, ListCursor } from "../../JobStore.js"

/** The filter's matcher and the sort value, from the one definition of the filter. */
export { matches, sortValue } from "../jobFilter.js"

/** Compares two values in binary order. */
export const compareValues = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Compares two keyset positions ascending: value, then id. */
export const comparePositions = (a: ListCursor, b: ListCursor): number =>
  compareValues(a.value, b.value) || compareValues(a.id, b.id)

/** Claim order: priority desc, then `runAt`, then id (a total order: ids break every tie). */
export const claimOrder = (a: JobRow, b: JobRow): number =>
  b.priority - a.priority || a.runAt - b.runAt || compareValues(a.id, b.id)
