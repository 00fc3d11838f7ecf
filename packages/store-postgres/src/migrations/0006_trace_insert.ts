/**
 * Migration 6: the insert functions of migration 1 write the `trace_context` column of migration 3, so a job created
 * under a span keeps that span's `traceparent` on PostgreSQL as on the other stores, and its attempt's span joins the
 * creator's trace from any process. `insert` and `insert_unkeyed` are redefined (`CREATE OR REPLACE FUNCTION`, same
 * signatures and answers) identical to migration 1's but for the one column; forward-only, like every migration.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

/** A string literal for a name that `Names` validated (letters, digits, `_`, `.` and `:` only). */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(functions(names))
  })

/** The two insert functions, as migration 1 builds them plus `trace_context`. */
const functions = (names: Names): string => {
  const q = (name: string) =>
    name
      .split(".")
      .map((part) => `"${part}"`)
      .join(".")
  const jobs = q(names.jobs)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const channel = literal(names.channel)
  const columns = `id, type, name, queue, owner, idempotency_key, status, terminal_reason, priority, params, metadata,
    tags, batch_id, callback_url, attempt, max_attempts, timeout_ms, deadline, run_at, created_at, updated_at, queued_at,
    started_at, finished_at, progress, last_error, result_id, lease_owner, lease_expires_at, lease_token, trace_context`
  const columnTypes = `id text, type text, name text, queue text, owner text, idempotency_key text, status text,
    terminal_reason text, priority integer, params text, metadata text, tags text[], batch_id text, callback_url text,
    attempt integer, max_attempts integer, timeout_ms bigint, deadline bigint, run_at bigint, created_at bigint,
    updated_at bigint, queued_at bigint, started_at bigint, finished_at bigint, progress text, last_error text,
    result_id text, lease_owner text, lease_expires_at bigint, lease_token text, trace_context text`
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  return `
-- As migration 1's insert, plus trace_context: inserts jobs, all or none; a job whose idempotency key a non-terminal
-- job holds (in the table, or earlier in the same call: input order decides) is not inserted. One answer row per
-- input, by position: holder is null when the job was inserted as given, else the holder as JSON.
CREATE OR REPLACE FUNCTION ${fn("insert")}(p_rows json, p_origin text)
RETURNS TABLE (input_ord bigint, holder json, job_number bigint) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_total integer := json_array_length(p_rows);
  v_done integer := 0;
  v_count integer;
BEGIN
  FOR v_round IN 1..5 LOOP
    RETURN QUERY
    WITH input AS (
      SELECT * FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    ), pending AS (
      -- the first round takes every input; later ones only those neither inserted nor held
      SELECT * FROM input i
      WHERE v_round = 1 OR (
        NOT EXISTS (SELECT 1 FROM ${jobs} x WHERE x.id = i.id)
        AND NOT EXISTS (
          SELECT 1 FROM ${jobs} x WHERE x.idempotency_key = i.idempotency_key AND x.owner IS NOT DISTINCT FROM i.owner
            AND x.status NOT IN ${terminal}
        )
      )
    ), ins AS (
      INSERT INTO ${jobs} (${columns})
      SELECT ${columns} FROM pending ORDER BY ord
      ON CONFLICT (idempotency_key, owner)
        WHERE idempotency_key IS NOT NULL AND status NOT IN ${terminal}
        DO NOTHING
      RETURNING id, queue, status, number
    ), signals AS (
      SELECT count(pg_notify(${channel}, json_build_object(
        '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
      )::text)) AS n
      FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED') q
    )
    SELECT p.ord, NULL::json, ins.number FROM ins JOIN pending p ON p.id = ins.id, signals;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_done := v_done + v_count;
    IF v_done >= v_total THEN
      RETURN;
    END IF;

    RETURN QUERY
    WITH input AS (
      SELECT * FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    )
    SELECT i.ord, to_json(j), j.number FROM input i
    JOIN ${jobs} j ON j.idempotency_key = i.idempotency_key AND j.owner IS NOT DISTINCT FROM i.owner
      AND j.status NOT IN ${terminal}
    WHERE NOT EXISTS (SELECT 1 FROM ${jobs} x WHERE x.id = i.id);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_done := v_done + v_count;
    IF v_done >= v_total THEN
      RETURN;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'idempotency keys kept changing hands' USING ERRCODE = '40001';
END
$fn$;

-- As migration 1's insert_unkeyed, plus trace_context: inserts jobs none of which has an idempotency key, all or
-- none, and sends one Enqueued per queue that gained a QUEUED job; answers each job's id with its number.
CREATE OR REPLACE FUNCTION ${fn("insert_unkeyed")}(p_rows json, p_origin text)
RETURNS TABLE (job_id text, job_number bigint) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH ins AS (
    INSERT INTO ${jobs} (${columns})
    SELECT ${columns} FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    ORDER BY ord
    RETURNING id, queue, status, number
  ), signals AS (
    SELECT count(pg_notify(${channel}, json_build_object(
      '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
    )::text)) AS n
    FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED') q
  )
  SELECT ins.id, ins.number FROM ins, signals;
END
$fn$;
`
}
