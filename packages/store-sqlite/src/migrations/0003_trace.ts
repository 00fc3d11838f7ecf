/**
 * Migration 3 (the same number as the Postgres store's): the trace context of the span that created each job, so an
 * attempt's span can join the creator's trace from any process. Forward-only, like every migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Adds the nullable `trace_context` column (a W3C `traceparent`) to the jobs table. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    // Nullable without a default: SQLite adds it without rewriting the table, and jobs created before it read null.
    // No index: it is only ever read with its row.
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN trace_context TEXT`
  })
