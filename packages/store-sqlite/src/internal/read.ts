/**
 * Reads of jobs and results: one job by id, a filtered page in any sort order, counts by type and status, a result.
 * Reads take no transaction: in WAL mode each statement reads one consistent snapshot and never blocks a writer.
 */
import { type Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Env } from "./env.js"
import { where } from "./filter.js"
import { fromValues, int, sortExpressions, text } from "./rows.js"

/** `JobStore.get`: by primary key. */
export const get =
  ({ columns, jobs, run, sql }: Env): JobStore.JobStore.Service["get"] =>
  ({ id }) =>
    run(sql`SELECT ${columns} FROM ${jobs} WHERE id = ${id}`.values).pipe(
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), fromValues))
    )

/**
 * `JobStore.list`: keyset pagination on (sort expression, id), so a page costs the same at any depth and rows
 * written meanwhile never shift a page; the total, when asked for, is a second count over the same filter.
 */
export const list =
  (env: Env): JobStore.JobStore.Service["list"] =>
  (options) => {
    const { columns, jobs, run, sql } = env
    return run(
      Effect.gen(function* () {
        const expression = sql.literal(sortExpressions[options.sort])
        const desc = options.order === "desc"
        const filter = where(env, options.filter)
        const limit = Math.max(0, Math.floor(options.limit))
        const cursor = options.cursor
        const after =
          cursor === null
            ? sql.literal("1 = 1")
            : desc
              ? sql`(${expression}, id) < (${cursor.value}, ${cursor.id})`
              : sql`(${expression}, id) > (${cursor.value}, ${cursor.id})`
        const order = sql.literal(desc ? "DESC" : "ASC")
        // one row more than the page tells whether another page follows
        const rows = (yield* sql`SELECT ${columns} FROM ${jobs} WHERE ${filter} AND ${after}
          ORDER BY ${expression} ${order}, id ${order} LIMIT ${limit + 1} + 0`.values).map(fromValues)
        const page = rows.slice(0, limit)
        const last = page[page.length - 1]
        const total = !options.withTotal
          ? null
          : countable(options.filter)
            ? int(
                (yield* sql<{ n: unknown }>`SELECT coalesce(sum(n), 0) AS n FROM ${counts(env)} WHERE ${filter}`)[0]?.n
              )
            : int((yield* sql<{ n: unknown }>`SELECT count(*) AS n FROM ${jobs} WHERE ${filter}`)[0]?.n)
        return {
          rows: page,
          nextCursor:
            rows.length > page.length && last !== undefined
              ? { value: JobStore.sortValue(last, options.sort), id: last.id }
              : null,
          total
        }
      })
    )
  }

/** The filter fields the counters of migration 7 have columns for. */
const counted: ReadonlySet<string> = new Set(["types", "queues", "statuses"])

/**
 * Whether the counters answer this filter: it names nothing but types, queues and statuses (any other field,
 * including ones added later, needs the rows themselves).
 */
const countable = (filter: JobStore.JobFilter): boolean =>
  Object.entries(filter).every(([key, value]) => value === undefined || counted.has(key))

/** The counters table: its type, queue and status columns take the same WHERE as the jobs. */
const counts = (env: Env) => env.sql(env.tables.counts)

/**
 * `JobStore.stats`: off the counters when the filter allows (the triggers of migration 7 keep them in every write's
 * transaction), else grouped status first, so the status index (which carries type) answers it without reading a row.
 */
export const stats =
  (env: Env): JobStore.JobStore.Service["stats"] =>
  ({ filter }) =>
    env
      .run(
        countable(filter)
          ? env.sql`SELECT type, status, sum(n) FROM ${counts(env)} WHERE ${where(env, filter)}
              GROUP BY type, status HAVING sum(n) <> 0`.values
          : env.sql`SELECT type, status, count(*) FROM ${env.jobs} WHERE ${where(env, filter)}
              GROUP BY status, type`.values
      )
      .pipe(
        Effect.map((rows) =>
          rows.map((row) => ({ type: text(row[0]), status: text(row[1]) as Job.JobStatus, count: int(row[2]) }))
        )
      )

/** `JobStore.getResult`: by primary key. */
export const getResult =
  ({ results, run, sql }: Env): JobStore.JobStore.Service["getResult"] =>
  ({ resultId }) =>
    run(sql`SELECT id, job_id, value, created_at FROM ${results} WHERE id = ${resultId}`.values).pipe(
      Effect.map((rows) =>
        Option.map(Option.fromNullable(rows[0]), (row): JobStore.ResultRow => ({
          id: text(row[0]),
          jobId: text(row[1]),
          value: text(row[2]),
          createdAt: int(row[3])
        }))
      )
    )
