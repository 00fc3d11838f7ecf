/**
 * Maintenance: rescue the jobs of workers whose lease ran out, and end the jobs past their deadline. Each is one
 * `UPDATE … RETURNING` plus the callbacks it owes, in one write transaction.
 */
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Callbacks from "./callbacks.js"
import type { Env } from "./env.js"
import { statusChange, text } from "./rows.js"
import * as Signals from "./signals.js"

/**
 * `JobStore.rescue`: a lapsed RUNNING job goes back to its queue while it has attempts left (FAILED `stalled`
 * otherwise); a lapsed CANCELLING one ends CANCELLED.
 */
export const rescue =
  (env: Env): JobStore.JobStore.Service["rescue"] =>
  ({ now }) => {
    const { jobs, run, sql, writeTransaction } = env
    return run(
      writeTransaction(
        Effect.gen(function* () {
          // run_at is left as it was: a re-queued job keeps its place ahead of work queued after it
          const rows = yield* sql`UPDATE ${jobs} SET
              status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED'
                WHEN attempt < max_attempts THEN 'QUEUED' ELSE 'FAILED' END,
              terminal_reason = CASE WHEN status = 'CANCELLING' THEN 'user'
                WHEN attempt < max_attempts THEN terminal_reason ELSE 'stalled' END,
              finished_at = CASE WHEN status = 'RUNNING' AND attempt < max_attempts THEN finished_at ELSE ${now} END,
              lease_owner = NULL,
              lease_expires_at = NULL,
              lease_token = NULL,
              updated_at = ${now}
            WHERE status IN ('RUNNING', 'CANCELLING') AND lease_expires_at <= ${now}
            RETURNING id, status, queue, callback_url`.values
          yield* Callbacks.record(env, Callbacks.owing(rows, 3), now)
          return rows
        })
      )
    ).pipe(
      Effect.flatMap((rows) => {
        const changes = rows.map(statusChange)
        const queues = rows.filter((row) => row[1] === "QUEUED").map((row) => text(row[2]))
        return Effect.as(env.signals.publish([...Signals.changed(changes), ...Signals.enqueued(queues)]), changes)
      })
    )
  }

/** `JobStore.expire`: a QUEUED, RUNNING or PAUSED job past its deadline ends TIMED_OUT (`expired`). */
export const expire =
  (env: Env): JobStore.JobStore.Service["expire"] =>
  ({ now }) => {
    const { jobs, run, sql, tables, writeTransaction } = env
    return run(
      writeTransaction(
        Effect.gen(function* () {
          // Named, because without statistics the planner prefers the status index and would walk every queued
          // job each second; the terms repeat the partial index's own WHERE, which makes it usable.
          const rows = yield* sql`UPDATE ${jobs} INDEXED BY ${sql(`${tables.prefix}jobs_deadline`)}
              SET status = 'TIMED_OUT', terminal_reason = 'expired',
              lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL, finished_at = ${now},
              updated_at = ${now}
            WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSED') AND deadline <= ${now}
            RETURNING id, status, callback_url`.values
          yield* Callbacks.record(env, Callbacks.owing(rows, 2), now)
          return rows
        })
      )
    ).pipe(
      Effect.flatMap((rows) => {
        const changes = rows.map(statusChange)
        return Effect.as(env.signals.publish(Signals.changed(changes)), changes)
      })
    )
  }
