/**
 * The user's reads: a job, a page of jobs, counts by type and status, a result. None locks anything: under MVCC a
 * read sees one snapshot and never waits for a worker's write.
 */
import type { Job } from "@jobloom/core"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Filter from "./filter.js"
import type { Row } from "./rows.js"
import { toJobRow, toResultRow } from "./rows.js"
import type { Shared } from "./shared.js"

/**
 * The SQL of each sort key, and the type its cursor value is cast to. The default, `createdAt`, is read in order off
 * the `jobs_created` index (created_at, id), so `LIMIT` stops early; the others sort the filtered rows.
 */
const sortColumns: Record<JobStore.SortKey, { readonly expr: string; readonly cast: string }> = {
  createdAt: { expr: "created_at", cast: "int8" },
  updatedAt: { expr: "updated_at", cast: "int8" },
  // null times sort as -1 (the port's rule), so they come last in desc and first in asc
  startedAt: { expr: "COALESCE(started_at, -1)", cast: "int8" },
  finishedAt: { expr: "COALESCE(finished_at, -1)", cast: "int8" },
  priority: { expr: "priority", cast: "int4" },
  // binary order, never the locale's, so every store agrees
  name: { expr: `name COLLATE "C"`, cast: "text" }
}

/** The read statements of one store. */
export const make = ({ dependencies, jobs, results, sql }: Shared) => {
  const get = (options: { readonly id: string }) =>
    Effect.map(sql<Row>`SELECT * FROM ${jobs} WHERE id = ${options.id}`, (rows) =>
      Option.map(Option.fromNullable(rows[0]), toJobRow)
    )

  /**
   * A keyset page: rows after the cursor's (sort value, id), one more than the limit to know whether a next page
   * exists. The total, when asked for, is a second count under the same filter without the cursor.
   */
  const list = (options: JobStore.ListOptions) =>
    Effect.gen(function* () {
      const { cast, expr } = sortColumns[options.sort]
      const sortExpr = sql.literal(expr)
      const direction = sql.literal(options.order === "asc" ? "ASC" : "DESC")
      const clauses = Filter.clauses(sql, options.filter, { jobs, dependencies })
      const page = [...clauses]
      if (options.cursor !== null) {
        const value = sql`${options.cursor.value}::${sql.literal(cast)}`
        page.push(
          options.order === "asc"
            ? sql`(${sortExpr}, id) > (${value}, ${options.cursor.id}::text)`
            : sql`(${sortExpr}, id) < (${value}, ${options.cursor.id}::text)`
        )
      }
      const limit = Math.max(0, options.limit)
      const rows = yield* sql<Row>`SELECT * FROM ${jobs} WHERE ${sql.and(page)}
        ORDER BY ${sortExpr} ${direction}, id ${direction} LIMIT ${limit + 1}`
      const total = options.withTotal
        ? Number((yield* sql<Row>`SELECT count(*) AS n FROM ${jobs} WHERE ${sql.and(clauses)}`)[0].n)
        : null
      const pageRows = rows.slice(0, limit).map(toJobRow)
      const last = pageRows[pageRows.length - 1]
      return {
        rows: pageRows,
        nextCursor:
          rows.length > limit && last !== undefined
            ? { value: JobStore.sortValue(last, options.sort), id: last.id }
            : null,
        total
      }
    })

  const stats = (options: { readonly filter: JobStore.JobFilter }) =>
    Effect.map(
      sql<Row>`SELECT type, status, count(*) AS n FROM ${jobs} WHERE ${Filter.where(sql, options.filter, { jobs, dependencies })}
        GROUP BY type, status`,
      (rows): ReadonlyArray<JobStore.StatsRow> =>
        rows.map((r) => ({ type: r.type as string, status: r.status as Job.JobStatus, count: Number(r.n) }))
    )

  const getResult = (options: { readonly resultId: string }) =>
    Effect.map(sql<Row>`SELECT * FROM ${results} WHERE id = ${options.resultId}`, (rows) =>
      Option.map(Option.fromNullable(rows[0]), toResultRow)
    )

  return { get, list, stats, getResult }
}
