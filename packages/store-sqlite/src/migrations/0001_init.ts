/**
 * Migration 1: jobs, logs, results and pending callbacks. Times are INTEGER epoch milliseconds; JSON values are TEXT.
 * Forward-only: once released this file is never edited; changes go in a new numbered migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Creates the tables and indexes of the first schema. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const index = (name: string) => sql(`${t.prefix}${name}`)

    yield* sql`CREATE TABLE ${sql(t.jobs)} (
      id TEXT PRIMARY KEY NOT NULL,
      type TEXT NOT NULL,
      name TEXT NOT NULL,
      queue TEXT NOT NULL,
      owner TEXT,
      idempotency_key TEXT,
      status TEXT NOT NULL,
      terminal_reason TEXT,
      priority INTEGER NOT NULL,
      params TEXT NOT NULL,
      metadata TEXT NOT NULL,
      tags TEXT NOT NULL,
      batch_id TEXT,
      callback_url TEXT,
      attempt INTEGER NOT NULL,
      max_attempts INTEGER NOT NULL,
      timeout_ms INTEGER,
      deadline INTEGER,
      run_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      queued_at INTEGER,
      started_at INTEGER,
      finished_at INTEGER,
      progress TEXT NOT NULL,
      last_error TEXT,
      result_id TEXT,
      lease_owner TEXT,
      lease_expires_at INTEGER,
      -- the claim that holds the lease: every worker write is guarded by it (see the port's ClaimOptions.token)
      lease_token TEXT
    )`

    // The claim: due jobs of some queues by priority, then run time, then id. Partial, so only QUEUED rows pay
    // for it, and a claim walks it in order and stops after `limit` entries (no sort).
    yield* sql`CREATE INDEX ${index("jobs_due")} ON ${sql(t.jobs)} (queue, priority DESC, run_at, id)
      WHERE status = 'QUEUED'`
    // Status filters with the default sort; the running jobs that rescue and the limits look at. `type` trails so
    // stats and per-type running counts are answered from the index alone.
    yield* sql`CREATE INDEX ${index("jobs_status")} ON ${sql(t.jobs)} (status, created_at, id, type)`
    // Type filters with the default sort. No status in it: a job's status changes four times in its life, and every
    // index holding status is rewritten each time, so only the two indexes that need it hold it.
    yield* sql`CREATE INDEX ${index("jobs_type")} ON ${sql(t.jobs)} (type, created_at, id)`
    // The default list order, unfiltered, and createdAfter/createdBefore ranges.
    yield* sql`CREATE INDEX ${index("jobs_created")} ON ${sql(t.jobs)} (created_at, id)`
    // Retention (`finishedBefore`, the pruner) and the finishedAt sort; only finished jobs are in it.
    yield* sql`CREATE INDEX ${index("jobs_finished")} ON ${sql(t.jobs)} (finished_at)
      WHERE finished_at IS NOT NULL`
    // Deadlines are checked every second; only live jobs that have one are in this index.
    yield* sql`CREATE INDEX ${index("jobs_deadline")} ON ${sql(t.jobs)} (deadline)
      WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSED')`
    yield* sql`CREATE INDEX ${index("jobs_batch")} ON ${sql(t.jobs)} (batch_id) WHERE batch_id IS NOT NULL`
    yield* sql`CREATE INDEX ${index("jobs_owner")} ON ${sql(t.jobs)} (owner, created_at, id) WHERE owner IS NOT NULL`
    // One non-terminal holder per idempotency key and owner, enforced by the database itself. A null owner is one
    // owner: it is indexed as an empty blob, which equals no text.
    yield* sql`CREATE UNIQUE INDEX ${index("jobs_idempotency")} ON ${sql(t.jobs)} (idempotency_key, ifnull(owner, x''))
      WHERE idempotency_key IS NOT NULL AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING')`

    // The child tables (logs, results, callbacks) declare no foreign key to jobs: the store deletes a job's children
    // itself in the job's own transaction (so that holds on a host connection with foreign keys off too), and writes
    // children only of jobs it has just found or updated. A declared key would only add a parent lookup to every
    // row written (two log lines per attempt) and a probe of each child table to every job deleted.

    // AUTOINCREMENT: ids are never reused, so a log cursor stays valid after trimming.
    yield* sql`CREATE TABLE ${sql(t.logs)} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL
    )`
    yield* sql`CREATE INDEX ${index("logs_job")} ON ${sql(t.logs)} (job_id, id)`

    // WITHOUT ROWID: rows live in the primary key's b-tree, one b-tree fewer to write for each completed job
    yield* sql`CREATE TABLE ${sql(t.results)} (
      id TEXT PRIMARY KEY NOT NULL,
      job_id TEXT NOT NULL,
      value TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) WITHOUT ROWID`
    yield* sql`CREATE INDEX ${index("results_job")} ON ${sql(t.results)} (job_id)`

    // AUTOINCREMENT: a late settle by a deliverer whose lease ran out can never hit a newer callback's id.
    yield* sql`CREATE TABLE ${sql(t.callbacks)} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id TEXT NOT NULL,
      url TEXT NOT NULL,
      status TEXT NOT NULL,
      terminal_reason TEXT,
      result_id TEXT,
      finished_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX ${index("callbacks_due")} ON ${sql(t.callbacks)} (due_at, id)`
    yield* sql`CREATE INDEX ${index("callbacks_job")} ON ${sql(t.callbacks)} (job_id)`
  })
