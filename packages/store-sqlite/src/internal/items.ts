/**
 * The SQLite store's item operations (`ItemStore`). Items travel as one JSON parameter read with `json_each`, so a
 * write of thousands of items is one statement of one cached text, whatever their number.
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { int, intOrNull, text, textOrNull } from "./rows.js"

type ItemRow = JobStore.ItemRow

const itemColumns = "job_id, key, position, status, input, output, error, started_at, finished_at, updated_at"

const toTuple = (row: ItemRow): ReadonlyArray<unknown> => [
  row.jobId,
  row.key,
  row.position,
  row.status,
  row.input,
  row.output,
  row.error,
  row.startedAt,
  row.finishedAt,
  row.updatedAt
]

const fromValues = (v: ReadonlyArray<unknown>): ItemRow => ({
  jobId: text(v[0]),
  key: text(v[1]),
  position: int(v[2]),
  status: text(v[3]) as ItemRow["status"],
  input: textOrNull(v[4]),
  output: textOrNull(v[5]),
  error: textOrNull(v[6]),
  startedAt: intOrNull(v[7]),
  finishedAt: intOrNull(v[8]),
  updatedAt: int(v[9])
})

/** Builds the item operations, and the upsert the store's insert uses inside its own transaction. */
export const make = ({ items, jobs, run, sql, writeTransaction }: Env) => {
  const columns = sql.literal(itemColumns)

  /** Upserts rows by (job_id, key), in the caller's transaction. */
  const upsert = (rows: ReadonlyArray<ItemRow>): Effect.Effect<void, SqlError> =>
    rows.length === 0
      ? Effect.void
      : Effect.asVoid(sql`INSERT INTO ${items} (${columns})
          SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
            json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),
            json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'),
            json_extract(value, '$[9]')
          FROM json_each(${JSON.stringify(rows.map(toTuple))}) WHERE true
          ON CONFLICT (job_id, key) DO UPDATE SET position = excluded.position, status = excluded.status,
            input = excluded.input, output = excluded.output, error = excluded.error,
            started_at = excluded.started_at, finished_at = excluded.finished_at, updated_at = excluded.updated_at`)

  const port: JobStore.ItemStore = {
    putItems: ({ from, items: rows, jobId }) =>
      from.length === 0
        ? Effect.succeed(false)
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const found = yield* sql`SELECT 1 FROM ${jobs} WHERE id = ${jobId} AND status IN ${sql.in(from)}`.values
                if (found.length === 0) return false
                yield* upsert(rows.filter((row) => row.jobId === jobId))
                return true
              })
            )
          ),
    saveItems: ({ items: rows, leases, workerId }) => {
      if (rows.length === 0 || leases.length === 0) return Effect.void
      const ids = new Set(rows.map((row) => row.jobId))
      const claims = leases.filter((lease) => ids.has(lease.id)).map((lease) => [lease.id, lease.token])
      return run(
        writeTransaction(
          Effect.gen(function* () {
            // a job is held by the claim whose token it carries, not by the worker id alone
            const held = yield* sql`SELECT j.id FROM ${jobs} j
              JOIN json_each(${JSON.stringify(claims)}) l
                ON j.id = json_extract(l.value, '$[0]') AND j.lease_token = json_extract(l.value, '$[1]')
              WHERE j.lease_owner = ${workerId} AND j.status IN ('RUNNING', 'PAUSING', 'CANCELLING')`.values
            const mine = new Set(held.map((v) => text(v[0])))
            yield* upsert(mine.size === ids.size ? rows : rows.filter((row) => mine.has(row.jobId)))
          })
        )
      )
    },
    listItems: ({ cursor, jobId, limit, statuses }) => {
      const n = Math.max(0, Math.floor(limit))
      const status =
        statuses === undefined
          ? sql.literal("1 = 1")
          : statuses.length === 0
            ? sql.literal("0 = 1")
            : sql`status IN ${sql.in(statuses)}`
      const after =
        cursor === null
          ? sql.literal("1 = 1")
          : sql`(position > ${cursor.position} OR (position = ${cursor.position} AND key > ${cursor.key}))`
      return run(
        sql`SELECT ${columns} FROM ${items} WHERE job_id = ${jobId} AND ${status} AND ${after}
          ORDER BY position, key LIMIT ${n + 1} + 0`.values
      ).pipe(
        Effect.map((found) => {
          const rows = found.slice(0, n).map(fromValues)
          const last = rows[rows.length - 1]
          return {
            rows,
            nextCursor: found.length > n && last !== undefined ? { position: last.position, key: last.key } : null
          }
        })
      )
    },
    countItems: ({ jobId }) =>
      run(sql`SELECT status, count(*) FROM ${items} WHERE job_id = ${jobId} GROUP BY status`.values).pipe(
        Effect.map((rows) => Object.fromEntries(rows.map((v) => [text(v[0]), int(v[1])])))
      ),
    resetItems: ({ from, jobId, now, statuses }) =>
      from.length === 0 || statuses.length === 0
        ? Effect.succeed(0)
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const found = yield* sql`SELECT 1 FROM ${jobs} WHERE id = ${jobId} AND status IN ${sql.in(from)}`.values
                if (found.length === 0) return 0
                const changed = yield* sql`UPDATE ${items} SET status = 'PENDING', output = NULL, error = NULL,
                  started_at = NULL, finished_at = NULL, updated_at = ${now}
                  WHERE job_id = ${jobId} AND status IN ${sql.in(statuses)} RETURNING 1`.values
                return changed.length
              })
            )
          )
  }

  return { port, upsert }
}
