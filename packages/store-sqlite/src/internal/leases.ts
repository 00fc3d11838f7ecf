/**
 * The worker's writes while it holds jobs: lease renewals (heartbeats), status polls (to hear of cancels from other
 * processes) and progress. Each is one statement per batch of up to `maxBatch` jobs, padded to a power of two so a
 * handful of prepared statements serve every batch size; each write is guarded by the claim's token and owner.
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { chunksOf, maxBatch, statusChange, valuesList } from "./rows.js"

/** `JobStore.heartbeat`: extends the leases still held; returns their statuses (a CANCELLING one is a cancel). */
export const heartbeat =
  ({ jobs, run, sql, writeTransaction }: Env): JobStore.JobStore.Service["heartbeat"] =>
  (options) => {
    const leases = Array.from(new Map(options.leases.map((l) => [l.id, l.token])))
    if (leases.length === 0) return Effect.succeed([])
    const write = (chunk: ReadonlyArray<readonly [string, string]>) =>
      // `+status`: the status index must not lure the planner away from the primary key
      sql`UPDATE ${jobs} SET lease_expires_at = ${options.now + options.leaseMs}
        FROM (SELECT column1 AS id, column2 AS token FROM (${valuesList(chunk, 2, { pad: true })})) AS l
        WHERE ${jobs}.id = l.id AND lease_token = l.token AND lease_owner = ${options.workerId}
          AND +status IN ('RUNNING', 'CANCELLING')
        RETURNING ${jobs}.id, status`.values
    const chunks = chunksOf(leases, maxBatch)
    // one statement is atomic on its own; only several need a transaction around them
    const all =
      chunks.length === 1
        ? write(chunks[0]!)
        : writeTransaction(Effect.map(Effect.forEach(chunks, write), (parts) => parts.flat()))
    return run(all).pipe(Effect.map((rows) => rows.map(statusChange)))
  }

/** `JobStore.statuses`: the statuses of jobs by id, as one JSON parameter (one statement text for any number). */
export const statuses =
  ({ inList, jobs, run, sql }: Env): JobStore.JobStore.Service["statuses"] =>
  ({ ids }) =>
    ids.length === 0
      ? Effect.succeed([])
      : run(sql`SELECT id, status FROM ${jobs} WHERE id IN ${inList(Array.from(new Set(ids)))}`.values).pipe(
          Effect.map((rows) => rows.map(statusChange))
        )

/** `JobStore.saveProgress`: the latest progress of each job still held by the claim that reports it. */
export const saveProgress =
  ({ jobs, run, sql, writeTransaction }: Env): JobStore.JobStore.Service["saveProgress"] =>
  (options) => {
    // the last update of a job wins, as if applied in order
    const latest = Array.from(
      new Map(options.updates.map((u) => [u.id, [u.id, u.token, u.progress] as const])).values()
    )
    if (latest.length === 0) return Effect.void
    // `+status`, as in the heartbeat: looked up by primary key only
    const write = (chunk: ReadonlyArray<readonly [string, string, string]>): Effect.Effect<void, SqlError> =>
      Effect.asVoid(sql`UPDATE ${jobs} SET progress = s.progress, updated_at = ${options.now}
        FROM (
          SELECT column1 AS id, column2 AS token, column3 AS progress FROM (${valuesList(chunk, 3, { pad: true })})
        ) AS s
        WHERE ${jobs}.id = s.id AND lease_token = s.token AND lease_owner = ${options.workerId}
          AND +status IN ('RUNNING', 'CANCELLING')`)
    const chunks = chunksOf(latest, maxBatch)
    return run(chunks.length === 1 ? write(chunks[0]!) : writeTransaction(Effect.forEach(chunks, write)))
  }
