/**
 * Migration 9: reads that stay fast over a long history, part two (bench/src/scale.ts; figures in bench/RESULTS.md).
 *
 * Counts by (type, queue, status), kept in the same transaction as every write of a job: `GET /jobs/stats` and the
 * total of a list over everything (or over types, queues and statuses only) read a few hundred counter rows instead
 * of counting a million jobs. Three statement-level triggers (insert, update, delete) aggregate their transition
 * tables, so a claim or settle of 50 jobs writes one delta per (type, queue, status) it changed, not one per job.
 * The deltas land in rows of the writing backend's own shard (`pg_backend_pid()`): a backend runs one transaction at
 * a time, so no two transactions ever wait on the same counter row; the read sums the shards. `fold` (run by the
 * stats read when the shards of past backends pile up) moves unlocked shard rows into shard 0.
 *
 * Indexes, each chosen for what it costs a drain (every status rewrite of a job adds an entry to each index whose
 * predicate the new row satisfies):
 * - `jobs_active` (migration 5) is the same index under a predicate that names the live statuses instead of the
 *   terminal ones it is not. The settle, heartbeat and progress statements say "held" as the statuses a held job is
 *   not (see `Shared.notHeld`), which implied the old predicate: the planner, which after an ANALYZE of a finished
 *   history saw an all but empty `jobs_active`, found each settled job by scanning all of it (its key leads with
 *   `created_at`, not `id`), so a settle cost grew with the work in flight: 0.5 s a call during a drain over a
 *   million finished jobs (bench/RESULTS.md). A positive list is implied by the active reads' `status = ANY(…)` but
 *   never by a NOT IN, so those statements go back to the primary key.
 * - `jobs_finished` becomes `(finished_at, id)` (was `(finished_at)`), same predicate, so no new entry: it serves
 *   `sort=finishedAt` with its cursor (the finished part of the list; see read.ts) and prune's `finished_at, id` order.
 * - `jobs_unfinished (id) WHERE finished_at IS NULL`: the other part of that sort (null sorts as -1, by id). A job
 *   enters it at insert and at claim, as it does `jobs_active`.
 * - `jobs_failed (status, type, created_at, id)` over FAILED, TIMED_OUT and CANCELLED rows: a page of one of these
 *   statuses of one type in the default order, read in order and stopping at the page's size, however rare the
 *   matches (walking `jobs_created` and filtering read a million rows when none matched). A job that succeeds never
 *   enters it.
 * - `jobs_owner (owner, created_at, id) INCLUDE (type, status)` over owned jobs: an owner's (a scope's) page in the
 *   default order, and its stats from the index alone (the counters have no owner). Jobs without an owner never
 *   enter it; an owned job pays one entry per status rewrite.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = sql(names.jobs)
    const counts = names.counts
    const fn = sql(`${names.schema}.${names.prefix}count_changes`)
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_active")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_active"))} ON ${jobs} (created_at, id)
      WHERE status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSING', 'PAUSED', 'CANCELLING')`
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_finished")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_finished"))} ON ${jobs} (finished_at, id)
      WHERE finished_at IS NOT NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_unfinished"))} ON ${jobs} (id) WHERE finished_at IS NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_failed"))} ON ${jobs} (status, type, created_at, id)
      WHERE status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_owner"))} ON ${jobs} (owner, created_at, id) INCLUDE (type, status)
      WHERE owner IS NOT NULL`

    yield* sql`
      CREATE TABLE ${sql(counts)} (
        type text COLLATE "C" NOT NULL,
        queue text COLLATE "C" NOT NULL,
        status text NOT NULL,
        shard integer NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (type, queue, status, shard)
      )`
    const q = (name: string) =>
      name
        .split(".")
        .map((part) => `"${part}"`)
        .join(".")
    // One function for the three triggers: each branch reads only the transition tables its event has. Deltas in
    // key order, so two folds (the only writers of shard 0) lock its rows in the same order.
    const upsert = (source: string) => `
    INSERT INTO ${q(counts)} AS c (type, queue, status, shard, n)
    SELECT type, queue, status, pg_backend_pid(), sum(d) FROM (${source}) x
    GROUP BY type, queue, status HAVING sum(d) <> 0 ORDER BY type, queue, status
    ON CONFLICT (type, queue, status, shard) DO UPDATE SET n = c.n + excluded.n;`
    yield* sql.unsafe(`
CREATE FUNCTION ${q(`${names.schema}.${names.prefix}count_changes`)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN${upsert(`SELECT type, queue, status, 1 AS d FROM new_rows`)}
  ELSIF TG_OP = 'UPDATE' THEN${upsert(`SELECT type, queue, status, -1 AS d FROM old_rows
      UNION ALL SELECT type, queue, status, 1 FROM new_rows`)}
  ELSE${upsert(`SELECT type, queue, status, -1 AS d FROM old_rows`)}
  END IF;
  RETURN NULL;
END
$fn$`)
    yield* sql`CREATE TRIGGER ${sql(`${names.prefix}count_insert`)} AFTER INSERT ON ${jobs}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`
    yield* sql`CREATE TRIGGER ${sql(`${names.prefix}count_update`)} AFTER UPDATE ON ${jobs}
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`
    yield* sql`CREATE TRIGGER ${sql(`${names.prefix}count_delete`)} AFTER DELETE ON ${jobs}
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`
    // the triggers' lock (SHARE ROW EXCLUSIVE, held to the end of the migration's transaction) keeps every writer
    // out until commit, so the count below and the deltas after it add up exactly
    yield* sql`INSERT INTO ${sql(counts)} (type, queue, status, shard, n)
      SELECT type, queue, status, 0, count(*) FROM ${jobs} GROUP BY type, queue, status`
  })
