/**
 * The store's readiness check (the port's `check`): one cheap query that needs the database to answer, and tells
 * whether every migration this version knows is applied (a process of an older version running against a newer
 * schema, or a newer one whose migrations failed, is not ready). The rule is core's `JobStore.schemaCurrent`.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Tables } from "./tables.js"

/** Succeeds when the database answers and its highest applied migration is `latest`. */
export const make = (
  sql: SqlClient.SqlClient,
  t: Tables,
  latest: number
): Effect.Effect<void, SqlError | JobStore.JobStoreError> =>
  Effect.flatMap(
    sql<{ readonly applied: number | string | null }>`SELECT max(migration_id) AS applied FROM ${sql(t.migrations)}`,
    (rows) => JobStore.schemaCurrent(rows[0]?.applied, latest)
  )
