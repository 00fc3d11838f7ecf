/**
 * The user's actions (run, cancel, retry, pause, resume, edit): one guarded compare-and-set per call, written as one
 * statement whose CTEs also insert the callback of a job made terminal and send the NOTIFYs of the change, so the
 * write, its callback and its announcement commit together without a BEGIN/COMMIT round trip.
 */
import type { Job, JobStore } from "@jobloom/core"
import type { Fragment } from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Callbacks } from "./callbacks.js"
import type { Row } from "./rows.js"
import { columnOf, toJobRow } from "./rows.js"
import type { Shared } from "./shared.js"

/** The update of one store. */
export const make =
  ({ jobs, names, sql }: Shared, callbacks: Callbacks) =>
  /** `JobStore.update`: applies `patch` when the job's status is one of `from`. */
  (options: {
    readonly id: string
    readonly from: ReadonlyArray<Job.JobStatus>
    readonly patch: JobStore.JobPatch
    readonly now: number
  }) =>
    Effect.gen(function* () {
      const sets: Array<Fragment> = []
      for (const [key, value] of Object.entries(options.patch)) {
        // an explicit `undefined` means "not given", as in the other stores
        if (value === undefined) continue
        const column = columnOf[key]
        if (column === undefined || key === "updatedAt") continue
        sets.push(sql`${sql(column)} = ${value as unknown}`)
      }
      sets.push(sql`updated_at = ${options.now}::int8`)
      const runAtPatched = options.patch.runAt !== undefined
      // The guard lives in `prev`, whose row lock makes it a compare-and-set: a concurrent writer of the row (a claim,
      // a settle) commits first and the status is compared again on the row it left, so `prev_status` is the status
      // this write replaced. NO KEY UPDATE is the lock the UPDATE takes anyway (no key column changes); FOR UPDATE
      // would be stronger than needed. Changed goes out only when the status changed; Enqueued when the job became
      // QUEUED, or stays QUEUED with a new runAt.
      const rows = yield* sql<Row>`
        WITH prev AS (
          SELECT id, status FROM ${jobs}
          WHERE id = ${options.id} AND status = ANY(${options.from}::text[])
          FOR NO KEY UPDATE
        ), updated AS (
          UPDATE ${jobs} j SET ${sql.csv(sets)} FROM prev WHERE j.id = prev.id
          RETURNING j.*, prev.status AS prev_status
        ), new_callbacks AS (
          ${callbacks.insertFrom("updated", sql`${options.now}::int8`)}
        ), signals AS (
          SELECT count(pg_notify(${names.channel}, payload)) AS n FROM updated, LATERAL (VALUES
            (CASE WHEN status <> prev_status
              THEN json_build_object('_tag', 'Changed', 'id', id, 'status', status)::text END),
            (CASE WHEN status = 'QUEUED' AND (prev_status <> 'QUEUED' OR ${runAtPatched})
              THEN json_build_object('_tag', 'Enqueued', 'queue', queue)::text END)
          ) AS v(payload)
          WHERE payload IS NOT NULL
        )
        SELECT updated.* FROM updated, signals`
      return Option.map(Option.fromNullable(rows[0]), toJobRow)
    })
