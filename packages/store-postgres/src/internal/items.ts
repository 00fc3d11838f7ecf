/**
 * The Postgres store's item operations (`ItemStore`). Items travel as one JSON parameter read with
 * `json_to_recordset`, so a write of thousands of items is one statement; they go with their job by the foreign key's
 * `ON DELETE CASCADE` (migration 2).
 */
import type * as SqlError from "@effect/sql/SqlError"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"

type ItemRow = JobStore.ItemRow

const recordset = `r(job_id text, key text, position int4, status text, input text, output text, error text,
  started_at int8, finished_at int8, updated_at int8)`

const toJson = (row: ItemRow) => ({
  job_id: row.jobId,
  key: row.key,
  position: row.position,
  status: row.status,
  input: row.input,
  output: row.output,
  error: row.error,
  started_at: row.startedAt,
  finished_at: row.finishedAt,
  updated_at: row.updatedAt
})

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))

const toItemRow = (row: Row): ItemRow => ({
  jobId: row.job_id as string,
  key: row.key as string,
  position: Number(row.position),
  status: row.status as ItemRow["status"],
  input: (row.input as string | null) ?? null,
  output: (row.output as string | null) ?? null,
  error: (row.error as string | null) ?? null,
  startedAt: numberOrNull(row.started_at),
  finishedAt: numberOrNull(row.finished_at),
  updatedAt: Number(row.updated_at)
})

/** The last row of each (job, key) wins, as if the rows were written in order (one upsert may touch a row once). */
const lastOfEach = (rows: ReadonlyArray<ItemRow>): ReadonlyArray<ItemRow> => {
  const byKey = new Map<string, ItemRow>()
  for (const row of rows) byKey.set(`${row.jobId}\u0000${row.key}`, row)
  return byKey.size === rows.length ? rows : Array.from(byKey.values())
}

/** Builds the item operations (with `SqlError` unmapped) and the upsert the store's insert uses. */
export const make = ({ names, notHeld, sql, workerWrite }: Shared) => {
  const items = sql(names.items)
  const jobs = sql(names.jobs)
  const set = sql.literal(`position = excluded.position, status = excluded.status, input = excluded.input,
    output = excluded.output, error = excluded.error, started_at = excluded.started_at,
    finished_at = excluded.finished_at, updated_at = excluded.updated_at`)
  const columns = sql.literal(
    "job_id, key, position, status, input, output, error, started_at, finished_at, updated_at"
  )
  const from = (rows: ReadonlyArray<ItemRow>) =>
    sql`json_to_recordset(${JSON.stringify(lastOfEach(rows).map(toJson))}::json) AS ${sql.literal(recordset)}`

  /** Upserts rows of jobs known to exist, in the caller's transaction. */
  const upsert = (rows: ReadonlyArray<ItemRow>): Effect.Effect<void, SqlError.SqlError> =>
    rows.length === 0
      ? Effect.void
      : Effect.asVoid(sql`INSERT INTO ${items} (${columns}) SELECT ${columns} FROM ${from(rows)}
          ON CONFLICT (job_id, key) DO UPDATE SET ${set}`)

  // the job's status is compared under its row lock, so an action or a delete of the job running at the same time
  // commits first and the guard sees what it left (a compare-and-set, as every status-guarded write here)
  const putItems = (options: Parameters<JobStore.ItemStore["putItems"]>[0]) =>
    Effect.map(
      sql<Row>`WITH job AS (
          SELECT id FROM ${jobs} WHERE id = ${options.jobId} AND status = ANY(${options.from}::text[]) FOR UPDATE
        ), written AS (
          INSERT INTO ${items} (${columns})
          SELECT ${columns} FROM ${from(options.items.filter((row) => row.jobId === options.jobId))}
          WHERE EXISTS (SELECT 1 FROM job)
          ON CONFLICT (job_id, key) DO UPDATE SET ${set}
        )
        SELECT count(*) AS n FROM job`,
      (rows) => Number(rows[0].n) > 0
    )

  const saveItems = (options: Parameters<JobStore.ItemStore["saveItems"]>[0]) =>
    options.items.length === 0 || options.leases.length === 0
      ? Effect.void
      : workerWrite(
          (mode) => sql`WITH commit_mode AS (${mode}), l AS (
              SELECT DISTINCT ON (id) id, token FROM json_to_recordset(${JSON.stringify(options.leases)}::json)
                AS l(id text, token text)
            )
            INSERT INTO ${items} (${columns})
            SELECT ${sql.literal("r.job_id, r.key, r.position, r.status, r.input, r.output, r.error, r.started_at, r.finished_at, r.updated_at")}
            FROM ${from(options.items)} JOIN ${jobs} j ON j.id = r.job_id JOIN l ON l.id = j.id, commit_mode
            WHERE j.lease_token = l.token AND j.lease_owner = ${options.workerId}::text
              AND j.status NOT IN ${notHeld}
            ON CONFLICT (job_id, key) DO UPDATE SET ${set}`
        ).pipe(Effect.asVoid)

  const listItems = (options: Parameters<JobStore.ItemStore["listItems"]>[0]) => {
    const n = Math.max(0, Math.floor(options.limit))
    const status = options.statuses === undefined ? sql.literal("true") : sql`status = ANY(${options.statuses}::text[])`
    const cursor = options.cursor
    const after =
      cursor === null
        ? sql.literal("true")
        : sql`(position, key COLLATE "C") > (${cursor.position}::int4, ${cursor.key}::text COLLATE "C")`
    return Effect.map(
      sql<Row>`SELECT ${columns} FROM ${items} WHERE job_id = ${options.jobId} AND ${status} AND ${after}
        ORDER BY position, key COLLATE "C" LIMIT ${n + 1}`,
      (found) => {
        const rows = found.slice(0, n).map(toItemRow)
        const last = rows[rows.length - 1]
        return {
          rows,
          nextCursor: found.length > n && last !== undefined ? { position: last.position, key: last.key } : null
        }
      }
    )
  }

  const countItems = (options: Parameters<JobStore.ItemStore["countItems"]>[0]) =>
    Effect.map(
      sql<Row>`SELECT status, count(*) AS n FROM ${items} WHERE job_id = ${options.jobId} GROUP BY status`,
      (rows) => Object.fromEntries(rows.map((row) => [row.status as string, Number(row.n)]))
    )

  const resetItems = (options: Parameters<JobStore.ItemStore["resetItems"]>[0]) =>
    Effect.map(
      sql<Row>`WITH job AS (
          SELECT id FROM ${jobs} WHERE id = ${options.jobId} AND status = ANY(${options.from}::text[])
        ), changed AS (
          UPDATE ${items} SET status = 'PENDING', output = NULL, error = NULL, started_at = NULL, finished_at = NULL,
            updated_at = ${options.now}::int8
          WHERE job_id IN (SELECT id FROM job) AND status = ANY(${options.statuses}::text[])
          RETURNING 1
        )
        SELECT count(*) AS n FROM changed`,
      (rows) => Number(rows[0].n)
    )

  return { upsert, putItems, saveItems, listItems, countItems, resetItems }
}

/** The item statements of one store. */
export type Items = ReturnType<typeof make>
