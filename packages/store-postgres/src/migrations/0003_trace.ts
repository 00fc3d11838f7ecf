/**
 * Migration 3 (the same number as the SQLite store's): the trace context of the span that created each job, so an
 * attempt's span can join the creator's trace from any process. Forward-only, like every migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names: the nullable `trace_context` column (a W3C `traceparent`). */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Nullable without a default: a catalog-only change (no table rewrite, a brief lock), and jobs created before it
    // read null. No index: it is only ever read with its row.
    yield* sql`ALTER TABLE ${sql(names.jobs)} ADD COLUMN trace_context text`
  })
