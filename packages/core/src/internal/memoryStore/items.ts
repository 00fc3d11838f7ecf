/**
 * The in-memory store's items: a Map of each job's items by key, written inside one synchronous block per method.
 */
import * as Effect from "effect/Effect"
import type { JobStatus } from "../../Job.js"
import type { ItemCursor, ItemRow, ItemStore, JobRow } from "../../JobStore.js"

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Listing order: position, then key. */
export const compareItems = (a: ItemCursor, b: ItemCursor): number =>
  a.position - b.position || compareKeys(a.key, b.key)

/** The items of a memory store, over its jobs. */
export const make = (jobOf: (id: string) => JobRow | undefined) => {
  const byJob = new Map<string, Map<string, ItemRow>>()

  const put = (rows: ReadonlyArray<ItemRow>, accept: (job: JobRow) => boolean): Set<string> => {
    const written = new Set<string>()
    for (const row of rows) {
      const job = jobOf(row.jobId)
      if (job === undefined || !accept(job)) continue
      let items = byJob.get(row.jobId)
      if (items === undefined) {
        items = new Map()
        byJob.set(row.jobId, items)
      }
      items.set(row.key, { ...row })
      written.add(row.jobId)
    }
    return written
  }

  const port: ItemStore = {
    putItems: ({ from, items, jobId }) =>
      Effect.sync(() => {
        const job = jobOf(jobId)
        if (job === undefined || !from.includes(job.status)) return false
        put(
          items.filter((item) => item.jobId === jobId),
          () => true
        )
        return true
      }),
    saveItems: ({ items, leases, workerId }) =>
      Effect.sync(() => {
        const tokens = new Map(leases.map((lease) => [lease.id, lease.token]))
        put(
          items,
          (job) =>
            job.leaseOwner === workerId &&
            job.leaseToken !== null &&
            tokens.get(job.id) === job.leaseToken &&
            (job.status === "RUNNING" || job.status === "PAUSING" || job.status === "CANCELLING")
        )
      }),
    listItems: ({ cursor, jobId, limit, statuses }) =>
      Effect.sync(() => {
        const all = Array.from(byJob.get(jobId)?.values() ?? [])
          .filter((row) => statuses === undefined || statuses.includes(row.status))
          .filter((row) => cursor === null || compareItems(row, cursor) > 0)
          .sort(compareItems)
        const n = Math.max(0, Math.floor(limit))
        const rows = all.slice(0, n).map((row) => ({ ...row }))
        const last = rows[rows.length - 1]
        return {
          rows,
          nextCursor: all.length > n && last !== undefined ? { position: last.position, key: last.key } : null
        }
      }),
    countItems: ({ jobId }) =>
      Effect.sync(() => {
        const counts: Partial<Record<ItemRow["status"], number>> = {}
        for (const row of byJob.get(jobId)?.values() ?? []) counts[row.status] = (counts[row.status] ?? 0) + 1
        return counts
      }),
    resetItems: ({ from, jobId, now, statuses }) =>
      Effect.sync(() => {
        const job = jobOf(jobId)
        if (job === undefined || !from.includes(job.status as JobStatus)) return 0
        let changed = 0
        const items = byJob.get(jobId)
        if (items === undefined) return 0
        for (const [key, row] of items) {
          if (!statuses.includes(row.status)) continue
          items.set(key, {
            ...row,
            status: "PENDING",
            output: null,
            error: null,
            startedAt: null,
            finishedAt: null,
            updatedAt: now
          })
          changed++
        }
        return changed
      })
  }

  return {
    port,
    /** Inserts the items of freshly inserted jobs (inside the insert's block). */
    insertFor: (rows: ReadonlyArray<ItemRow> | undefined, inserted: ReadonlySet<string>): void => {
      if (rows === undefined || rows.length === 0) return
      put(
        rows.filter((row) => inserted.has(row.jobId)),
        () => true
      )
    },
    /** Drops a deleted job's items. */
    drop: (jobId: string): void => {
      byJob.delete(jobId)
    }
  }
}
