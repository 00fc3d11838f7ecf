/**
 * Migration 10: the drain's triggers, cheaper (issue 22). Forward-only; works on a database with data.
 *
 * Dependencies: migration 7 counted ends with a statement-level trigger whose transition tables captured every row of
 * every update (claims, settles, heartbeats) and called `count_ends` with all the ids a settle ended, though almost no
 * job has dependents. Now a job carries `has_dependents`, set (by a trigger on the edges' table) when an edge that is
 * not yet counted names it, and a row-level trigger fires only for a job with that flag whose status becomes terminal:
 * its WHEN is false for every other row, which costs an update nothing. A job nobody depends on pays nothing.
 *
 * The race of a dependency ending while a dependent is inserted: the insert locks the dependencies FOR NO KEY UPDATE
 * (see `insert.ts`), reads their statuses, then inserts the edges, whose trigger sets the flag, in its transaction.
 * An ending write that comes first commits first, and the insert reads it ended (counted at insert, edge done). One
 * that comes later waits for the insert's commit, and updates the row version the insert left: its OLD has the flag,
 * and `count_ends` (a new snapshot) sees the edges. The delete trigger of migration 7 (statement-level: deletes are
 * rare) stays as it is.
 *
 * The settle: a row it ends (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT) keeps `lease_owner`, the worker of its last
 * attempt, from which the engine presents the attempt's start line; the lease's expiry and token are cleared as
 * before. No reader takes an owner alone for a lease: every guard compares the token, the held index and reads go by
 * status, and core shows a lease only when owner and expiry are both set.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** A string literal for a name that `Names` validated. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

const quoted = (name: string) =>
  name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".")

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // a constant default: catalog-only, no table rewrite
    yield* sql`ALTER TABLE ${sql(names.jobs)} ADD COLUMN has_dependents boolean NOT NULL DEFAULT false`
    yield* sql.unsafe(functions(names))
    // under the triggers' locks (held to the end of the migration's transaction, so no edge is inserted meanwhile):
    // the jobs that edges not yet counted name
    yield* sql`UPDATE ${sql(names.jobs)} SET has_dependents = true
      WHERE id IN (SELECT depends_on FROM ${sql(names.dependencies)} WHERE NOT done) AND NOT has_dependents`
  })

const functions = (names: Names): string => {
  const q = quoted
  const jobs = q(names.jobs)
  const dependencies = q(names.dependencies)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const results = q(names.results)
  const callbacks = q(names.callbacks)
  const channel = literal(names.channel)
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  return `
DROP TRIGGER ${q(names.index("jobs_ended"))} ON ${jobs};

-- A job with dependents ended: count its end for them (see count_ends, migration 7; its UPDATE of the dependents
-- fires this trigger in turn for those that have dependents of their own: the cascade down a chain).
CREATE FUNCTION ${fn("job_ended")}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
  PERFORM ${fn("count_ends")}(ARRAY[NEW.id], ARRAY[NEW.status], ARRAY[NEW.updated_at]);
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ${q(names.index("jobs_ended"))} AFTER UPDATE ON ${jobs}
  FOR EACH ROW WHEN (OLD.has_dependents AND OLD.status NOT IN ${terminal} AND NEW.status IN ${terminal})
  EXECUTE FUNCTION ${fn("job_ended")}();

-- Edges inserted: the jobs they wait on (not yet counted) have dependents from now on. The inserting transaction
-- holds those rows locked (insert.ts), so this UPDATE waits on no one.
CREATE FUNCTION ${fn("edges_inserted")}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
  UPDATE ${jobs} SET has_dependents = true
  WHERE id IN (SELECT depends_on FROM new_edges WHERE NOT done) AND NOT has_dependents;
  RETURN NULL;
END
$fn$;

-- Migration 8's settle, except that a row it ends keeps lease_owner. Applies settlements (see the port's
-- Settlement): only to rows the settling claim holds (lease owner and token). A
-- CANCELLING row always becomes CANCELLED; a PAUSING row takes its settlement as a RUNNING row does, except that it
-- becomes PAUSED where a RUNNING row would go back to the queue (Retry: the attempt spent; Release: given back). A
-- settlement's checkpoint, when given, is written with it. One call carries any mix of settlements, of any number of
-- workers; each job at most once. p_logs (or null): log lines appended first, in the same transaction (see
-- append_logs). Announces Enqueued for each queue that gained a QUEUED job, and for each queue of a settled job whose
-- type or queue is limited (p_limited_*): its slot is free now, and idle workers of any process may take the next
-- job. enable_seqscan off: its plans are cached per session, and each statement has an index path whatever the
-- table's size when the plan was made (see append_logs).
CREATE OR REPLACE FUNCTION ${fn("settle")}(
  p_rows json, p_async boolean, p_limited_types text[], p_limited_queues text[], p_logs json, p_cap integer
) RETURNS TABLE (id text, status text) LANGUAGE plpgsql SET enable_seqscan = off SET enable_nestloop = off
  SET jit = off AS $fn$
#variable_conflict use_column
DECLARE
  -- the settled ids, so the UPDATE finds its rows by key (an index condition) and joins them to the settlements by
  -- hash: after an ANALYZE that saw no held job (every job QUEUED, or finished) the planner took the held rows for
  -- one and joined by nested loop with the input outer or inner at its whim; inner, it parsed the settlements' JSON
  -- again for every row (0.1 s for a batch of 500, against 12 ms)
  v_ids text[] := ARRAY(SELECT r.id FROM json_to_recordset(p_rows) AS r(id text));
BEGIN
  IF p_async THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  IF p_logs IS NOT NULL THEN
    PERFORM ${fn("append_logs")}(p_logs, p_cap, false);
  END IF;
  RETURN QUERY
  WITH s AS (
    SELECT * FROM json_to_recordset(p_rows) AS s(
      worker_id text, token text, at bigint, kind text, id text, progress text, run_at bigint, last_error text,
      fail_status text, reason text, result_id text, result_value text, checkpoint text
    )
  ), updated AS (
    UPDATE ${jobs} j SET
      status = CASE
        WHEN j.status = 'CANCELLING' OR s.kind = 'Cancelled' THEN 'CANCELLED'
        WHEN s.kind = 'Complete' THEN 'SUCCEEDED'
        WHEN s.kind = 'Fail' THEN s.fail_status
        WHEN j.status = 'PAUSING' THEN 'PAUSED'
        ELSE 'QUEUED' END,
      terminal_reason = CASE
        WHEN j.status = 'CANCELLING' OR s.kind = 'Cancelled' THEN 'user'
        WHEN s.kind = 'Complete' THEN NULL
        WHEN s.kind = 'Fail' THEN s.reason
        ELSE j.terminal_reason END,
      finished_at = CASE
        WHEN j.status = 'CANCELLING' OR s.kind IN ('Cancelled', 'Complete', 'Fail') THEN s.at
        ELSE j.finished_at END,
      result_id = CASE WHEN j.status <> 'CANCELLING' AND s.kind = 'Complete' THEN s.result_id ELSE j.result_id END,
      run_at = CASE WHEN j.status <> 'CANCELLING' AND s.kind = 'Retry' THEN s.run_at ELSE j.run_at END,
      last_error = CASE
        WHEN j.status <> 'CANCELLING' AND s.kind IN ('Retry', 'Fail') THEN s.last_error
        ELSE j.last_error END,
      -- a graceful shutdown, or a pause, gives the attempt back
      attempt = CASE WHEN j.status <> 'CANCELLING' AND s.kind = 'Release' THEN greatest(j.attempt - 1, 0)
        ELSE j.attempt END,
      progress = COALESCE(s.progress, j.progress),
      checkpoint = COALESCE(s.checkpoint, j.checkpoint),
      -- a row the settle ends keeps the worker of its last attempt (its log's start line names it); the lease's
      -- expiry and token go, so nothing reads it as held (every guard compares the token, and statuses)
      lease_owner = CASE
        WHEN j.status = 'CANCELLING' OR s.kind IN ('Cancelled', 'Complete', 'Fail') THEN j.lease_owner
        ELSE NULL END,
      lease_expires_at = NULL,
      lease_token = NULL,
      updated_at = s.at
    FROM s
    -- RUNNING, PAUSING or CANCELLING, written as the statuses it is not (the table's CHECK lists them all): the
    -- planner then cannot read the held index, which would scan every held job of every worker, and finds each row
    -- by its key
    WHERE j.id = ANY(v_ids) AND j.id = s.id AND j.lease_token = s.token AND j.lease_owner = s.worker_id
      AND j.status NOT IN ('CREATED', 'QUEUED', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
    RETURNING j.id, j.status, j.type, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
      s.result_value, s.at
  ), new_results AS (
    INSERT INTO ${results} (id, job_id, value, created_at)
    SELECT u.result_id, u.id, u.result_value, u.at FROM updated u
    WHERE u.status = 'SUCCEEDED' AND u.result_id IS NOT NULL AND u.result_value IS NOT NULL
  ), new_callbacks AS (
    INSERT INTO ${callbacks} (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
    SELECT gen_random_uuid()::text, u.id, u.callback_url, u.status, u.terminal_reason, u.result_id, u.finished_at, 0,
      u.at
    FROM updated u WHERE u.callback_url IS NOT NULL AND u.status IN ${terminal}
  ), signals AS (
    SELECT count(pg_notify(${channel}, json_build_object('_tag', 'Enqueued', 'queue', q.queue)::text)) AS n
    FROM (
      SELECT DISTINCT u.queue FROM updated u
      WHERE u.status = 'QUEUED' OR u.type = ANY(p_limited_types) OR u.queue = ANY(p_limited_queues)
    ) q
  )
  SELECT u.id, u.status FROM updated u, signals;
END
$fn$;

CREATE TRIGGER ${q(names.index("dependencies_inserted"))} AFTER INSERT ON ${dependencies}
  REFERENCING NEW TABLE AS new_edges
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn("edges_inserted")}();
`
}
