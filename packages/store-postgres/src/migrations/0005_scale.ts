/**
 * Migration 5: reads that stay fast as the finished history grows (bench/src/scale.ts; figures in bench/RESULTS.md).
 *
 * `jobs_active`: the jobs not yet finished, in the list's default order. With a million finished jobs, a page or count
 * of active jobs (`status=active`, `status=QUEUED,RUNNING`, the dashboard's running rows) was a parallel scan of the
 * whole table; the partial index holds only the unfinished rows, so its size follows the work in flight, not the
 * history. A row enters it at insert and at claim (both rewrite an unfinished row) and never after its settle, which
 * leaves the row terminal: the same two entries per job as the claim's own partial indexes, which stay as they are.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE INDEX ${sql(names.index("jobs_active"))} ON ${sql(names.jobs)} (created_at, id)
      WHERE status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  })
