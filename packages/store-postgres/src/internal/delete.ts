/**
 * Deleting jobs with their logs, results and pending callbacks. The tables have no foreign keys (a key check would
 * lock the job row for every log line, see migration 1), so the cascade is explicit: data-modifying CTEs of the one
 * statement, which all see the same `deleted` rows and commit together.
 */
import type { Job, JobStore } from "@jobloom/core"
import type { Fragment } from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Filter from "./filter.js"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"

/** The delete statements of one store. */
export const make = ({ callbacks, dependencies, jobs, logs, results, sql }: Shared) => {
  /** Deletes the jobs matched by `where`, and everything that belongs to them; answers how many jobs went. */
  const deleteWhere = (where: Fragment) =>
    Effect.map(
      sql<Row>`
        WITH deleted AS (DELETE FROM ${jobs} WHERE ${where} RETURNING id),
        l AS (DELETE FROM ${logs} WHERE job_id IN (SELECT id FROM deleted)),
        r AS (DELETE FROM ${results} WHERE job_id IN (SELECT id FROM deleted)),
        c AS (DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM deleted))
        SELECT count(*) AS n FROM deleted`,
      (rows) => Number(rows[0].n)
    )

  /** `JobStore.delete`: the job, when its status is one of `from` (a compare-and-set on the status). */
  const deleteOne = (options: { readonly id: string; readonly from: ReadonlyArray<Job.JobStatus> }) =>
    Effect.map(deleteWhere(sql`id = ${options.id} AND status = ANY(${options.from}::text[])`), (n) => n > 0)

  /** `JobStore.deleteMany`: every job the filter matches. */
  const deleteMany = (options: { readonly filter: JobStore.JobFilter }) =>
    deleteWhere(Filter.where(sql, options.filter, { jobs, dependencies }))

  return { deleteOne, deleteMany }
}
