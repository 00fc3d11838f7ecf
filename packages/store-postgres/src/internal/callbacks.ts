/**
 * Durable callback deliveries: the rows a terminal status leaves behind (inserted by the statement that made the job
 * terminal, so a crash between the two cannot lose one), and the claim and settle of a delivery by maintenance.
 */
import type { Fragment } from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Row } from "./rows.js"
import { toCallbackRow } from "./rows.js"
import type { Shared } from "./shared.js"

/** The callback statements of one store. */
export const make = ({ callbacks, sql, terminal, workerWrite }: Shared) => {
  /**
   * A CTE body inserting a pending callback for each row of `source` that just became terminal with a callback URL.
   * `source` is a CTE of the calling statement with the job's columns and its `prev_status`; a job that was terminal
   * already (a patch of a finished job) gets none.
   */
  const insertFrom = (source: string, now: Fragment) =>
    sql`INSERT INTO ${callbacks} (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
      SELECT gen_random_uuid()::text, id, callback_url, status, terminal_reason, result_id, finished_at, 0, ${now}
      FROM ${sql.literal(source)}
      WHERE callback_url IS NOT NULL AND status IN ${terminal} AND prev_status NOT IN ${terminal}`

  /**
   * Takes due deliveries by pushing their due time a lease ahead: a process that dies mid-delivery leaves them due
   * again later. SKIP LOCKED lets every process's maintenance claim at once without waiting on each other.
   */
  const claim = (options: { readonly now: number; readonly limit: number; readonly leaseMs: number }) =>
    options.limit <= 0
      ? Effect.succeed([])
      : Effect.map(
          workerWrite(
            (mode) => sql<Row>`
            WITH commit_mode AS (${mode}), due AS (
              SELECT id, due_at FROM ${callbacks} WHERE due_at <= ${options.now}::int8
              ORDER BY due_at, id LIMIT ${options.limit}
              FOR UPDATE SKIP LOCKED
            )
            UPDATE ${callbacks} c SET due_at = ${options.now + options.leaseMs}::int8
            FROM due, commit_mode WHERE c.id = due.id
            RETURNING c.*, due.due_at AS prev_due_at`
          ),
          // UPDATE … RETURNING has no order: the port's is by the due time the delivery had before this claim
          (rows): ReadonlyArray<JobStore.CallbackRow> =>
            rows
              .slice()
              .sort(
                (a, b) =>
                  Number(a.prev_due_at) - Number(b.prev_due_at) || ((a.id as string) < (b.id as string) ? -1 : 1)
              )
              .map(toCallbackRow)
        )

  /** Ends a delivery (delivered or given up: `retryAt` null) or schedules its next try. */
  const settle = (options: { readonly id: string; readonly retryAt: number | null; readonly now: number }) =>
    workerWrite((mode) =>
      options.retryAt === null
        ? sql`WITH commit_mode AS (${mode}) DELETE FROM ${callbacks} USING commit_mode WHERE id = ${options.id}`
        : sql`WITH commit_mode AS (${mode})
            UPDATE ${callbacks} SET due_at = ${options.retryAt}::int8, attempts = attempts + 1 FROM commit_mode
            WHERE id = ${options.id}`
    ).pipe(Effect.asVoid)

  return { insertFrom, claim, settle }
}

/** The callback statements of one store. */
export type Callbacks = ReturnType<typeof make>
