/**
 * Deleting jobs: one job by id (guarded by its status) or every job a filter selects (retention), each with its
 * logs, result, callbacks and items.
 */
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { where } from "./filter.js"
import { int } from "./rows.js"

/** `JobStore.delete`: the job, if its status is one of `from`, and its children, in one write transaction. */
export const deleteOne =
  ({ callbacks, jobs, logs, results, items, run, sql, writeTransaction }: Env): JobStore.JobStore.Service["delete"] =>
  ({ from, id }) =>
    from.length === 0
      ? Effect.succeed(false)
      : run(
          writeTransaction(
            Effect.gen(function* () {
              const deleted = yield* sql`DELETE FROM ${jobs} WHERE id = ${id} AND status IN ${sql.in(from)}
                RETURNING id`.values
              if (deleted.length === 0) return false
              // the children go with the job here: no foreign key cascades (see migration 0001), and a host's
              // connection may have foreign keys off
              yield* sql`DELETE FROM ${logs} WHERE job_id = ${id}`
              yield* sql`DELETE FROM ${results} WHERE job_id = ${id}`
              yield* sql`DELETE FROM ${callbacks} WHERE job_id = ${id}`
              yield* sql`DELETE FROM ${items} WHERE job_id = ${id}`
              return true
            })
          )
        )

/** `JobStore.deleteMany`: every job the filter selects, children first, in one write transaction. */
export const deleteMany =
  (env: Env): JobStore.JobStore.Service["deleteMany"] =>
  ({ filter }) => {
    const { callbacks, items, jobs, logs, results, run, sql, writeTransaction } = env
    return run(
      writeTransaction(
        Effect.gen(function* () {
          const matching = where(env, filter, true)
          // children first, by the same filter, so nothing is held in memory whatever the number of jobs
          yield* sql`DELETE FROM ${logs} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
          yield* sql`DELETE FROM ${results} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
          yield* sql`DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
          yield* sql`DELETE FROM ${items} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
          yield* sql`DELETE FROM ${jobs} WHERE ${matching}`
          const [count] = yield* sql`SELECT changes()`.values
          return int(count?.[0])
        })
      )
    )
  }
