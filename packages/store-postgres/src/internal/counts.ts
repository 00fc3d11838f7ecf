/**
 * Reads of the job counters of migration 9: counts by (type, queue, status), kept by triggers in the same
 * transaction as every write of a job, one row per writing backend's shard. Summing them under one snapshot gives
 * the exact count of that snapshot, whatever the size of the history.
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Filter from "./filter.js"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"

/** The filter fields the counters have columns for. */
const counted: ReadonlySet<string> = new Set(["types", "queues", "statuses"])

/**
 * Whether the counters answer this filter: it names nothing but types, queues and statuses (any other field,
 * including ones added later, needs the rows themselves).
 */
export const countable = (filter: JobStore.JobFilter): boolean =>
  Object.entries(filter).every(([key, value]) => value === undefined || counted.has(key))

/** Rows of `type, status, n` as the port's stats rows. */
export const toStats = (rows: ReadonlyArray<Row>): ReadonlyArray<JobStore.StatsRow> =>
  rows.map((r) => ({ type: r.type as string, status: r.status as Job.JobStatus, count: Number(r.n) }))

/** More shard rows than this in one (type, status) group and the stats read folds them into shard 0. */
const FOLD_AT = 16

/** The counter statements of one store. */
export const make = ({ dependencies, names, sql }: Shared) => {
  const counts = sql(names.counts)
  // a countable filter names only types, queues and statuses: the tables are never read
  const tables = { jobs: counts, dependencies }

  /**
   * Moves every shard row no transaction holds into shard 0 (shards of past backends pile up otherwise): the rows
   * are deleted and added to shard 0 in one statement, so every snapshot sees the same sums before and after.
   * Shard 0 rows are taken in key order, so two folds never deadlock.
   */
  const fold = sql`
    WITH moved AS (
      DELETE FROM ${counts} c USING (
        SELECT ctid FROM ${counts} WHERE shard <> 0 FOR UPDATE SKIP LOCKED
      ) m WHERE c.ctid = m.ctid
      RETURNING c.type, c.queue, c.status, c.n
    )
    INSERT INTO ${counts} AS c (type, queue, status, shard, n)
    SELECT type, queue, status, 0, sum(n) FROM moved GROUP BY type, queue, status ORDER BY type, queue, status
    ON CONFLICT (type, queue, status, shard) DO UPDATE SET n = c.n + excluded.n`

  /** Counts by type and status under a countable filter. */
  const stats = (filter: JobStore.JobFilter) =>
    Effect.gen(function* () {
      const rows = yield* sql<Row>`SELECT type, status, sum(n) AS n, count(*) AS shards FROM ${counts}
        WHERE ${Filter.where(sql, filter, tables)} GROUP BY type, status HAVING sum(n) <> 0`
      if (rows.some((row) => Number(row.shards) > FOLD_AT)) yield* fold
      return toStats(rows)
    })

  /** The number of jobs under a countable filter. */
  const total = (filter: JobStore.JobFilter) =>
    Effect.map(
      sql<Row>`SELECT COALESCE(sum(n), 0) AS n FROM ${counts} WHERE ${Filter.where(sql, filter, tables)}`,
      (rows) => Number(rows[0]?.n ?? 0)
    )

  return { stats, total, fold }
}
