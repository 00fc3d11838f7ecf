/**
 * The QUEUED jobs of the memory store in claim order, so a claim walks them from the front and stops once it has
 * its batch instead of reading and sorting every job.
 */
import type { JobRow } from "../../JobStore.js"
import { claimOrder } from "./order.js"

/**
 * A row that stops being current (written again, or deleted) stays here as a stale entry until a claim passes it
 * or the array is compacted: taking rows out one by one from the front of a long array would cost a copy of it
 * each time.
 */
export class QueuedIndex {
  private rows: Array<JobRow> = []
  private stale = 0

  constructor(
    /** Whether an entry is still the stored row of its job. */
    readonly isCurrent: (row: JobRow) => boolean
  ) {}

  /** The entries from the front, stale ones included: readers skip those `isCurrent` refuses. */
  get entries(): ReadonlyArray<JobRow> {
    return this.rows
  }

  /** Adds a row that is QUEUED now at its place in claim order. */
  add(row: JobRow): void {
    this.rows.splice(this.indexOf(row), 0, row)
  }

  /** Counts one entry gone stale; compacts once stale entries are more than half the array. */
  markStale(): void {
    this.stale++
    if (this.stale > 64 && this.stale * 2 > this.rows.length) {
      this.rows = this.rows.filter(this.isCurrent)
      this.stale = 0
    }
  }

  /** Cuts the stale entries at the front (claimed rows, and rows that went stale before them) in one splice. */
  trimFront(): void {
    let front = 0
    while (front < this.rows.length && !this.isCurrent(this.rows[front])) front++
    if (front > 0) {
      this.rows.splice(0, front)
      this.stale = Math.max(0, this.stale - front)
    }
  }

  /** Where `row` goes (binary search over claim order). */
  private indexOf(row: JobRow): number {
    let lo = 0
    let hi = this.rows.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (claimOrder(this.rows[mid], row) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
