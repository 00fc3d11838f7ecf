/**
 * The user's reads: a job, a page of jobs, counts by type and status, a result. None locks anything: under MVCC a
 * read sees one snapshot and never waits for a worker's write.
 */
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Counts from "./counts.js"
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
export const make = (shared: Shared) => {
  const { dependencies, jobs, results, sql } = shared
  const tables = { jobs, dependencies }
  const counts = Counts.make(shared)
  const get = (options: { readonly id: string }) =>
    Effect.map(sql<Row>`SELECT * FROM ${jobs} WHERE id = ${options.id}`, (rows) =>
      Option.map(Option.fromNullable(rows[0]), toJobRow)
    )

  /**
   * A keyset page: rows after the cursor's (sort value, id), one more than the limit to know whether a next page
   * exists. The total, when asked for, comes from the counters when the filter names only types, queues and
   * statuses (`Counts.countable`), else from a count under the same filter without the cursor.
   */
  const list = (options: JobStore.ListOptions) =>
    Effect.gen(function* () {
      const limit = Math.max(0, options.limit)
      const rows = yield* options.sort === "finishedAt" ? byFinished(options, limit) : page(options, limit)
      const total = options.withTotal
        ? Counts.countable(options.filter)
          ? yield* counts.total(options.filter)
          : Number(
              (yield* sql<Row>`SELECT count(*) AS n FROM ${jobs} WHERE ${Filter.where(sql, options.filter, tables)}`)[0]
                .n
            )
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

  /** Up to `limit + 1` rows of a page in one sort order (any but finishedAt, see {@link byFinished}). */
  const page = (options: JobStore.ListOptions, limit: number) => {
    const { cast, expr } = sortColumns[options.sort]
    const sortExpr = sql.literal(expr)
    const direction = sql.literal(options.order === "asc" ? "ASC" : "DESC")
    const clauses = Filter.clauses(sql, options.filter, tables)
    if (options.cursor !== null) {
      const value = sql`${options.cursor.value}::${sql.literal(cast)}`
      clauses.push(
        options.order === "asc"
          ? sql`(${sortExpr}, id) > (${value}, ${options.cursor.id}::text)`
          : sql`(${sortExpr}, id) < (${value}, ${options.cursor.id}::text)`
      )
    }
    return sql<Row>`SELECT * FROM ${jobs} WHERE ${sql.and(clauses)}
      ORDER BY ${sortExpr} ${direction}, id ${direction} LIMIT ${limit + 1}`
  }

  /**
   * Up to `limit + 1` rows in `COALESCE(finished_at, -1)` order, which no index holds: read as its two parts, the
   * finished rows off `jobs_finished (finished_at, id)` and the unfinished ones (all -1, so by id) off
   * `jobs_unfinished (id)`, each stopping at the page's size, then merged. The cursor says which part it is in:
   * -1 in the unfinished one (times are epoch milliseconds, never negative). One statement: one snapshot.
   */
  const byFinished = (options: JobStore.ListOptions, limit: number) => {
    const asc = options.order === "asc"
    const direction = sql.literal(asc ? "ASC" : "DESC")
    const finished = Filter.clauses(sql, options.filter, tables)
    finished.push(sql`finished_at IS NOT NULL`)
    const unfinished = Filter.clauses(sql, options.filter, tables)
    unfinished.push(sql`finished_at IS NULL`)
    const cursor = options.cursor
    if (cursor !== null) {
      const value = Number(cursor.value)
      const id = sql`${cursor.id}::text`
      if (value < 0) {
        // in the unfinished part: further in it by id; the finished part comes after it only in ascending order
        unfinished.push(asc ? sql`id > ${id}` : sql`id < ${id}`)
        if (!asc) finished.push(sql`false`)
      } else {
        finished.push(
          asc ? sql`(finished_at, id) > (${value}::int8, ${id})` : sql`(finished_at, id) < (${value}::int8, ${id})`
        )
        if (asc) unfinished.push(sql`false`)
      }
    }
    return sql<Row>`SELECT * FROM (
        (SELECT * FROM ${jobs} WHERE ${sql.and(finished)} ORDER BY finished_at ${direction}, id ${direction}
          LIMIT ${limit + 1})
        UNION ALL
        (SELECT * FROM ${jobs} WHERE ${sql.and(unfinished)} ORDER BY id ${direction} LIMIT ${limit + 1})
      ) j ORDER BY COALESCE(finished_at, -1) ${direction}, id ${direction} LIMIT ${limit + 1}`
  }

  /** Counts by type and status: off the counters when the filter allows (see `Counts.countable`), else counted. */
  const stats = (options: { readonly filter: JobStore.JobFilter }) =>
    Counts.countable(options.filter)
      ? counts.stats(options.filter)
      : Effect.map(
          sql<Row>`SELECT type, status, count(*) AS n FROM ${jobs} WHERE ${Filter.where(sql, options.filter, tables)}
            GROUP BY type, status`,
          Counts.toStats
        )

  const getResult = (options: { readonly resultId: string }) =>
    Effect.map(sql<Row>`SELECT * FROM ${results} WHERE id = ${options.resultId}`, (rows) =>
      Option.map(Option.fromNullable(rows[0]), toResultRow)
    )

  return { get, list, stats, getResult }
}
