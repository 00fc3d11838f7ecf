/**
 * Migration 2 (the same number as the SQLite store's): the items of jobs (per-input records).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // A foreign key with ON DELETE CASCADE: items go with their job whichever statement deletes it. Only item writes
    // pay for the parent lookup; the job's hot paths never touch this table.
    yield* sql`
      CREATE TABLE ${sql(names.items)} (
        job_id text COLLATE "C" NOT NULL REFERENCES ${sql(names.jobs)} (id) ON DELETE CASCADE,
        key text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
        input text,
        output text,
        error text,
        started_at bigint,
        finished_at bigint,
        updated_at bigint NOT NULL,
        PRIMARY KEY (job_id, key)
      )`
    // a job's items in listing order; the status trails so a filtered page is read from the index
    yield* sql`CREATE INDEX ${sql(names.index("items_order"))} ON ${sql(names.items)} (job_id, position, key, status)`
  })
