/**
 * Migration 1 (the same number as the SQLite store's): jobs, logs, results, callbacks and the indexes the hot paths
 * need. Times are epoch milliseconds (`bigint`), JSON is `text` (the store never looks inside it, so it never pays for
 * a jsonb parse), tags are `text[]`.
 *
 * Index choice: every claim and settle rewrites a job row with a changed status, which is never a HOT update, so every
 * index whose predicate the new row satisfies gains an entry. The hot-path indexes are therefore partial (a row is in
 * the due index only while QUEUED, in the lease index only while held), and list sorts other than `createdAt` are
 * left to a sort over the filtered rows rather than taxing every write.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = sql(names.jobs)
    yield* sql`
      CREATE TABLE ${jobs} (
        id text COLLATE "C" PRIMARY KEY,
        type text NOT NULL,
        name text NOT NULL,
        queue text NOT NULL,
        owner text,
        idempotency_key text,
        status text NOT NULL CHECK (status IN (
          'CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'
        )),
        terminal_reason text CHECK (terminal_reason IN ('error', 'timeout', 'expired', 'stalled', 'user', 'threshold')),
        priority integer NOT NULL,
        params text NOT NULL,
        metadata text NOT NULL,
        tags text[] NOT NULL,
        batch_id text,
        callback_url text,
        attempt integer NOT NULL,
        max_attempts integer NOT NULL,
        timeout_ms bigint,
        deadline bigint,
        run_at bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        queued_at bigint,
        started_at bigint,
        finished_at bigint,
        progress text NOT NULL,
        last_error text,
        result_id text,
        lease_owner text,
        lease_expires_at bigint
      )`
    // the claim: walked in claim order, so a claim reads only the rows it takes (plus rows not yet due)
    yield* sql`CREATE INDEX ${sql(names.index("jobs_due"))} ON ${jobs} (queue, priority DESC, run_at, id)
      WHERE status = 'QUEUED'`
    // limited claims: each limited type's best due jobs, and whether it has any
    yield* sql`CREATE INDEX ${sql(names.index("jobs_due_type"))} ON ${jobs} (type, priority DESC, run_at, id)
      WHERE status = 'QUEUED'`
    // the rescuer and the per-type/per-queue running counts of limited claims
    yield* sql`CREATE INDEX ${sql(names.index("jobs_held"))} ON ${jobs} (lease_expires_at)
      WHERE status IN ('RUNNING', 'CANCELLING')`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_deadline"))} ON ${jobs} (deadline)
      WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSED')`
    // one holder per key among non-terminal jobs; inserts use ON CONFLICT against exactly this predicate
    yield* sql`CREATE UNIQUE INDEX ${sql(names.index("jobs_idempotency"))} ON ${jobs} (idempotency_key)
      WHERE idempotency_key IS NOT NULL AND status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_created"))} ON ${jobs} (created_at, id)`
    // pruning by age and batch summaries; each row enters these at most once per attempt
    yield* sql`CREATE INDEX ${sql(names.index("jobs_finished"))} ON ${jobs} (finished_at)
      WHERE finished_at IS NOT NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_batch"))} ON ${jobs} (batch_id) WHERE batch_id IS NOT NULL`

    // no foreign keys: a key check would lock the job row for every log line; deletes cascade explicitly instead
    yield* sql`
      CREATE TABLE ${sql(names.logs)} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id text COLLATE "C" NOT NULL,
        at bigint NOT NULL,
        level text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        message text NOT NULL
      )`
    yield* sql`CREATE INDEX ${sql(names.index("logs_job_id"))} ON ${sql(names.logs)} (job_id, id)`

    yield* sql`
      CREATE TABLE ${sql(names.results)} (
        id text COLLATE "C" PRIMARY KEY,
        job_id text COLLATE "C" NOT NULL,
        value text NOT NULL,
        created_at bigint NOT NULL
      )`
    yield* sql`CREATE INDEX ${sql(names.index("results_job_id"))} ON ${sql(names.results)} (job_id)`

    yield* sql`
      CREATE TABLE ${sql(names.callbacks)} (
        id text COLLATE "C" PRIMARY KEY,
        job_id text COLLATE "C" NOT NULL,
        url text NOT NULL,
        status text NOT NULL,
        terminal_reason text,
        result_id text,
        finished_at bigint,
        attempts integer NOT NULL DEFAULT 0,
        due_at bigint NOT NULL
      )`
    yield* sql`CREATE INDEX ${sql(names.index("callbacks_due"))} ON ${sql(names.callbacks)} (due_at, id)`
    yield* sql`CREATE INDEX ${sql(names.index("callbacks_job_id"))} ON ${sql(names.callbacks)} (job_id)`
  })
