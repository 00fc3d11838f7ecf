/**
 * The store's readiness check (the port's `check`): one cheap query that needs the database to answer, and tells
 * whether every migration this version knows is applied (a process of an older version running against a newer
 * schema, or a newer one whose migrations failed, is not ready).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Names } from "./names.js"

/** The highest migration number among `<number>_<name>` keys. */
export const latestOf = (migrations: Readonly<Record<string, unknown>>): number =>
  Math.max(
    0,
    ...Object.keys(migrations)
      .map((key) => Number.parseInt(key, 10))
      .filter(Number.isFinite)
  )

/** Succeeds when the database answers and its highest applied migration is `latest`. */
export const make = (
  sql: SqlClient.SqlClient,
  names: Names,
  latest: number
): Effect.Effect<void, SqlError | JobStore.JobStoreError> =>
  Effect.flatMap(
    sql<{
      readonly applied: number | string | null
    }>`SELECT max(migration_id) AS applied FROM ${sql(names.migrations)}`,
    (rows) => {
      // Postgres answers max() over an integer column as integer, but drivers may hand big numbers back as text
      const applied = rows[0]?.applied === null || rows[0]?.applied === undefined ? 0 : Number(rows[0].applied)
      return applied === latest
        ? Effect.void
        : Effect.fail(
            new JobStore.JobStoreError({
              reason: "Corrupt",
              message:
                applied < latest
                  ? `schema is behind: migration ${applied} applied, ${latest} expected`
                  : `schema is ahead: migration ${applied} applied, this version knows up to ${latest}`
            })
          )
    }
  )
