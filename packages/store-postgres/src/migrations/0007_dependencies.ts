/**
 * Migration 7: job dependencies (the SQLite store's migration 5 keeps the same rules). Forward-only.
 *
 * A job names the jobs it waits on (`depends_on`, JSON text, written at insert) and counts those not yet done
 * (`waiting_on`); one edge row per (dependent, dependency), indexed by the dependency, says whether that end was
 * counted. Statement-level triggers with transition tables do the counting whatever statement ends jobs (settle,
 * cancel, rescue, expiry, a cascade, a delete), in its transaction: one `count_ends` call per statement, whose single
 * UPDATE releases (or fails) every dependent of every job the statement ended. A job failed by it is ended by that
 * UPDATE, whose own trigger runs the cascade down the chain. Released queues and failed jobs are NOTIFYed (no origin:
 * every process hears them, this one included), and failed jobs with a callback URL get their callback row.
 *
 * The claim's two due indexes now leave waiting jobs out (`waiting_on = 0` in their predicate), so a claim walks only
 * jobs it may take; `claim` and `claim_limited` are redefined to match them, and `insert`/`insert_unkeyed` to write
 * the new columns (and `trace_context`, migration 3's column, which they did not write before).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = sql(names.jobs)
    const dependencies = sql(`${names.schema}.${names.prefix}dependencies`)
    // catalog-only changes: nullable columns, and a NOT NULL column with a constant default (no table rewrite)
    yield* sql`ALTER TABLE ${jobs} ADD COLUMN depends_on text, ADD COLUMN dependency_policy text
      CHECK (dependency_policy IN ('fail', 'run')), ADD COLUMN waiting_on integer NOT NULL DEFAULT 0`
    // the terminal reasons gain dependency_failed: migration 1's CHECK is replaced, whatever name it was given
    yield* sql.unsafe(`DO $do$
      DECLARE v_name text;
      BEGIN
        FOR v_name IN SELECT conname FROM pg_constraint
          WHERE conrelid = ${literal(`"${names.schema}"."${names.prefix}jobs"`)}::regclass AND contype = 'c'
            AND pg_get_constraintdef(oid) LIKE '%terminal_reason%'
        LOOP
          EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', ${literal(`"${names.schema}"."${names.prefix}jobs"`)}, v_name);
        END LOOP;
      END
    $do$`)
    yield* sql`ALTER TABLE ${jobs} ADD CONSTRAINT ${sql(names.index("jobs_terminal_reason"))} CHECK (terminal_reason IN
      ('error', 'timeout', 'expired', 'stalled', 'user', 'threshold', 'dependency_failed')) NOT VALID`
    // no foreign keys, as for the other tables (migration 1): the triggers below keep the edges
    yield* sql`CREATE TABLE ${dependencies} (
      job_id text COLLATE "C" NOT NULL,
      depends_on text COLLATE "C" NOT NULL,
      done boolean NOT NULL DEFAULT false,
      PRIMARY KEY (job_id, depends_on)
    )`
    // a job's dependents (the release, `dependsOn=` lists, the delete check)
    yield* sql`CREATE INDEX ${sql(names.index("dependencies_on"))} ON ${dependencies} (depends_on, done)`
    // the claim walks only jobs it may take
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_due")}`)}`
    yield* sql`DROP INDEX ${sql(`${names.schema}.${names.index("jobs_due_type")}`)}`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_due"))} ON ${jobs} (queue, priority DESC, run_at, id)
      WHERE status = 'QUEUED' AND waiting_on = 0`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_due_type"))} ON ${jobs} (type, priority DESC, run_at, id)
      WHERE status = 'QUEUED' AND waiting_on = 0`
    yield* sql.unsafe(functions(names))
  })

const functions = (names: Names): string => {
  const q = (name: string) =>
    name
      .split(".")
      .map((part) => `"${part}"`)
      .join(".")
  const jobs = q(names.jobs)
  const callbacks = q(names.callbacks)
  const dependencies = q(`${names.schema}.${names.prefix}dependencies`)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const channel = literal(names.channel)
  const lockPrefix = literal(names.lockKey("", "").slice(0, -2))
  const columns = `id, type, name, queue, owner, idempotency_key, status, terminal_reason, priority, params, metadata,
    tags, batch_id, callback_url, attempt, max_attempts, timeout_ms, deadline, run_at, created_at, updated_at, queued_at,
    started_at, finished_at, progress, last_error, result_id, lease_owner, lease_expires_at, lease_token, trace_context,
    depends_on, dependency_policy, waiting_on`
  // what is inserted: a missing waiting_on (most jobs) is 0
  const values = columns.replace("waiting_on", "coalesce(waiting_on, 0)")
  const columnTypes = `id text, type text, name text, queue text, owner text, idempotency_key text, status text,
    terminal_reason text, priority integer, params text, metadata text, tags text[], batch_id text, callback_url text,
    attempt integer, max_attempts integer, timeout_ms bigint, deadline bigint, run_at bigint, created_at bigint,
    updated_at bigint, queued_at bigint, started_at bigint, finished_at bigint, progress text, last_error text,
    result_id text, lease_owner text, lease_expires_at bigint, lease_token text, trace_context text, depends_on text,
    dependency_policy text, waiting_on integer`
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  const waiting = `('CREATED', 'QUEUED', 'PAUSED')`
  const claimSet = `status = 'RUNNING', attempt = j.attempt + 1, started_at = p_now, lease_owner = p_worker,
    lease_expires_at = p_now + p_lease_ms, lease_token = p_token, updated_at = p_now`
  const ofTypes = `(p_types IS NULL OR type = ANY(p_types))`
  // a job the claim may take: queued, and waiting on no dependency (the due indexes' predicate)
  const due = `status = 'QUEUED' AND waiting_on = 0`
  return `
-- Inserts jobs, all or none (see migration 1; now with trace_context and the dependency columns). A job whose
-- idempotency key a non-terminal job holds is not inserted; one answer row per input, by position.
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
      SELECT ${values} FROM pending ORDER BY ord
      ON CONFLICT (idempotency_key, owner)
        WHERE idempotency_key IS NOT NULL AND status NOT IN ${terminal}
        DO NOTHING
      RETURNING id, queue, status, waiting_on, number
    ), signals AS (
      SELECT count(pg_notify(${channel}, json_build_object(
        '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
      )::text)) AS n
      FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED' AND waiting_on = 0) q
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

-- Inserts jobs none of which has an idempotency key, all or none (see migration 1; now with trace_context and the
-- dependency columns). A queue is announced only for jobs that wait on nothing.
CREATE OR REPLACE FUNCTION ${fn("insert_unkeyed")}(p_rows json, p_origin text)
RETURNS TABLE (job_id text, job_number bigint) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH ins AS (
    INSERT INTO ${jobs} (${columns})
    SELECT ${values} FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    ORDER BY ord
    RETURNING id, queue, status, waiting_on, number
  ), signals AS (
    SELECT count(pg_notify(${channel}, json_build_object(
      '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
    )::text)) AS n
    FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED' AND waiting_on = 0) q
  )
  SELECT ins.id, ins.number FROM ins, signals;
END
$fn$;

-- The claim of migration 1, taking only jobs that wait on no dependency: every due-row filter says
-- "${due}", the predicate of the due indexes, so the generic plans keep walking them.
CREATE OR REPLACE FUNCTION ${fn("claim")}(
  p_worker text, p_token text, p_now bigint, p_lease_ms bigint, p_limit integer, p_queues text[], p_types text[],
  p_type_limits json, p_queue_limits json, p_async boolean
) RETURNS SETOF ${jobs} LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
  SET enable_sort = off SET jit = off AS $fn$
#variable_conflict use_column
DECLARE
  v_types text[] := '{}';
  v_queues text[] := '{}';
  v_due_types text[] := '{}';
  v_due_queues text[] := '{}';
  v_queue text;
BEGIN
  IF p_async THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  IF p_type_limits::text <> '{}' OR p_queue_limits::text <> '{}' THEN
    v_types := ARRAY(SELECT json_object_keys(p_type_limits));
    v_queues := ARRAY(SELECT k FROM json_object_keys(p_queue_limits) AS k WHERE k = ANY(p_queues));
    v_due_types := ARRAY(SELECT t FROM unnest(v_types) AS t WHERE (p_types IS NULL OR t = ANY(p_types)) AND EXISTS (
      SELECT 1 FROM ${jobs} WHERE ${due} AND type = t AND run_at <= p_now AND queue = ANY(p_queues)));
    v_due_queues := ARRAY(SELECT k FROM unnest(v_queues) AS k WHERE EXISTS (
      SELECT 1 FROM ${jobs} WHERE ${due} AND queue = k AND run_at <= p_now AND ${ofTypes}));
  END IF;

  IF cardinality(v_due_types) > 0 OR cardinality(v_due_queues) > 0 THEN
    RETURN QUERY SELECT * FROM ${fn("claim_limited")}(
      p_worker, p_token, p_now, p_lease_ms, p_limit, p_queues, p_types, p_type_limits, p_queue_limits, v_types,
      v_queues, v_due_types, v_due_queues
    );
    RETURN;
  END IF;

  IF cardinality(p_queues) = 1 AND cardinality(v_types) = 0 AND cardinality(v_queues) = 0 THEN
    v_queue := p_queues[1];
    RETURN QUERY
    UPDATE ${jobs} j SET ${claimSet}
    WHERE j.id = ANY(ARRAY(
      SELECT id FROM ${jobs} WHERE ${due} AND queue = v_queue AND run_at <= p_now AND ${ofTypes}
      ORDER BY priority DESC, run_at, id LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ))
    RETURNING j.*;
  ELSIF cardinality(p_queues) = 1 THEN
    v_queue := p_queues[1];
    RETURN QUERY
    UPDATE ${jobs} j SET ${claimSet}
    WHERE j.id = ANY(ARRAY(
      SELECT id FROM ${jobs}
      WHERE ${due} AND queue = v_queue AND run_at <= p_now AND ${ofTypes}
        AND type <> ALL(v_types) AND queue <> ALL(v_queues)
      ORDER BY priority DESC, run_at, id LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ))
    RETURNING j.*;
  ELSE
    RETURN QUERY
    UPDATE ${jobs} j SET ${claimSet}
    WHERE j.id = ANY(ARRAY(
      SELECT id FROM ${jobs}
      WHERE ${due} AND run_at <= p_now AND queue = ANY(p_queues) AND ${ofTypes}
        AND type <> ALL(v_types) AND queue <> ALL(v_queues)
      ORDER BY priority DESC, run_at, id LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ))
    RETURNING j.*;
  END IF;
END
$fn$;

-- The limited claim of migration 1, taking only jobs that wait on no dependency.
CREATE OR REPLACE FUNCTION ${fn("claim_limited")}(
  p_worker text, p_token text, p_now bigint, p_lease_ms bigint, p_limit integer, p_queues text[], p_types text[],
  p_type_limits json, p_queue_limits json, v_types text[], v_queues text[], v_due_types text[], v_due_queues text[]
) RETURNS SETOF ${jobs} LANGUAGE plpgsql SET plan_cache_mode = auto SET enable_seqscan = on SET enable_bitmapscan = on
  SET enable_sort = on SET jit = off AS $fn$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(k) FROM (
    SELECT DISTINCT hashtext(key)::int8 AS k FROM unnest(
      ARRAY(SELECT ${lockPrefix} || ':type:' || t FROM unnest(v_due_types) AS t)
      || ARRAY(SELECT ${lockPrefix} || ':queue:' || k FROM unnest(v_due_queues) AS k)
    ) AS key ORDER BY 1
  ) keys;

  RETURN QUERY
  WITH free AS (
    SELECT id, type, queue, priority, run_at FROM ${jobs}
    WHERE ${due} AND run_at <= p_now AND queue = ANY(p_queues) AND ${ofTypes}
      AND type <> ALL(v_types) AND queue <> ALL(v_queues)
    ORDER BY priority DESC, run_at, id LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  ), type_room AS (
    SELECT t AS key, (p_type_limits ->> t)::integer - (
      SELECT count(*) FROM ${jobs} WHERE status IN ('RUNNING', 'PAUSING', 'CANCELLING') AND type = t
    ) AS room FROM unnest(v_due_types) AS t
  ), queue_room AS (
    SELECT k AS key, (p_queue_limits ->> k)::integer - (
      SELECT count(*) FROM ${jobs} WHERE status IN ('RUNNING', 'PAUSING', 'CANCELLING') AND queue = k
    ) AS room FROM unnest(v_due_queues) AS k
  ), limited AS (
    SELECT c.* FROM type_room r, LATERAL (
      SELECT id, type, queue, priority, run_at FROM ${jobs}
      WHERE ${due} AND run_at <= p_now AND queue = ANY(p_queues) AND type = r.key
        AND (queue <> ALL(v_queues) OR queue = ANY(v_due_queues))
      ORDER BY priority DESC, run_at, id LIMIT greatest(r.room, 0)
    ) c
    UNION
    SELECT c.* FROM queue_room r, LATERAL (
      SELECT id, type, queue, priority, run_at FROM ${jobs}
      WHERE ${due} AND run_at <= p_now AND queue = r.key AND ${ofTypes}
        AND (type <> ALL(v_types) OR type = ANY(v_due_types))
      ORDER BY priority DESC, run_at, id LIMIT greatest(r.room, 0)
    ) c
  ), ranked AS (
    SELECT c.*,
      row_number() OVER (PARTITION BY c.type ORDER BY c.priority DESC, c.run_at, c.id) AS type_rank,
      row_number() OVER (PARTITION BY c.queue ORDER BY c.priority DESC, c.run_at, c.id) AS queue_rank
    FROM limited c
  ), chosen AS (
    SELECT id, priority, run_at FROM free
    UNION ALL
    SELECT k.id, k.priority, k.run_at FROM ranked k
    LEFT JOIN type_room t ON t.key = k.type
    LEFT JOIN queue_room q ON q.key = k.queue
    WHERE (t.key IS NULL OR k.type_rank <= t.room) AND (q.key IS NULL OR k.queue_rank <= q.room)
    ORDER BY priority DESC, run_at, id LIMIT p_limit
  )
  UPDATE ${jobs} j SET ${claimSet} FROM chosen
  WHERE j.id = chosen.id AND j.status = 'QUEUED' AND j.waiting_on = 0 RETURNING j.*;
END
$fn$;

-- Counts the ends of jobs (p_ids, with their statuses and the ending write's time) for their dependents whose edge is
-- not counted yet, in one statement: waiting_on − 1 per end; a 'fail' dependent still waiting (CREATED, QUEUED,
-- PAUSED) ends FAILED (dependency_failed, last_error naming the first failed dependency, finished_at, its callback
-- row) when an end is not a success. NOTIFYs Changed for each failed job and Enqueued for each queue with a released
-- one. The UPDATE of the dependents fires the jobs' trigger in turn: the cascade goes down the chain.
CREATE FUNCTION ${fn("count_ends")}(p_ids text[], p_statuses text[], p_nows bigint[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $fn$
#variable_conflict use_column
DECLARE
  v_sent bigint;
BEGIN
  WITH ended AS (
    SELECT * FROM unnest(p_ids, p_statuses, p_nows) AS e(id, status, at)
  ), edges AS (
    UPDATE ${dependencies} d SET done = true FROM ended e
    WHERE d.depends_on = e.id AND NOT d.done
    RETURNING d.job_id, e.id AS dependency, e.status, e.at
  ), counted AS (
    SELECT job_id, count(*)::integer AS n, max(at) AS at,
      (array_agg(dependency ORDER BY dependency) FILTER (WHERE status <> 'SUCCEEDED'))[1] AS failed_id,
      (array_agg(status ORDER BY dependency) FILTER (WHERE status <> 'SUCCEEDED'))[1] AS failed_status
    FROM edges GROUP BY job_id
  ), plan AS (
    SELECT c.*, (c.failed_id IS NOT NULL AND coalesce(j.dependency_policy, 'fail') = 'fail'
      AND j.status IN ${waiting}) AS fails
    FROM counted c JOIN ${jobs} j ON j.id = c.job_id
  ), updated AS (
    UPDATE ${jobs} j SET
      waiting_on = greatest(j.waiting_on - p.n, 0),
      status = CASE WHEN p.fails THEN 'FAILED' ELSE j.status END,
      terminal_reason = CASE WHEN p.fails THEN 'dependency_failed' ELSE j.terminal_reason END,
      last_error = CASE WHEN p.fails THEN json_build_object(
        'message', 'dependency ' || p.failed_id || ' ended ' || p.failed_status,
        'tag', 'DependencyFailed',
        'at', to_char((to_timestamp(p.at / 1000) + (p.at % 1000) * interval '1 millisecond') AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )::text ELSE j.last_error END,
      finished_at = CASE WHEN p.fails THEN p.at ELSE j.finished_at END,
      updated_at = CASE WHEN j.status IN ${waiting} THEN p.at ELSE j.updated_at END
    FROM plan p WHERE j.id = p.job_id
    RETURNING j.id, j.queue, j.status, j.waiting_on, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
      p.fails, p.at
  ), owed AS (
    INSERT INTO ${callbacks} (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
    SELECT gen_random_uuid()::text, u.id, u.callback_url, u.status, u.terminal_reason, u.result_id, u.finished_at, 0,
      u.at
    FROM updated u WHERE u.fails AND u.callback_url IS NOT NULL
  )
  SELECT count(pg_notify(${channel}, payload)) INTO v_sent FROM (
    SELECT json_build_object('_tag', 'Changed', 'id', id, 'status', 'FAILED', 'reason', 'dependency_failed')::text
      AS payload
    FROM updated WHERE fails
    UNION
    SELECT json_build_object('_tag', 'Enqueued', 'queue', queue)::text
    FROM updated WHERE NOT fails AND status = 'QUEUED' AND waiting_on = 0
  ) s;
END
$fn$;

-- The jobs' statement-level trigger: every statement that ends jobs (or deletes unfinished ones: to those still
-- waiting on them they failed) counts their ends in one call. Most updates end nothing (claims, heartbeats,
-- progress): those leave after one look at the new rows.
CREATE FUNCTION ${fn("jobs_ended")}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE status IN ${terminal}) THEN
      RETURN NULL;
    END IF;
    PERFORM ${fn("count_ends")}(array_agg(n.id), array_agg(n.status), array_agg(n.updated_at))
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status IN ${terminal} AND o.status NOT IN ${terminal}
    HAVING count(*) > 0;
  ELSE
    PERFORM ${fn("count_ends")}(array_agg(o.id), array_agg('FAILED'::text),
      array_agg((extract(epoch FROM clock_timestamp()) * 1000)::bigint))
    FROM old_rows o WHERE o.status NOT IN ${terminal}
    HAVING count(*) > 0;
    -- two statements, so each walks its index (the key, and the dependency's)
    DELETE FROM ${dependencies} WHERE job_id IN (SELECT id FROM old_rows);
    DELETE FROM ${dependencies} WHERE depends_on IN (SELECT id FROM old_rows);
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ${q(names.index("jobs_ended"))} AFTER UPDATE ON ${jobs}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn("jobs_ended")}();

CREATE TRIGGER ${q(names.index("jobs_deleted"))} AFTER DELETE ON ${jobs}
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn("jobs_ended")}();
`
}
