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
 * - `jobs_finished` becomes `(finished_at, id)` (was `(finished_at)`), same predicate, so no new entry: it serves
 *   `sort=finishedAt` with its cursor (the finished part of the list; see read.ts) and prune's `finished_at, id` order.
 * - `jobs_unfinished (id) WHERE finished_at IS NULL`: the other part of that sort (null sorts as -1, by id). A job
 *   enters it at insert and at claim, as it does `jobs_active`.
 * - `jobs_failed (type, created_at, id)` over FAILED, TIMED_OUT and CANCELLED rows: a page of rare terminal
 *   statuses, by type or not, in the default order. A job that succeeds never enters it.
 * - `jobs_owner (owner, created_at, id)` over owned jobs: an owner's (a scope's) page in the default order. Jobs
 *   without an owner never enter it; an owned job pays one entry per status rewrite.
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
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_finished")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_finished"))} ON ${jobs} (finished_at, id)
      WHERE finished_at IS NOT NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_unfinished"))} ON ${jobs} (id) WHERE finished_at IS NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_failed"))} ON ${jobs} (type, created_at, id)
      WHERE status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_owner"))} ON ${jobs} (owner, created_at, id)
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
