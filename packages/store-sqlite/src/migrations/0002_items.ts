/**
 * Migration 2: the items of jobs (per-input records). Forward-only, like every migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Creates the items table and its listing index. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    // No foreign key, as for the other child tables (see migration 0001): the store deletes a job's items in the
    // job's own transaction. WITHOUT ROWID: rows live in the (job_id, key) b-tree that every upsert probes.
    yield* sql`CREATE TABLE ${sql(t.items)} (
      job_id TEXT NOT NULL,
      key TEXT NOT NULL,
      position INTEGER NOT NULL,
      status TEXT NOT NULL,
      input TEXT,
      output TEXT,
      error TEXT,
      started_at INTEGER,
      finished_at INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (job_id, key)
    ) WITHOUT ROWID`
    // a job's items in listing order, with the status filter answered from the index
    yield* sql`CREATE INDEX ${sql(`${t.prefix}items_order`)} ON ${sql(t.items)} (job_id, position, key, status)`
  })
