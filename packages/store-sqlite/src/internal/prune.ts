/**
 * The SQLite store's pruner (`ScheduleStore.prune`): deletes a bounded batch of old terminal jobs and their children
 * in one short write transaction, so a large backlog is removed in many small steps that never hold the write lock
 * for long (other processes' claims and settles get in between batches).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { text } from "./rows.js"
import type { Tables } from "./tables.js"

/** What the pruner needs from the store around it. */
export interface Context {
  readonly sql: SqlClient.SqlClient
  readonly tables: Tables
  readonly writeTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  readonly run: <A, R>(
    effect: Effect.Effect<A, SqlError | JobStore.JobStoreError, R>
  ) => Effect.Effect<A, JobStore.JobStoreError, R>
}

const terminal: ReadonlyArray<string> = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]

/** Builds `prune`. */
export const make = ({ run, sql, tables, writeTransaction }: Context): JobStore.ScheduleStore["prune"] => {
  const jobs = sql(tables.jobs)
  return ({ bounds, limit }) => {
    const valid = bounds.filter((bound) => terminal.includes(bound.status))
    if (valid.length === 0 || limit <= 0) return Effect.succeed([])
    // one term per status: each walks the partial finished_at index over old rows only (`+status` keeps the
    // status index out of the planner's choices)
    const matching = sql.or(valid.map((bound) => sql`(+status = ${bound.status} AND finished_at < ${bound.before})`))
    return run(
      writeTransaction(
        Effect.gen(function* () {
          const victims = yield* sql`SELECT id, status FROM ${jobs} WHERE finished_at IS NOT NULL AND ${matching}
            ORDER BY finished_at, id LIMIT ${limit} + 0`.values
          if (victims.length === 0) return []
          const ids = JSON.stringify(victims.map((row) => row[0]))
          const inIds = sql`(SELECT value FROM json_each(${ids}))`
          // the children go with the job here: no foreign key cascades (see migration 0001)
          yield* sql`DELETE FROM ${sql(tables.logs)} WHERE job_id IN ${inIds}`
          yield* sql`DELETE FROM ${sql(tables.results)} WHERE job_id IN ${inIds}`
          yield* sql`DELETE FROM ${sql(tables.callbacks)} WHERE job_id IN ${inIds}`
          yield* sql`DELETE FROM ${sql(tables.items)} WHERE job_id IN ${inIds}`
          // still terminal: in this transaction nothing else can have retried them since the select
          yield* sql`DELETE FROM ${jobs} WHERE id IN ${inIds}`
          return victims.map((row): JobStore.StatusChange => ({
            id: text(row[0]),
            status: text(row[1]) as Job.JobStatus
          }))
        })
      )
    )
  }
}
