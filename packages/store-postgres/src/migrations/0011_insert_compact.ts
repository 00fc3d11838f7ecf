/**
 * Migration 11: the unkeyed insert takes its rows in a compact form. Forward-only.
 *
 * `insert_unkeyed(p_rows json, p_origin text)` keeps its signature and its answer; `p_rows` may now also be an
 * object `{"common": {...}, "rows": [{...}, ...]}`: `common` holds the columns whose value every job of the call
 * shares (in a bulk enqueue all but the id and the params: type, queue, status, times, progress...), each row only
 * the columns that differ from job to job. A column is in one of the two, never both, so each inserted value is the
 * row's, else the common one. The JSON sent for 1,000 jobs shrinks to about a fifth, and with it the client's
 * JSON.stringify and the server's json_to_recordset (which looks each declared column up in every object). An
 * array, as before, is still read the old way (a client of the previous version, until it restarts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(functions(names))
  })

const functions = (names: Names): string => {
  const q = (name: string) =>
    name
      .split(".")
      .map((part) => `"${part}"`)
      .join(".")
  const jobs = q(names.jobs)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const channel = literal(names.channel)
  // the columns of migration 7's insert, in its order
  const list = [
    "id",
    "type",
    "name",
    "queue",
    "owner",
    "idempotency_key",
    "status",
    "terminal_reason",
    "priority",
    "params",
    "metadata",
    "tags",
    "batch_id",
    "callback_url",
    "attempt",
    "max_attempts",
    "timeout_ms",
    "deadline",
    "run_at",
    "created_at",
    "updated_at",
    "queued_at",
    "started_at",
    "finished_at",
    "progress",
    "last_error",
    "result_id",
    "lease_owner",
    "lease_expires_at",
    "lease_token",
    "trace_context",
    "depends_on",
    "dependency_policy",
    "waiting_on"
  ]
  const columns = list.join(", ")
  const columnTypes = `id text, type text, name text, queue text, owner text, idempotency_key text, status text,
    terminal_reason text, priority integer, params text, metadata text, tags text[], batch_id text, callback_url text,
    attempt integer, max_attempts integer, timeout_ms bigint, deadline bigint, run_at bigint, created_at bigint,
    updated_at bigint, queued_at bigint, started_at bigint, finished_at bigint, progress text, last_error text,
    result_id text, lease_owner text, lease_expires_at bigint, lease_token text, trace_context text, depends_on text,
    dependency_policy text, waiting_on integer`
  // what is inserted: a missing waiting_on (most jobs) is 0
  const values = columns.replace("waiting_on", "coalesce(waiting_on, 0)")
  const merged = list
    .map((column) =>
      column === "waiting_on" ? `coalesce(r.waiting_on, c.waiting_on, 0)` : `coalesce(r.${column}, c.${column})`
    )
    .join(", ")
  const signals = `signals AS (
    SELECT count(pg_notify(${channel}, json_build_object(
      '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
    )::text)) AS n
    FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED' AND waiting_on = 0) q
  )`
  return `
-- Inserts jobs none of which has an idempotency key, all or none (see migration 7), from an array of rows or from
-- the compact form {"common": {...}, "rows": [...]} (see above). A queue is announced only for jobs that wait on
-- nothing.
CREATE OR REPLACE FUNCTION ${fn("insert_unkeyed")}(p_rows json, p_origin text)
RETURNS TABLE (job_id text, job_number bigint) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  IF json_typeof(p_rows) = 'object' THEN
    RETURN QUERY
    WITH ins AS (
      INSERT INTO ${jobs} (${columns})
      SELECT ${merged}
      FROM ROWS FROM (json_to_recordset(p_rows->'rows') AS (${columnTypes})) WITH ORDINALITY AS r(${columns}, ord),
        json_to_record(p_rows->'common') AS c(${columnTypes})
      ORDER BY r.ord
      RETURNING id, queue, status, waiting_on, number
    ), ${signals}
    SELECT ins.id, ins.number FROM ins, signals;
    RETURN;
  END IF;
  RETURN QUERY
  WITH ins AS (
    INSERT INTO ${jobs} (${columns})
    SELECT ${values} FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    ORDER BY ord
    RETURNING id, queue, status, waiting_on, number
  ), ${signals}
  SELECT ins.id, ins.number FROM ins, signals;
END
$fn$;
`
}
