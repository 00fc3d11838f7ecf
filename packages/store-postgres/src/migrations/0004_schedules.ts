/**
 * Migration 4 (the same number as the SQLite store's): schedules (recurring jobs) and the link from a job to the
 * schedule tick that created it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = sql(names.jobs)
    const schedules = sql(`${names.schema}.${names.prefix}schedules`)
    // nullable columns without a default: added to the catalog only, no existing row is rewritten
    yield* sql`ALTER TABLE ${jobs} ADD COLUMN schedule_key text COLLATE "C", ADD COLUMN schedule_tick bigint`
    // Exactly one job per (schedule, tick), whatever the firers do; a tick's insert uses ON CONFLICT against exactly
    // these columns and predicate. Partial: jobs no schedule created are not in it.
    yield* sql`CREATE UNIQUE INDEX ${sql(names.index("jobs_schedule_tick"))} ON ${jobs} (schedule_key, schedule_tick)
      WHERE schedule_key IS NOT NULL`
    yield* sql`
      CREATE TABLE ${schedules} (
        key text COLLATE "C" PRIMARY KEY,
        cron text,
        time_zone text,
        every_ms bigint,
        backfill integer NOT NULL,
        template text NOT NULL,
        source text NOT NULL CHECK (source IN ('code', 'api')),
        paused boolean NOT NULL,
        next_run_at bigint NOT NULL,
        last_run_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`
    // the ticker's question every second: which running schedules are due
    yield* sql`CREATE INDEX ${sql(names.index("schedules_due"))} ON ${schedules} (next_run_at) WHERE NOT paused`
  })
