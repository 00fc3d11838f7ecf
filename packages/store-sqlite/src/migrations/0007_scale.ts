/**
 * Migration 7: reads that stay fast over a long history (bench/src/scale.ts `--store sqlite`; figures in
 * bench/RESULTS.md).
 *
 * Counts by (type, queue, status), kept by triggers in the same transaction as every write of a job: `stats` and the
 * total of a list over everything (or over types, queues and statuses only) read a few rows instead of counting a
 * million. One writer at a time (SQLite's rule) means no two transactions ever wait on a counter row. The update
 * trigger fires only when a job's type, queue or status changes (heartbeats, progress and logs never touch it).
 *
 * `jobs_finished_order (coalesce(finished_at, -1), id)`: the `finishedAt` sort with its cursor, read in order instead of
 * sorted. SQLite rewrites an index entry only when one of its columns changes: a job enters it at insert and moves
 * once, when it finishes.
 *
 * `jobs_owner` (migration 1) gains `type, status` at its end: an owner's (a scope's) stats, which the counters cannot
 * answer, come from the index alone. Only owned jobs are in it; their entry now moves at each status change.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

/** Creates the counters, their triggers and the finishedAt order index. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const jobs = sql(t.jobs)
    const counts = sql(t.counts)
    const name = (suffix: string) => sql(`${t.prefix}${suffix}`)
    yield* sql`CREATE INDEX ${name("jobs_finished_order")} ON ${jobs} (coalesce(finished_at, -1), id)`
    yield* sql`DROP INDEX ${name("jobs_owner")}`
    yield* sql`CREATE INDEX ${name("jobs_owner")} ON ${jobs} (owner, created_at, id, type, status)
      WHERE owner IS NOT NULL`
    yield* sql`
      CREATE TABLE ${counts} (
        type TEXT NOT NULL,
        queue TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (type, queue, status)
      ) WITHOUT ROWID`
    yield* sql`INSERT INTO ${counts} (type, queue, status, n)
      SELECT type, queue, status, count(*) FROM ${jobs} GROUP BY type, queue, status`
    yield* sql`CREATE TRIGGER ${name("count_insert")} AFTER INSERT ON ${jobs} BEGIN
      INSERT INTO ${counts} (type, queue, status, n) VALUES (new.type, new.queue, new.status, 1)
        ON CONFLICT (type, queue, status) DO UPDATE SET n = n + 1;
    END`
    yield* sql`CREATE TRIGGER ${name("count_update")} AFTER UPDATE OF type, queue, status ON ${jobs}
      WHEN old.status IS NOT new.status OR old.type IS NOT new.type OR old.queue IS NOT new.queue BEGIN
      UPDATE ${counts} SET n = n - 1 WHERE type = old.type AND queue = old.queue AND status = old.status;
      INSERT INTO ${counts} (type, queue, status, n) VALUES (new.type, new.queue, new.status, 1)
        ON CONFLICT (type, queue, status) DO UPDATE SET n = n + 1;
    END`
    yield* sql`CREATE TRIGGER ${name("count_delete")} AFTER DELETE ON ${jobs} BEGIN
      UPDATE ${counts} SET n = n - 1 WHERE type = old.type AND queue = old.queue AND status = old.status;
    END`
  })
