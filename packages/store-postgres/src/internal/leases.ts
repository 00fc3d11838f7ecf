/**
 * What a worker does while it holds jobs: renew their leases, read their statuses (the cancel poll), and write their
 * progress. Each is one statement for any number of jobs, the jobs travelling as one JSON parameter read with
 * `json_to_recordset`, and each write is guarded by the lease's owner and token, so a worker's late write about an old
 * attempt never lands on a newer one. Held is written as `NOT IN notHeld` (see `shared.ts`) so the statement is
 * planned on the key.
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"

const toChanges = (rows: ReadonlyArray<Row>): ReadonlyArray<JobStore.StatusChange> =>
  rows.map((r) => ({ id: r.id as string, status: r.status as Job.JobStatus }))

/** The lease statements of one store. */
export const make = ({ jobs, notHeld, sql, workerWrite }: Shared) => {
  /**
   * `JobStore.heartbeat`: answers the status of each lease still held, so the worker sees a CANCELLING or PAUSING at
   * once.
   */
  const heartbeat = (options: {
    readonly workerId: string
    readonly leases: ReadonlyArray<JobStore.LeaseRef>
    readonly now: number
    readonly leaseMs: number
  }) =>
    options.leases.length === 0
      ? Effect.succeed([])
      : Effect.map(
          // updatedAt is left alone: a lease refresh is not a change anyone sees. DISTINCT ON (id): one lease per
          // job, so the UPDATE's join meets each job at most once
          workerWrite(
            (mode) => sql<Row>`WITH commit_mode AS (${mode}), l AS (
                SELECT DISTINCT ON (id) id, token FROM json_to_recordset(${JSON.stringify(options.leases)}::json)
                  AS l(id text, token text)
              )
              UPDATE ${jobs} j SET lease_expires_at = ${options.now + options.leaseMs}::int8 FROM commit_mode, l
              WHERE j.id = l.id AND j.lease_token = l.token AND j.lease_owner = ${options.workerId}::text
                AND j.status NOT IN ${notHeld}
              RETURNING j.id, j.status`
          ),
          toChanges
        )

  /** `JobStore.statuses`: a plain read by key, no lock. */
  const statuses = (options: { readonly ids: ReadonlyArray<string> }) =>
    options.ids.length === 0
      ? Effect.succeed([])
      : Effect.map(sql<Row>`SELECT id, status FROM ${jobs} WHERE id = ANY(${options.ids}::text[])`, toChanges)

  /** `JobStore.saveProgress`: the worker's coalesced progress of the jobs it holds. */
  const saveProgress = (options: {
    readonly workerId: string
    readonly now: number
    readonly updates: ReadonlyArray<JobStore.ProgressUpdate>
  }) =>
    options.updates.length === 0
      ? Effect.void
      : workerWrite(
          (mode) => sql`WITH commit_mode AS (${mode})
            UPDATE ${jobs} j SET progress = u.progress, checkpoint = COALESCE(u.checkpoint, j.checkpoint),
              updated_at = ${options.now}::int8
            FROM json_to_recordset(${JSON.stringify(options.updates)}::json)
                AS u(id text, token text, progress text, checkpoint text),
              commit_mode
            WHERE j.id = u.id AND j.lease_token = u.token AND j.lease_owner = ${options.workerId}::text
              AND j.status NOT IN ${notHeld}`
        ).pipe(Effect.asVoid)

  return { heartbeat, statuses, saveProgress }
}
