/**
 * Migration 8: pausing a running job, and checkpoints. The new non-terminal status PAUSING (a pause asked of a running
 * job, until its worker settles it), the `checkpoint` column (a handler's last checkpoint, handed to the next
 * attempt), and the `settle` function of migration 1 made again to know both. Forward-only, like every migration.
 *
 * A PAUSING job is held, as RUNNING and CANCELLING are: it keeps its lease, so the held index (the rescuer's, and the
 * limited claims' counts, which migration 7 already makes with PAUSING) and the deadline index list it too.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** A string literal for a name that `Names` validated (letters, digits, `_`, `.` and `:` only). */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** A validated dotted name, each part double-quoted. */
const quoted = (name: string) =>
  name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".")

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = sql(names.jobs)
    // nullable without a default: a catalog-only change, no table rewrite
    yield* sql`ALTER TABLE ${jobs} ADD COLUMN checkpoint text`
    // The status CHECK of migration 1 has the name Postgres gave it: found by what it checks. The new one is added NOT
    // VALID and then validated, so the scan of existing rows does not hold a lock that blocks writes.
    const [found] = yield* sql<{ conname: string }>`SELECT conname FROM pg_constraint
      WHERE conrelid = ${quoted(names.jobs)}::regclass AND contype = 'c'
        AND pg_get_constraintdef(oid) LIKE '%status%CANCELLING%' AND pg_get_constraintdef(oid) NOT LIKE '%PAUSING%'`
    if (found !== undefined) yield* sql`ALTER TABLE ${jobs} DROP CONSTRAINT ${sql(found.conname)}`
    const check = sql(names.index("jobs_status_check"))
    yield* sql`ALTER TABLE ${jobs} ADD CONSTRAINT ${check} CHECK (status IN (
        'CREATED', 'QUEUED', 'RUNNING', 'PAUSING', 'PAUSED', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'
      )) NOT VALID`
    yield* sql`ALTER TABLE ${jobs} VALIDATE CONSTRAINT ${check}`
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_held")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_held"))} ON ${jobs} (lease_expires_at)
      WHERE status IN ('RUNNING', 'PAUSING', 'CANCELLING')`
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_deadline")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_deadline"))} ON ${jobs} (deadline)
      WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSING', 'PAUSED')`
    yield* sql.unsafe(settle(names))
  })

/** The settle function, made again: migration 1's, with PAUSING and the checkpoint. */
const settle = (names: Names): string => {
  const q = quoted
  const jobs = q(names.jobs)
  const results = q(names.results)
  const callbacks = q(names.callbacks)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const channel = literal(names.channel)
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  return `
-- Applies settlements (see the port's Settlement): only to rows the settling claim holds (lease owner and token). A
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
) RETURNS TABLE (id text, status text) LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$
#variable_conflict use_column
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
      lease_owner = NULL,
      lease_expires_at = NULL,
      lease_token = NULL,
      updated_at = s.at
    FROM s
    -- RUNNING, PAUSING or CANCELLING, written as the statuses it is not (the table's CHECK lists them all): the
    -- planner then cannot read the held index, which would scan every held job of every worker, and finds each row
    -- by its key
    WHERE j.id = s.id AND j.lease_token = s.token AND j.lease_owner = s.worker_id
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
`
}
