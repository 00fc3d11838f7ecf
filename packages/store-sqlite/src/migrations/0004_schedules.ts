/**
 * Migration 4: schedules (recurring jobs) and the link from a job to the schedule tick that created it.
 * Forward-only, like every migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Creates the schedules table and the jobs' schedule columns. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const index = (name: string) => sql(`${t.prefix}${name}`)
    // Two nullable columns at the end of the row: SQLite adds them without rewriting a single existing row.
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN schedule_key TEXT`
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN schedule_tick INTEGER`
    // Exactly one job per (schedule, tick), enforced by the database whatever the firers do. Partial: the jobs that
    // no schedule created (most of them) are not in it.
    yield* sql`CREATE UNIQUE INDEX ${index("jobs_schedule_tick")} ON ${sql(t.jobs)} (schedule_key, schedule_tick)
      WHERE schedule_key IS NOT NULL`
    // WITHOUT ROWID: a schedule is read and written by its key only.
    yield* sql`CREATE TABLE ${sql(`${t.prefix}schedules`)} (
      key TEXT PRIMARY KEY NOT NULL,
      cron TEXT,
      time_zone TEXT,
      every_ms INTEGER,
      backfill INTEGER NOT NULL,
      template TEXT NOT NULL,
      source TEXT NOT NULL,
      paused INTEGER NOT NULL,
      next_run_at INTEGER NOT NULL,
      last_run_at INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID`
    // the ticker's question every second: which running schedules are due
    yield* sql`CREATE INDEX ${index("schedules_due")} ON ${sql(`${t.prefix}schedules`)} (next_run_at)
      WHERE paused = 0`
  })
