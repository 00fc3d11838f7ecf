/**
 * Runs the store's migrations with `@effect/sql`'s Migrator, into `<prefix>migrations` of the store's schema.
 *
 * The Migrator locks its table for the run, but creates that table (and we create the schema) before any lock, and
 * two processes starting at once would race there. So the whole run happens in one transaction that first takes an
 * advisory lock of its own; the schema and the migrations table are created under it, and the Migrator's own
 * transaction becomes a savepoint inside ours. A second process waits, then finds nothing left to do.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Init from "../migrations/0001_init.js"
import * as Items from "../migrations/0002_items.js"
import * as Trace from "../migrations/0003_trace.js"
import * as Schedules from "../migrations/0004_schedules.js"
import * as Scale from "../migrations/0005_scale.js"
import * as TraceInsert from "../migrations/0006_trace_insert.js"
import * as Dependencies from "../migrations/0007_dependencies.js"
import * as Pause from "../migrations/0008_pause.js"
import * as ScaleCounts from "../migrations/0009_scale.js"
import * as Drain from "../migrations/0010_drain.js"
import * as InsertCompact from "../migrations/0011_insert_compact.js"
import type { Names } from "./names.js"

/** The migrations, by the same numbers as the SQLite store's (also read by the readiness check, `check.ts`). */
export const migrations = (names: Names) => ({
  "0001_init": Init.make(names),
  "0002_items": Items.make(names),
  "0003_trace": Trace.make(names),
  "0004_schedules": Schedules.make(names),
  "0005_scale": Scale.make(names),
  "0006_trace_insert": TraceInsert.make(names),
  // 0007 redefines insert and writes trace_context too
  "0007_dependencies": Dependencies.make(names),
  "0008_pause": Pause.make(names),
  "0009_scale": ScaleCounts.make(names),
  "0010_drain": Drain.make(names),
  "0011_insert_compact": InsertCompact.make(names)
})

/** Brings the store's schema up to date; safe when many processes start at once. */
export const run = (names: Names) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext(${names.lockKey("migrate", "")}))`
        yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(names.schema)}`
        // the Migrator's own table, created here under our lock (same shape as the one it would create)
        yield* sql`CREATE TABLE IF NOT EXISTS ${sql(names.migrations)} (
          migration_id integer PRIMARY KEY,
          created_at timestamp with time zone NOT NULL DEFAULT now(),
          name text NOT NULL
        )`
        yield* Migrator.make({})({
          loader: Migrator.fromRecord(migrations(names)),
          table: names.migrations
        }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
      })
    )
  }).pipe(
    Effect.catchTag("MigrationError", (error) => Effect.fail(migrationFailed(error))),
    // the Migrator turns a failing migration into a defect
    Effect.catchSomeDefect((defect) =>
      defect instanceof Migrator.MigrationError ? Option.some(Effect.fail(migrationFailed(defect))) : Option.none()
    )
  )

const migrationFailed = (error: Migrator.MigrationError) =>
  new JobStore.JobStoreError({
    reason: "Unknown",
    message: `migration failed: ${error.message}${error.cause === undefined ? "" : `: ${String(error.cause)}`}`,
    cause: error
  })
