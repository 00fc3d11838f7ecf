/**
 * Log lines: appended in batches (alone, or with the settlements of their claims), trimmed to a cap per job, read
 * newest first.
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { chunksOf, flatValuesList, int, maxBatch, text } from "./rows.js"

/**
 * Appends log lines of existing jobs (a line with a token only while that claim holds the job), then trims each
 * touched job to `cap` lines; inside the caller's transaction. `settled`: jobs just settled in this transaction,
 * with the token of their settlement; their lines without a token or with that token are written without
 * looking the job up.
 */
export const appendLines = (
  { jobs, logs, sql }: Env,
  entries: ReadonlyArray<JobStore.NewLog>,
  cap: number,
  settled?: ReadonlyMap<string, string>
) =>
  Effect.gen(function* () {
    const jobIds = new Set<string>()
    const known: Array<unknown> = []
    const unknown: Array<unknown> = []
    for (const e of entries) {
      jobIds.add(e.jobId)
      const token = settled?.get(e.jobId)
      if (token !== undefined && (e.token === undefined || e.token === token)) {
        known.push(e.jobId, e.at, e.level, e.message)
      } else {
        unknown.push(e.jobId, e.at, e.level, e.message, e.token ?? null)
      }
    }
    for (const chunk of chunksOf(known, maxBatch * 4)) {
      // the padding rows are dropped by the IS NOT NULL
      yield* sql`INSERT INTO ${logs} (job_id, at, level, message)
        SELECT e.column1, e.column2, e.column3, e.column4 FROM (${flatValuesList(chunk, 4, { pad: true })}) AS e
        WHERE e.column1 IS NOT NULL`
    }
    for (const chunk of chunksOf(unknown, maxBatch * 5)) {
      // lines of missing jobs, late lines of claims that no longer hold their job (and the padding rows) are
      // dropped here, rather than failing the batch
      yield* sql`INSERT INTO ${logs} (job_id, at, level, message)
        SELECT e.column1, e.column2, e.column3, e.column4 FROM (${flatValuesList(chunk, 5, { pad: true })}) AS e
        WHERE EXISTS (SELECT 1 FROM ${jobs} WHERE id = e.column1 AND (e.column5 IS NULL OR
          (lease_token = e.column5 AND status IN ('RUNNING', 'PAUSING', 'CANCELLING'))))`
    }
    // A job is over its cap when it has a (cap+1)-th newest line, found by walking the (job_id, id) index from
    // the newest end: a job with few lines costs a few steps. Almost never is one over, so the jobs are probed
    // first and the delete runs only for those that are; everything at or below that line goes.
    const offset = Math.max(0, Math.floor(cap))
    const over = yield* sql`SELECT j.value FROM json_each(${JSON.stringify(Array.from(jobIds))}) AS j
      WHERE EXISTS (SELECT 1 FROM ${logs} WHERE job_id = j.value ORDER BY id DESC LIMIT 1 OFFSET ${offset})`.values
    if (over.length === 0) return
    yield* sql`DELETE FROM ${logs} WHERE id IN (
      SELECT l.id FROM (
        SELECT j.value AS job_id, (
          SELECT id FROM ${logs} WHERE job_id = j.value ORDER BY id DESC LIMIT 1 OFFSET ${offset}
        ) AS cutoff
        FROM json_each(${JSON.stringify(over.map((row) => row[0]))}) AS j
      ) AS c
      JOIN ${logs} AS l ON l.job_id = c.job_id AND l.id <= c.cutoff
    )`
  })

/** `JobStore.appendLogs`: one write transaction for the batch. */
export const appendLogs =
  (env: Env): JobStore.JobStore.Service["appendLogs"] =>
  ({ cap, entries }) =>
    entries.length === 0 ? Effect.void : env.run(env.writeTransaction(appendLines(env, entries, cap)))

/** `JobStore.logs`: a job's lines newest first, by id (the insertion order), one page past the cursor. */
export const page =
  ({ logs, run, sql }: Env): JobStore.JobStore.Service["logs"] =>
  ({ cursor, jobId, limit }) => {
    // log ids are integers; a cursor that is not one cannot come from this store, so nothing follows it
    if (cursor !== null && !/^\d{1,15}$/.test(cursor)) return Effect.succeed({ rows: [], nextCursor: null })
    const n = Math.max(0, Math.floor(limit))
    const older = cursor === null ? sql.literal("1 = 1") : sql`id < ${Number(cursor)}`
    // one row more than the page tells whether another page follows
    return run(
      sql`SELECT id, job_id, at, level, message FROM ${logs} WHERE job_id = ${jobId} AND ${older}
        ORDER BY id DESC LIMIT ${n + 1} + 0`.values
    ).pipe(
      Effect.map((found) => {
        const rows = found.slice(0, n).map((row): JobStore.LogRow => ({
          id: text(row[0]),
          jobId: text(row[1]),
          at: int(row[2]),
          level: text(row[3]) as Job.LogLevel,
          message: text(row[4])
        }))
        const last = rows[rows.length - 1]
        return { rows, nextCursor: found.length > rows.length && last !== undefined ? last.id : null }
      })
    )
  }
