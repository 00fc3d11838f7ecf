/**
 * Runs jobloom's numbered migrations with `@effect/sql`'s Migrator, recorded in jobloom's own prefixed migrations
 * table. The numbers are shared with the Postgres store.
 */
import * as Migrator from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Effect from "effect/Effect"
import init from "../migrations/0001_init.js"
import items from "../migrations/0002_items.js"
import trace from "../migrations/0003_trace.js"
import schedules from "../migrations/0004_schedules.js"
import dependencies from "../migrations/0005_dependencies.js"
import pause from "../migrations/0006_pause.js"
import scale from "../migrations/0007_scale.js"
import type { Tables } from "./tables.js"

/** The migrations by `<number>_<name>`, built for one table prefix. */
export const migrations = (t: Tables): Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> => ({
  "0001_init": init(t),
  "0002_items": items(t),
  "0003_trace": trace(t),
  "0004_schedules": schedules(t),
  "0005_dependencies": dependencies(t),
  "0006_pause": pause(t),
  "0007_scale": scale(t)
})

// No schema dump: the committed snapshot test covers review, and dumping would need the sqlite3 binary.
const runMigrator = Migrator.make({})

/** Applies the migrations not applied yet; returns those it applied (none on a re-run). */
export const run = (
  t: Tables
): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> => runMigrator({ loader: Migrator.fromRecord(migrations(t)), table: t.migrations })
