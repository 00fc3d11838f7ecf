/**
 * Migration 5 (the same number as the Postgres store's `0007_dependencies` rules): job dependencies. Forward-only.
 *
 * A job names the jobs it waits on (`depends_on`, JSON text, written at insert) and counts those not yet done
 * (`waiting_on`); one edge row per (dependent, dependency), indexed by the dependency, says whether that end was
 * counted. Triggers do the counting whatever write ends a job (settle, cancel, rescue, expiry, a cascade, a delete),
 * in that write's transaction: the dependency's edges are looked up by index, and all its dependents are updated by
 * one statement. A dependent failed by the cascade is itself a terminal update, so the cascade runs down a chain
 * (the store turns `recursive_triggers` on).
 *
 * Triggers cannot publish in-process signals: they append to a small signals table that the store drains after its
 * writes (`internal/dependencies.ts`).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Tables } from "../internal/tables.js"

const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
const waiting = `('CREATED', 'QUEUED', 'PAUSED')`

/** A `Timestamp` (`YYYY-MM-DDTHH:mm:ss.sssZ`) of an epoch-ms expression, in integer arithmetic. */
const timestamp = (ms: string) =>
  `strftime('%Y-%m-%dT%H:%M:%S', ${ms} / 1000, 'unixepoch') || '.' || printf('%03d', ${ms} % 1000) || 'Z'`

/**
 * The counting of one dependency's end, for its dependents whose edge is not yet counted: `waiting_on` − 1, and a
 * `fail` dependent still waiting ends FAILED when the end is not a success. Then the edges are marked counted.
 * `id`, `status`, `now`: SQL expressions of the ended job's id, its status, and the write's time.
 */
const countEnd = (t: Tables, id: string, status: string, now: string, guard = "1 = 1") => {
  const fails = `(${status} <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ${waiting})`
  return `
    UPDATE "${t.jobs}" SET
      waiting_on = max(waiting_on - 1, 0),
      status = CASE WHEN ${fails} THEN 'FAILED' ELSE status END,
      terminal_reason = CASE WHEN ${fails} THEN 'dependency_failed' ELSE terminal_reason END,
      last_error = CASE WHEN ${fails} THEN json_object(
        'message', 'dependency ' || ${id} || ' ended ' || ${status}, 'tag', 'DependencyFailed', 'at', ${timestamp(now)}
      ) ELSE last_error END,
      finished_at = CASE WHEN ${fails} THEN ${now} ELSE finished_at END,
      updated_at = CASE WHEN status IN ${waiting} THEN ${now} ELSE updated_at END
    WHERE ${guard} AND id IN (SELECT job_id FROM "${t.dependencies}" WHERE depends_on = ${id} AND done = 0);
    UPDATE "${t.dependencies}" SET done = 1 WHERE depends_on = ${id} AND done = 0;`
}

/** Creates the columns, the edges and signals tables, the claim's index without waiting jobs, and the triggers. */
export default (t: Tables) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const index = (name: string) => sql(`${t.prefix}${name}`)
    // columns at the end of the row: SQLite adds them without rewriting a single existing row
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN depends_on TEXT`
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN dependency_policy TEXT`
    yield* sql`ALTER TABLE ${sql(t.jobs)} ADD COLUMN waiting_on INTEGER NOT NULL DEFAULT 0`
    // WITHOUT ROWID: an edge is found by its key (a job's own edges) or by the dependency (its dependents)
    yield* sql`CREATE TABLE ${sql(t.dependencies)} (
      job_id TEXT NOT NULL,
      depends_on TEXT NOT NULL,
      done INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (job_id, depends_on)
    ) WITHOUT ROWID`
    yield* sql`CREATE INDEX ${index("dependencies_on")} ON ${sql(t.dependencies)} (depends_on, done)`
    yield* sql`CREATE TABLE ${sql(t.dependencySignals)} (
      id INTEGER PRIMARY KEY,
      job_id TEXT NOT NULL,
      queue TEXT NOT NULL,
      status TEXT NOT NULL
    )`
    // the claim walks only jobs it may take: a waiting job is not in the due index at all
    yield* sql`DROP INDEX ${index("jobs_due")}`
    yield* sql`CREATE INDEX ${index("jobs_due")} ON ${sql(t.jobs)} (queue, priority DESC, run_at, id)
      WHERE status = 'QUEUED' AND waiting_on = 0`

    // any write that ends a job with dependents still counting: they count the end (the WHEN's one index probe spares
    // the two statements below to the jobs nothing waits on, almost all)
    yield* sql.unsafe(`CREATE TRIGGER "${t.prefix}jobs_dependency_end" AFTER UPDATE OF status ON "${t.jobs}"
      WHEN NEW.status IN ${terminal} AND OLD.status NOT IN ${terminal}
        AND EXISTS (SELECT 1 FROM "${t.dependencies}" WHERE depends_on = NEW.id AND done = 0)
      BEGIN ${countEnd(t, "NEW.id", "NEW.status", "NEW.updated_at")} END`)
    // a job deleted before it ended is a failed one to the jobs still waiting on it; its edges go with it
    yield* sql.unsafe(`CREATE TRIGGER "${t.prefix}jobs_dependency_delete" AFTER DELETE ON "${t.jobs}"
      BEGIN
        ${countEnd(
          t,
          "OLD.id",
          `(CASE WHEN OLD.status IN ${terminal} THEN OLD.status ELSE 'FAILED' END)`,
          "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
          `OLD.status NOT IN ${terminal}`
        )}
        DELETE FROM "${t.dependencies}" WHERE job_id = OLD.id;
        DELETE FROM "${t.dependencies}" WHERE depends_on = OLD.id;
      END`)
    // what every terminal job gets, for the ones the cascade failed: a callback row, and a signal
    yield* sql.unsafe(`CREATE TRIGGER "${t.prefix}jobs_dependency_failed" AFTER UPDATE OF status ON "${t.jobs}"
      WHEN NEW.terminal_reason = 'dependency_failed' AND NEW.status = 'FAILED' AND OLD.status NOT IN ${terminal}
      BEGIN
        INSERT INTO "${t.callbacks}" (job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
          SELECT NEW.id, NEW.callback_url, NEW.status, NEW.terminal_reason, NEW.result_id, NEW.finished_at, 0,
            NEW.updated_at
          WHERE NEW.callback_url IS NOT NULL;
        INSERT INTO "${t.dependencySignals}" (job_id, queue, status) VALUES (NEW.id, NEW.queue, 'FAILED');
      END`)
    // a QUEUED job whose last dependency is done: claimable now, workers are told
    yield* sql.unsafe(`CREATE TRIGGER "${t.prefix}jobs_dependency_released" AFTER UPDATE OF waiting_on ON "${t.jobs}"
      WHEN NEW.waiting_on = 0 AND OLD.waiting_on > 0 AND NEW.status = 'QUEUED'
      BEGIN
        INSERT INTO "${t.dependencySignals}" (job_id, queue, status) VALUES (NEW.id, NEW.queue, 'QUEUED');
      END`)
  })
