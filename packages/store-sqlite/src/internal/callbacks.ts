/**
 * Completion callbacks: recorded in the transaction that moves a job into a terminal status (so a callback is owed
 * exactly when the status change commits), then claimed and settled by the delivery loop.
 */
import type { JobStore } from "@jobloom/core"
import { Job } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { int, intOrNull, text, textOrNull } from "./rows.js"

/**
 * Records the pending callbacks of jobs just moved into a terminal status, in the caller's transaction, from the
 * rows as written (so status, reason, result and finish time are the ones stored). `ids` are of jobs that have a
 * callback URL and a terminal status now.
 */
export const record = ({ callbacks, inList, jobs, sql }: Env, ids: ReadonlyArray<string>, now: number) =>
  ids.length === 0
    ? Effect.void
    : Effect.asVoid(sql`INSERT INTO ${callbacks}
        (job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
        SELECT id, callback_url, status, terminal_reason, result_id, finished_at, 0, ${now}
        FROM ${jobs} WHERE id IN ${inList(ids)} AND callback_url IS NOT NULL`)

/** Ids among `[id, status, …]` rows, with the callback URL at `urlAt`, that now owe a callback. */
export const owing = (rows: ReadonlyArray<ReadonlyArray<unknown>>, urlAt: number): Array<string> =>
  rows.flatMap((row) => (row[urlAt] !== null && Job.isTerminal(text(row[1]) as Job.JobStatus) ? [text(row[0])] : []))

/** `JobStore.claimCallbacks`: the due callbacks, oldest first, each leased by moving its due time past the lease. */
export const claimCallbacks =
  (env: Env): JobStore.JobStore.Service["claimCallbacks"] =>
  ({ leaseMs, limit, now }) => {
    const { callbacks, inList, run, sql, writeTransaction } = env
    if (limit <= 0) return Effect.succeed([])
    // read and lease in one write transaction, so two deliverers (of any process) never take the same callback
    return run(
      writeTransaction(
        Effect.gen(function* () {
          const rows = yield* sql`SELECT id, job_id, url, status, terminal_reason, result_id, finished_at, attempts
            FROM ${callbacks} WHERE due_at <= ${now} ORDER BY due_at, id LIMIT ${Math.floor(limit)} + 0`.values
          if (rows.length > 0) {
            yield* sql`UPDATE ${callbacks} SET due_at = ${now + leaseMs} WHERE id IN ${inList(rows.map((row) => row[0]))}`
          }
          return rows.map((row): JobStore.CallbackRow => ({
            id: text(row[0]),
            jobId: text(row[1]),
            url: text(row[2]),
            status: text(row[3]) as Job.JobStatus,
            terminalReason: textOrNull(row[4]) as Job.TerminalReason | null,
            resultId: textOrNull(row[5]),
            finishedAt: intOrNull(row[6]),
            attempts: int(row[7])
          }))
        })
      )
    )
  }

/** `JobStore.settleCallback`: a delivered callback goes; a failed one waits until `retryAt`, one attempt more. */
export const settleCallback =
  ({ callbacks, run, sql }: Env): JobStore.JobStore.Service["settleCallback"] =>
  ({ id, retryAt }) => {
    // callback ids are integers; any other id cannot be one of ours
    if (!/^\d{1,15}$/.test(id)) return Effect.void
    return run(
      retryAt === null
        ? sql`DELETE FROM ${callbacks} WHERE id = ${Number(id)}`
        : sql`UPDATE ${callbacks} SET due_at = ${retryAt}, attempts = attempts + 1 WHERE id = ${Number(id)}`
    ).pipe(Effect.asVoid)
  }
