/**
 * Migration 6 (the same number as the Postgres store's `0008_pause` feature; SQLite's own numbering): pausing a
 * running job, and checkpoints. Forward-only, like every migration.
 *
 * The jobs table has no CHECK on its status, so the new non-terminal status PAUSING needs no table change; the two
 * partial indexes that list the live statuses are made again with it: a PAUSING job still holds its idempotency key,
 * and its deadline still ends it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Adds the checkpoint column and lists PAUSING in the live-status indexes. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const index = (name: string) => sql(`${t.prefix}${name}`)
    // nullable, at the end of the row: added without rewriting a single existing row
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN checkpoint TEXT`
    yield* sql`DROP INDEX ${index("jobs_idempotency")}`
    yield* sql`CREATE UNIQUE INDEX ${index("jobs_idempotency")} ON ${sql(t.jobs)} (idempotency_key, ifnull(owner, x''))
      WHERE idempotency_key IS NOT NULL AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSING', 'PAUSED', 'CANCELLING')`
    yield* sql`DROP INDEX ${index("jobs_deadline")}`
    yield* sql`CREATE INDEX ${index("jobs_deadline")} ON ${sql(t.jobs)} (deadline)
      WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSING', 'PAUSED')`
  })
