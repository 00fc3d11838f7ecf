/**
 * The Postgres store's pruner (`ScheduleStore.prune`): one statement deletes a bounded batch of old terminal jobs
 * and their children. `SKIP LOCKED`: a job some transaction holds (a retry being written) is left for a later batch,
 * and two pruners never wait on each other; each batch holds its row locks only for its own short statement.
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Shared } from "./shared.js"
import type { Row } from "./rows.js"
import { refail as mapErrors } from "./errors.js"

const terminal: ReadonlyArray<string> = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]

/** Builds `prune` over the store's shared pieces. */
export const make = ({ names, sql }: Shared): JobStore.ScheduleStore["prune"] => {
  const jobs = sql(names.jobs)
  const prune: JobStore.ScheduleStore["prune"] = ({ bounds, limit }) => {
    const valid = bounds.filter((bound) => terminal.includes(bound.status))
    if (valid.length === 0 || limit <= 0) return Effect.succeed([])
    const matching = sql.or(
      valid.map((bound) => sql`(status = ${bound.status}::text AND finished_at < ${bound.before}::int8)`)
    )
    // items go by their foreign key's ON DELETE CASCADE; logs, results and callbacks have none (see migration 1)
    return mapErrors(
      Effect.map(
        sql<Row>`
            WITH victims AS (
              SELECT id FROM ${jobs} WHERE finished_at IS NOT NULL AND ${matching}
              ORDER BY finished_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
            ), deleted AS (
              DELETE FROM ${jobs} WHERE id IN (SELECT id FROM victims)
                AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
              RETURNING id, status, finished_at
            ), l AS (DELETE FROM ${sql(names.logs)} WHERE job_id IN (SELECT id FROM deleted)),
            r AS (DELETE FROM ${sql(names.results)} WHERE job_id IN (SELECT id FROM deleted)),
            c AS (DELETE FROM ${sql(names.callbacks)} WHERE job_id IN (SELECT id FROM deleted))
            SELECT id, status FROM deleted ORDER BY finished_at, id`,
        (rows) =>
          rows.map((row): JobStore.StatusChange => ({ id: String(row.id), status: row.status as Job.JobStatus }))
      )
    )
  }
  return prune
}
