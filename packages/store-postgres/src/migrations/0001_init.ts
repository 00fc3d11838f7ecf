/**
 * Migration 1 (the same number as the SQLite store's): jobs, logs, results, callbacks and the indexes the hot paths
 * need. Times are epoch milliseconds (`bigint`), JSON is `text` (the store never looks inside it, so it never pays for
 * a jsonb parse), tags are `text[]`.
 *
 * Index choice: every claim and settle rewrites a job row with a changed status, which is never a HOT update, so every
 * index whose predicate the new row satisfies gains an entry. The hot-path indexes are therefore partial (a row is in
 * the due index only while QUEUED, in the lease index only while held), and list sorts other than `createdAt` are
 * left to a sort over the filtered rows rather than taxing every write.
 *
 * The hot paths (insert, claim, settle, log append) are PL/pgSQL functions, as graphile-worker's are: a function's
 * statements are planned once per session and their plans cached, where a statement sent as text is planned at every
 * call, which costs more than executing it. A claim under limits also needs a lock, then a fresh snapshot: inside a
 * VOLATILE function each statement takes its own, so the whole limited claim is one round trip.
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
        lease_expires_at bigint,
        -- the claim that holds the lease: every worker write is guarded by it (see the port's ClaimOptions.token)
        lease_token text
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
    // one holder per key and owner among non-terminal jobs (a null owner is one owner); inserts use ON CONFLICT
    // against exactly these columns and predicate
    yield* sql`CREATE UNIQUE INDEX ${sql(names.index("jobs_idempotency"))} ON ${jobs} (idempotency_key, owner)
      NULLS NOT DISTINCT
      WHERE idempotency_key IS NOT NULL AND status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_created"))} ON ${jobs} (created_at, id)`
    // pruning by age and batch summaries; each row enters these at most once per attempt
    yield* sql`CREATE INDEX ${sql(names.index("jobs_finished"))} ON ${jobs} (finished_at)
      WHERE finished_at IS NOT NULL`
    yield* sql`CREATE INDEX ${sql(names.index("jobs_batch"))} ON ${jobs} (batch_id) WHERE batch_id IS NOT NULL`

    // No foreign keys: a key check would lock the job row for every log line; deletes cascade explicitly instead.
    // Lines are only ever read, trimmed and deleted by job, so the key leads with the job: one index per line, where
    // a key on id alone would add a second one that nothing reads (the identity already makes ids unique).
    yield* sql`
      CREATE TABLE ${sql(names.logs)} (
        id bigint GENERATED ALWAYS AS IDENTITY,
        job_id text COLLATE "C" NOT NULL,
        at bigint NOT NULL,
        level text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        message text NOT NULL,
        PRIMARY KEY (job_id, id)
      )`

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

    yield* sql.unsafe(functions(names))
  })

/**
 * The hot-path functions. Identifiers and literals come from `Names` (validated); the bodies are dollar-quoted, so
 * they are built as text. `#variable_conflict use_column`: a parameter or output name never shadows a column.
 */
const functions = (names: Names): string => {
  const q = (name: string) =>
    name
      .split(".")
      .map((part) => `"${part}"`)
      .join(".")
  const jobs = q(names.jobs)
  const logs = q(names.logs)
  const results = q(names.results)
  const callbacks = q(names.callbacks)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const channel = literal(names.channel)
  const lockPrefix = literal(names.lockKey("", "").slice(0, -2))
  const columns = `id, type, name, queue, owner, idempotency_key, status, terminal_reason, priority, params, metadata,
    tags, batch_id, callback_url, attempt, max_attempts, timeout_ms, deadline, run_at, created_at, updated_at, queued_at,
    started_at, finished_at, progress, last_error, result_id, lease_owner, lease_expires_at, lease_token`
  const columnTypes = `id text, type text, name text, queue text, owner text, idempotency_key text, status text,
    terminal_reason text, priority integer, params text, metadata text, tags text[], batch_id text, callback_url text,
    attempt integer, max_attempts integer, timeout_ms bigint, deadline bigint, run_at bigint, created_at bigint,
    updated_at bigint, queued_at bigint, started_at bigint, finished_at bigint, progress text, last_error text,
    result_id text, lease_owner text, lease_expires_at bigint, lease_token text`
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  const claimSet = `status = 'RUNNING', attempt = j.attempt + 1, started_at = p_now, lease_owner = p_worker,
    lease_expires_at = p_now + p_lease_ms, lease_token = p_token, updated_at = p_now`
  // the types the claiming worker has handlers for (null: any type)
  const ofTypes = `(p_types IS NULL OR type = ANY(p_types))`
  // a callback row for each row of "updated" that just became terminal with a callback URL
  const newCallbacks = (at: string) => `
    INSERT INTO ${callbacks} (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
    SELECT gen_random_uuid()::text, u.id, u.callback_url, u.status, u.terminal_reason, u.result_id, u.finished_at, 0,
      ${at}
    FROM updated u WHERE u.callback_url IS NOT NULL AND u.status IN ${terminal}`
  return `
-- Inserts jobs, all or none. A job whose idempotency key a non-terminal job holds (in the table, or earlier in the
-- same call: input order decides) is not inserted. One answer row per input, by position: holder is null when the
-- job was inserted as given (the caller has it already: nothing travels back), else the holder as JSON. Each statement below takes a fresh snapshot, so a holder that committed while
-- we waited on its key is seen, and a key whose holder turned terminal meanwhile is inserted after all.
CREATE FUNCTION ${fn("insert")}(p_rows json, p_origin text)
RETURNS TABLE (input_ord bigint, holder json) LANGUAGE plpgsql AS $fn$
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
      RETURNING id, queue, status
    ), signals AS (
      SELECT count(pg_notify(${channel}, json_build_object(
        '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
      )::text)) AS n
      FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED') q
    )
    SELECT p.ord, NULL::json FROM ins JOIN pending p ON p.id = ins.id, signals;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_done := v_done + v_count;
    IF v_done >= v_total THEN
      RETURN;
    END IF;

    RETURN QUERY
    WITH input AS (
      SELECT * FROM ROWS FROM (json_to_recordset(p_rows) AS (${columnTypes})) WITH ORDINALITY AS u(${columns}, ord)
    )
    SELECT i.ord, to_json(j) FROM input i
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

-- Inserts jobs none of which has an idempotency key, all or none: one plain INSERT, and one Enqueued per queue that
-- gained a QUEUED job. p_origin: the inserting store's mark on the signals (null inside a caller's transaction), which
-- publishes them in-process itself once the insert committed.
CREATE FUNCTION ${fn("insert_unkeyed")}(p_rows json, p_origin text) RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_signals bigint;
BEGIN
  WITH ins AS (
    INSERT INTO ${jobs} (${columns})
    SELECT ${columns} FROM json_to_recordset(p_rows) AS (${columnTypes})
    RETURNING queue, status
  )
  SELECT count(pg_notify(${channel}, json_build_object(
    '_tag', 'Enqueued', 'queue', queue, 'origin', p_origin
  )::text)) INTO v_signals
  FROM (SELECT DISTINCT queue FROM ins WHERE status = 'QUEUED') q;
END
$fn$;

-- Claims up to p_limit due jobs of p_types (null: any), in claim order (priority desc, run_at, id), each under the
-- claim's token p_token.
-- Without limits, or while no job of a limited type or queue is due: one UPDATE of the rows a sub-select takes off the
-- due index, SKIP LOCKED (NO KEY UPDATE is the weakest lock that excludes other claimers; SKIP LOCKED lets them pass
-- each other); see claim_limited for the rest. Its plans are generic, made once per session: with parameters in the
-- LIMIT and the run_at bound, the planner would otherwise plan the statement anew at every call (a custom plan looks
-- cheaper than a generic one), which costs more than running it. A generic plan knows no values, so it must not be
-- left to estimates: the rows to update are found by key (id = ANY), never by a join the planner could get wrong, and
-- seq scans, bitmap scans and sorts are off (without the LIMIT's value, reading and sorting every due job can look
-- cheapest; a sort stays where no index gives the order, as across queues). JIT is off here and in the other hot-path
-- functions: a plan that must keep a disabled step is costed above jit_above_cost, and compiling it would take longer
-- than any claim.
CREATE FUNCTION ${fn("claim")}(
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
      SELECT 1 FROM ${jobs} WHERE status = 'QUEUED' AND type = t AND run_at <= p_now AND queue = ANY(p_queues)));
    v_due_queues := ARRAY(SELECT k FROM unnest(v_queues) AS k WHERE EXISTS (
      SELECT 1 FROM ${jobs} WHERE status = 'QUEUED' AND queue = k AND run_at <= p_now AND ${ofTypes}));
  END IF;

  IF cardinality(v_due_types) > 0 OR cardinality(v_due_queues) > 0 THEN
    RETURN QUERY SELECT * FROM ${fn("claim_limited")}(
      p_worker, p_token, p_now, p_lease_ms, p_limit, p_queues, p_types, p_type_limits, p_queue_limits, v_types,
      v_queues, v_due_types, v_due_queues
    );
    RETURN;
  END IF;

  -- limited jobs that turn due from here on wait for the next claim: they are left out, as they are unlocked
  IF cardinality(p_queues) = 1 AND cardinality(v_types) = 0 AND cardinality(v_queues) = 0 THEN
    -- one queue, no limits (the usual case): the due index yields rows in claim order, the scan stops after p_limit
    v_queue := p_queues[1];
    RETURN QUERY
    UPDATE ${jobs} j SET ${claimSet}
    WHERE j.id = ANY(ARRAY(
      SELECT id FROM ${jobs} WHERE status = 'QUEUED' AND queue = v_queue AND run_at <= p_now AND ${ofTypes}
      ORDER BY priority DESC, run_at, id LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ))
    RETURNING j.*;
  ELSIF cardinality(p_queues) = 1 THEN
    -- one queue, limits none of whose jobs is due: the same walk, leaving limited jobs out
    v_queue := p_queues[1];
    RETURN QUERY
    UPDATE ${jobs} j SET ${claimSet}
    WHERE j.id = ANY(ARRAY(
      SELECT id FROM ${jobs}
      WHERE status = 'QUEUED' AND queue = v_queue AND run_at <= p_now AND ${ofTypes}
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
      WHERE status = 'QUEUED' AND run_at <= p_now AND queue = ANY(p_queues) AND ${ofTypes}
        AND type <> ALL(v_types) AND queue <> ALL(v_queues)
      ORDER BY priority DESC, run_at, id LIMIT p_limit
      FOR NO KEY UPDATE SKIP LOCKED
    ))
    RETURNING j.*;
  END IF;
END
$fn$;

-- The claim while a job of a limited type or queue is due (v_due_*: those keys; v_types, v_queues: every limited
-- key). Each limited key with due jobs is serialised by a transaction-scoped advisory lock, taken in hash order
-- (no deadlock); the statement after the locks runs on a fresh snapshot (a VOLATILE function takes one per
-- statement), so it counts every claim committed under them. It ranks the best free jobs together with each locked
-- key's best 'room' jobs, and keeps a limited candidate only while each of its limited keys has room when counted in
-- claim order (row_number per key): never above a limit, at worst a slot short until the next claim, and no job
-- starved by a stream of free ones ranked below it. Planned as any statement is (its joins need the actual values).
CREATE FUNCTION ${fn("claim_limited")}(
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
    WHERE status = 'QUEUED' AND run_at <= p_now AND queue = ANY(p_queues) AND ${ofTypes}
      AND type <> ALL(v_types) AND queue <> ALL(v_queues)
    ORDER BY priority DESC, run_at, id LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  ), type_room AS (
    SELECT t AS key, (p_type_limits ->> t)::integer - (
      SELECT count(*) FROM ${jobs} WHERE status IN ('RUNNING', 'CANCELLING') AND type = t
    ) AS room FROM unnest(v_due_types) AS t
  ), queue_room AS (
    SELECT k AS key, (p_queue_limits ->> k)::integer - (
      SELECT count(*) FROM ${jobs} WHERE status IN ('RUNNING', 'CANCELLING') AND queue = k
    ) AS room FROM unnest(v_due_queues) AS k
  ), limited AS (
    -- only keys we hold the lock of: a job's other limited key, if not locked, keeps it out
    SELECT c.* FROM type_room r, LATERAL (
      SELECT id, type, queue, priority, run_at FROM ${jobs}
      WHERE status = 'QUEUED' AND run_at <= p_now AND queue = ANY(p_queues) AND type = r.key
        AND (queue <> ALL(v_queues) OR queue = ANY(v_due_queues))
      ORDER BY priority DESC, run_at, id LIMIT greatest(r.room, 0)
    ) c
    UNION
    SELECT c.* FROM queue_room r, LATERAL (
      SELECT id, type, queue, priority, run_at FROM ${jobs}
      WHERE status = 'QUEUED' AND run_at <= p_now AND queue = r.key AND ${ofTypes}
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
  -- limited rows need no SKIP LOCKED: every other claimer of them waits on the advisory locks we hold
  UPDATE ${jobs} j SET ${claimSet} FROM chosen WHERE j.id = chosen.id AND j.status = 'QUEUED' RETURNING j.*;
END
$fn$;


-- Applies settlements (see the port's Settlement): only to rows the settling claim holds (lease owner and token); a
-- CANCELLING row always
-- becomes CANCELLED. One call carries any mix of settlements, of any number of workers; each job at most once.
-- p_logs (or null): log lines appended first, in the same transaction (see append_logs).
-- Announces Enqueued for each queue that gained a QUEUED job, and for each queue of a settled job whose type or
-- queue is limited (p_limited_*): its slot is free now, and idle workers of any process may take the next job.
-- enable_seqscan off: its plans are cached per session, and each statement has an index path whatever the table's
-- size when the plan was made (see append_logs).
CREATE FUNCTION ${fn("settle")}(
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
      fail_status text, reason text, result_id text, result_value text
    )
  ), updated AS (
    UPDATE ${jobs} j SET
      status = CASE
        WHEN j.status = 'CANCELLING' OR s.kind = 'Cancelled' THEN 'CANCELLED'
        WHEN s.kind = 'Complete' THEN 'SUCCEEDED'
        WHEN s.kind = 'Fail' THEN s.fail_status
        ELSE 'QUEUED' END,
      terminal_reason = CASE
        WHEN j.status = 'CANCELLING' OR s.kind = 'Cancelled' THEN 'user'
        WHEN s.kind = 'Complete' THEN NULL
        WHEN s.kind = 'Fail' THEN s.reason
        ELSE j.terminal_reason END,
      finished_at = CASE
        WHEN j.status = 'CANCELLING' OR s.kind IN ('Cancelled', 'Complete', 'Fail') THEN s.at
        ELSE j.finished_at END,
      result_id = CASE WHEN j.status = 'RUNNING' AND s.kind = 'Complete' THEN s.result_id ELSE j.result_id END,
      run_at = CASE WHEN j.status = 'RUNNING' AND s.kind = 'Retry' THEN s.run_at ELSE j.run_at END,
      last_error = CASE
        WHEN j.status = 'RUNNING' AND s.kind IN ('Retry', 'Fail') THEN s.last_error
        ELSE j.last_error END,
      -- a graceful shutdown gives the attempt back
      attempt = CASE WHEN j.status = 'RUNNING' AND s.kind = 'Release' THEN greatest(j.attempt - 1, 0)
        ELSE j.attempt END,
      progress = COALESCE(s.progress, j.progress),
      lease_owner = NULL,
      lease_expires_at = NULL,
      lease_token = NULL,
      updated_at = s.at
    FROM s
    -- RUNNING or CANCELLING, written as the statuses it is not (the table's CHECK lists them all): the planner then
    -- cannot read the held index, which would scan every held job of every worker, and finds each row by its key
    WHERE j.id = s.id AND j.lease_token = s.token AND j.lease_owner = s.worker_id
      AND j.status NOT IN ('CREATED', 'QUEUED', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
    RETURNING j.id, j.status, j.type, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
      s.result_value, s.at
  ), new_results AS (
    INSERT INTO ${results} (id, job_id, value, created_at)
    SELECT u.result_id, u.id, u.result_value, u.at FROM updated u
    WHERE u.status = 'SUCCEEDED' AND u.result_id IS NOT NULL AND u.result_value IS NOT NULL
  ), new_callbacks AS (${newCallbacks("u.at")}
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

-- Appends log lines (of existing jobs only; a line with a token only while that claim holds its job), then drops each touched job's oldest lines beyond its cap: the line's
-- own "cap" when it carries one (lines of workers with different caps may share a call), else p_cap.
-- enable_seqscan off: a plan is cached per session, and one made while the logs table was small (a seq scan then
-- looks cheapest) would scan the whole table at every call once it is large; every statement here has an index path.
CREATE FUNCTION ${fn("append_logs")}(p_rows json, p_cap integer, p_async boolean) RETURNS void
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$
#variable_conflict use_column
DECLARE
  v_jobs text[];
  v_caps integer[];
  v_cutoffs bigint[];
BEGIN
  IF p_async THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  -- the jobs of the input and their caps come out of the same parse of p_rows
  WITH input AS (
    SELECT * FROM ROWS FROM (
      json_to_recordset(p_rows) AS ("jobId" text, at bigint, level text, message text, cap integer, token text)
    ) WITH ORDINALITY AS u(job_id, at, level, message, cap, token, ord)
  ), inserted AS (
    INSERT INTO ${logs} (job_id, at, level, message)
    SELECT i.job_id, i.at, i.level, i.message FROM input i
    WHERE EXISTS (SELECT 1 FROM ${jobs} j WHERE j.id = i.job_id AND (i.token IS NULL OR (
      j.lease_token = i.token AND j.status NOT IN ('CREATED', 'QUEUED', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
    )))
    ORDER BY i.ord
  )
  SELECT array_agg(job_id), array_agg(cap) INTO v_jobs, v_caps FROM (
    SELECT job_id, greatest(max(coalesce(cap, p_cap)), 0) AS cap FROM input GROUP BY job_id
  ) t;
  -- a statement of its own, so it sees the lines just inserted. Every job of the input is probed (a missing one has
  -- no lines): one step down the key each, which stops at once for a job under its cap, and no delete at all when
  -- every job is
  SELECT array_agg(t.job_id), array_agg(c.id) INTO v_jobs, v_cutoffs
  FROM unnest(v_jobs, v_caps) AS t(job_id, cap) CROSS JOIN LATERAL (
    SELECT x.id FROM ${logs} x WHERE x.job_id = t.job_id ORDER BY x.id DESC OFFSET t.cap LIMIT 1
  ) c;
  IF v_jobs IS NOT NULL THEN
    DELETE FROM ${logs} l USING unnest(v_jobs, v_cutoffs) AS c(job_id, cutoff)
    WHERE l.job_id = c.job_id AND l.id <= c.cutoff;
  END IF;
END
$fn$;
`
}
