/**
 * Maintenance: rescue jobs whose lease expired (their worker died) and expire jobs past their deadline. Every process
 * may run it at once: the due rows are locked `FOR NO KEY UPDATE SKIP LOCKED`, so two rescuers split the work rather
 * than wait for each other, and a row a worker is settling right now is skipped, to be looked at next time. Each is
 * one statement that also inserts the callbacks of the jobs made terminal and sends the NOTIFYs of the change (its
 * `prev_status` is a constant: every row it changes was non-terminal, so every one it makes terminal gets a callback).
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Callbacks } from "./callbacks.js"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"

const toChanges = (rows: ReadonlyArray<Row>): ReadonlyArray<JobStore.StatusChange> =>
  rows.map((r) => ({ id: r.id as string, status: r.status as Job.JobStatus }))

/** The maintenance statements of one store. */
export const make = ({ jobs, names, sql, workerWrite }: Shared, callbacks: Callbacks) => {
  /** A CTE body announcing `Changed` for each row of `updated`, and `Enqueued` once per queue that gained a job. */
  const changedSignals = sql`
    SELECT count(pg_notify(${names.channel}, payload)) AS n FROM (
      SELECT json_build_object('_tag', 'Changed', 'id', id, 'status', status)::text AS payload FROM updated
      UNION ALL
      SELECT json_build_object('_tag', 'Enqueued', 'queue', queue)::text
      FROM (SELECT DISTINCT queue FROM updated WHERE status = 'QUEUED') q
    ) p`

  /**
   * `JobStore.rescue`: an expired RUNNING job goes back to QUEUED while it has attempts left (its crashed attempt
   * counted), else FAILED (`stalled`); an expired PAUSING one becomes PAUSED on the same terms; an expired CANCELLING
   * one becomes CANCELLED. Found off the held index.
   */
  const rescue = (options: { readonly now: number }) =>
    Effect.map(
      workerWrite(
        (mode) => sql<Row>`
        WITH commit_mode AS (${mode}), due AS (
          SELECT id FROM ${jobs}
          WHERE status IN ('RUNNING', 'PAUSING', 'CANCELLING') AND lease_expires_at <= ${options.now}::int8
          FOR NO KEY UPDATE SKIP LOCKED
        ), updated AS (
          UPDATE ${jobs} j SET
            status = CASE WHEN j.status = 'CANCELLING' THEN 'CANCELLED'
              WHEN j.attempt >= j.max_attempts THEN 'FAILED' WHEN j.status = 'PAUSING' THEN 'PAUSED' ELSE 'QUEUED' END,
            terminal_reason = CASE WHEN j.status = 'CANCELLING' THEN 'user'
              WHEN j.attempt < j.max_attempts THEN j.terminal_reason ELSE 'stalled' END,
            finished_at = CASE WHEN j.status = 'CANCELLING' OR j.attempt >= j.max_attempts
              THEN ${options.now}::int8 ELSE j.finished_at END,
            -- run_at is kept: a re-queued job keeps its place ahead of work queued after it
            lease_owner = NULL,
            lease_expires_at = NULL,
            lease_token = NULL,
            updated_at = ${options.now}::int8
          FROM due, commit_mode WHERE j.id = due.id
          RETURNING j.id, j.status, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
            'RUNNING'::text AS prev_status
        ), new_callbacks AS (
          ${callbacks.insertFrom("updated", sql`${options.now}::int8`)}
        ), signals AS (${changedSignals})
        SELECT updated.id, updated.status FROM updated, signals`
      ),
      toChanges
    )

  /**
   * `JobStore.expire`: a QUEUED, RUNNING, PAUSING or PAUSED job past its deadline becomes TIMED_OUT (`expired`). Found off the
   * deadline index, whose predicate is this statement's.
   */
  const expire = (options: { readonly now: number }) =>
    Effect.map(
      workerWrite(
        (mode) => sql<Row>`
        WITH commit_mode AS (${mode}), due AS (
          SELECT id FROM ${jobs}
          WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSING', 'PAUSED')
            AND deadline <= ${options.now}::int8
          FOR NO KEY UPDATE SKIP LOCKED
        ), updated AS (
          UPDATE ${jobs} j SET
            status = 'TIMED_OUT',
            terminal_reason = 'expired',
            finished_at = ${options.now}::int8,
            lease_owner = NULL,
            lease_expires_at = NULL,
            lease_token = NULL,
            updated_at = ${options.now}::int8
          FROM due, commit_mode WHERE j.id = due.id
          RETURNING j.id, j.status, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
            'QUEUED'::text AS prev_status
        ), new_callbacks AS (
          ${callbacks.insertFrom("updated", sql`${options.now}::int8`)}
        ), signals AS (${changedSignals})
        SELECT updated.id, updated.status FROM updated, signals`
      ),
      toChanges
    )

  return { rescue, expire }
}
