/**
 * The `JobStore` port on Postgres. Every method is one statement where one statement can do it (data-modifying CTEs
 * keep a write, its callback rows, its result row and its NOTIFY atomic without a BEGIN/COMMIT round trip each), and
 * every time comes from the caller's `now` so that `TestClock` drives this store as it drives the others.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import type { Job } from "@jobloom/core"
import { JobStore } from "@jobloom/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Items from "./items.js"
import * as Prune from "./prune.js"
import * as Schedules from "./schedules.js"
import type { Names } from "./names.js"
import type { Signals } from "./signals.js"
import type { Row } from "./rows.js"
import { columnOf, mapErrors, toCallbackRow, toJobRow, toJsonRow, toLogRow, toResultRow } from "./rows.js"

type JobRow = JobStore.JobRow
type JobStatus = Job.JobStatus
type StatusChange = JobStore.StatusChange
type Settlement = JobStore.Settlement
type JobStoreError = JobStore.JobStoreError

/** How many settlements one batched statement carries at most. */
const MAX_SETTLE_BATCH = 1000

/** Options of {@link make}. */
export interface StoreOptions {
  /** The worker's writes wait for the WAL flush too (see `PgJobStore.StoreOptions`). */
  readonly durableWorkerWrites: boolean
}

/** Builds the store over the `SqlClient` in context (already migrated). */
export const make = (names: Names, signals: Signals, options: StoreOptions) =>
  Effect.gen(function* () {
    // the host's client may transform names (camelCase); this store speaks snake_case columns as they are
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const jobs = sql(names.jobs)
    const logs = sql(names.logs)
    const results = sql(names.results)
    const callbacks = sql(names.callbacks)
    const channel = names.channel
    /** A hot-path function of migration 1. */
    const fn = (name: string) => sql(`${names.schema}.${names.prefix}${name}`)
    const terminal = sql.literal(`('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`)
    // RUNNING or CANCELLING, written as the statuses it is not (the table's CHECK lists them all): a statement that
    // names its jobs by id and says "held" this way is planned on the key, never on the held index, which holds the
    // running jobs of every worker
    const notHeld = sql.literal(`('CREATED', 'QUEUED', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`)

    // The worker's writes (claims, settlements, heartbeats, progress, logs, maintenance) commit without waiting for
    // the WAL flush: on this path the flush is most of a statement's latency. A server crash (not a restart, which
    // flushes) may roll back the last fraction of a second of them, which at-least-once delivery redoes: a lost
    // claim leaves the job QUEUED, a lost settlement leaves it RUNNING until its lease expires. Inserts and user
    // actions always wait. The setting is local to the statement's own transaction, so it is never applied inside
    // a caller's transaction, whose commit is the caller's business.
    const commitMode = (asyncCommit: boolean) =>
      asyncCommit ? sql`SELECT set_config('synchronous_commit', 'off', true) AS v` : sql`SELECT NULL::text AS v`
    const asyncCommitNow: Effect.Effect<boolean> = options.durableWorkerWrites
      ? Effect.succeed(false)
      : Effect.map(Effect.serviceOption(SqlClient.TransactionConnection), Option.isNone)
    /** A worker write: `f` gets the CTE body that sets this statement's commit mode. */
    const workerWrite = <A, E>(f: (mode: Fragment) => Effect.Effect<A, E>) =>
      Effect.flatMap(asyncCommitNow, (asyncCommit) => f(commitMode(asyncCommit)))

    // ---------------------------------------------------------------------------------------------------------------
    // filters

    const filterClauses = (filter: JobStore.JobFilter): Array<Fragment> => {
      const clauses: Array<Fragment> = []
      if (filter.ids !== undefined) clauses.push(sql`id = ANY(${filter.ids}::text[])`)
      if (filter.numbers !== undefined) clauses.push(sql`number = ANY(${filter.numbers}::int8[])`)
      if (filter.statuses !== undefined) clauses.push(sql`status = ANY(${filter.statuses}::text[])`)
      if (filter.types !== undefined) clauses.push(sql`type = ANY(${filter.types}::text[])`)
      if (filter.queues !== undefined) clauses.push(sql`queue = ANY(${filter.queues}::text[])`)
      if (filter.owner !== undefined) clauses.push(sql`owner = ${filter.owner}::text`)
      if (filter.owners !== undefined) {
        // a scope's owners; null stands for jobs without an owner
        const named = filter.owners.filter((owner): owner is string => owner !== null)
        const unowned = named.length < filter.owners.length
        clauses.push(
          unowned ? sql`(owner = ANY(${named}::text[]) OR owner IS NULL)` : sql`owner = ANY(${named}::text[])`
        )
      }
      if (filter.idempotencyKey !== undefined) clauses.push(sql`idempotency_key = ${filter.idempotencyKey}::text`)
      if (filter.tag !== undefined) clauses.push(sql`${filter.tag}::text = ANY(tags)`)
      if (filter.batchId !== undefined) clauses.push(sql`batch_id = ${filter.batchId}::text`)
      if (filter.q !== undefined) {
        // strpos, not LIKE: the search text is taken literally, % and _ included
        clauses.push(
          sql`(strpos(lower(name), lower(${filter.q}::text)) > 0 OR strpos(lower(params), lower(${filter.q}::text)) > 0)`
        )
      }
      if (filter.createdAfter !== undefined) clauses.push(sql`created_at > ${filter.createdAfter}::int8`)
      if (filter.createdBefore !== undefined) clauses.push(sql`created_at < ${filter.createdBefore}::int8`)
      if (filter.finishedBefore !== undefined) clauses.push(sql`finished_at < ${filter.finishedBefore}::int8`)
      return clauses
    }

    // ---------------------------------------------------------------------------------------------------------------
    // insert

    // One round trip, all or none: the `insert` function of migration 1 also finds the holders of idempotency keys.
    // The rows travel as one JSON parameter: JSON.stringify is far cheaper than the driver's escaping of arrays.
    // the driver parses json columns; a host's client may be configured not to
    const holderRow = (holder: unknown): Row => (typeof holder === "string" ? JSON.parse(holder) : (holder as Row))

    /**
     * Outside a caller's transaction the insert has committed when it answers: the queues that gained a QUEUED job
     * are announced in-process at once (their NOTIFYs carry this store's origin, so the listener drops them), and an
     * idle worker of this process claims without waiting for the notification to come back. Inside a transaction
     * nothing is published here: the NOTIFYs, sent at commit, carry no origin and wake everyone.
     */
    const publishEnqueued = (outcomes: ReadonlyArray<JobStore.InsertOutcome>) => {
      const queues = new Set<string>()
      for (const outcome of outcomes) {
        if (outcome.inserted && outcome.row.status === "QUEUED") queues.add(outcome.row.queue)
      }
      signals.publish(Array.from(queues, (queue): JobStore.StoreSignal => ({ _tag: "Enqueued", queue })))
    }

    const insert = (options: {
      readonly jobs: ReadonlyArray<JobStore.NewJobRow>
      readonly items?: ReadonlyArray<JobStore.ItemRow>
    }) =>
      Effect.gen(function* () {
        if (options.jobs.length === 0) return []
        const inTransaction = Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))
        const origin = inTransaction ? null : signals.origin
        const input = JSON.stringify(options.jobs.map(toJsonRow))
        let outcomes: ReadonlyArray<JobStore.InsertOutcome>
        if (options.jobs.every((job) => job.idempotencyKey === null)) {
          // no key to look up: one plain INSERT, all or none, and every job inserted as given
          const rows = yield* sql<Row>`SELECT * FROM ${fn("insert_unkeyed")}(${input}::json, ${origin}::text)`
          if (rows.length !== options.jobs.length) {
            return yield* new JobStore.JobStoreError({ reason: "Corrupt", message: "insert answered for fewer jobs" })
          }
          const numbers = new Map(rows.map((r) => [r.job_id as string, Number(r.job_number)]))
          outcomes = options.jobs.map((job) => ({ row: { ...job, number: numbers.get(job.id) ?? 0 }, inserted: true }))
        } else {
          const rows = yield* sql<Row>`SELECT * FROM ${fn("insert")}(${input}::json, ${origin}::text)`
          const answers: Array<JobStore.InsertOutcome | undefined> = new Array(options.jobs.length).fill(undefined)
          for (const r of rows) {
            const index = Number(r.input_ord) - 1
            // an inserted job is stored exactly as given, with the number the table gave it; a holder comes back whole
            answers[index] =
              r.holder === null
                ? { row: { ...options.jobs[index]!, number: Number(r.job_number) }, inserted: true }
                : { row: toJobRow(holderRow(r.holder)), inserted: false }
          }
          if (answers.some((outcome) => outcome === undefined)) {
            return yield* new JobStore.JobStoreError({ reason: "Corrupt", message: "insert answered for fewer jobs" })
          }
          outcomes = answers as ReadonlyArray<JobStore.InsertOutcome>
        }
        if (!inTransaction) publishEnqueued(outcomes)
        return outcomes
      })

    // ---------------------------------------------------------------------------------------------------------------
    // reads

    const get = (options: { readonly id: string }) =>
      Effect.map(sql<Row>`SELECT * FROM ${jobs} WHERE id = ${options.id}`, (rows) =>
        Option.map(Option.fromNullable(rows[0]), toJobRow)
      )

    const sortColumns: Record<JobStore.SortKey, { readonly expr: string; readonly cast: string }> = {
      createdAt: { expr: "created_at", cast: "int8" },
      updatedAt: { expr: "updated_at", cast: "int8" },
      // null times sort as -1 (the port's rule), so they come last in desc and first in asc
      startedAt: { expr: "COALESCE(started_at, -1)", cast: "int8" },
      finishedAt: { expr: "COALESCE(finished_at, -1)", cast: "int8" },
      priority: { expr: "priority", cast: "int4" },
      // binary order, never the locale's, so every store agrees
      name: { expr: `name COLLATE "C"`, cast: "text" }
    }

    const sortValueOf = (row: JobRow, sort: JobStore.SortKey): number | string => {
      switch (sort) {
        case "name":
          return row.name
        case "priority":
          return row.priority
        default:
          return row[sort] ?? -1
      }
    }

    const list = (options: JobStore.ListOptions) =>
      Effect.gen(function* () {
        const { cast, expr } = sortColumns[options.sort]
        const sortExpr = sql.literal(expr)
        const direction = sql.literal(options.order === "asc" ? "ASC" : "DESC")
        const clauses = filterClauses(options.filter)
        const page = [...clauses]
        if (options.cursor !== null) {
          const value = sql`${options.cursor.value}::${sql.literal(cast)}`
          page.push(
            options.order === "asc"
              ? sql`(${sortExpr}, id) > (${value}, ${options.cursor.id}::text)`
              : sql`(${sortExpr}, id) < (${value}, ${options.cursor.id}::text)`
          )
        }
        const limit = Math.max(0, options.limit)
        const rows = yield* sql<Row>`SELECT * FROM ${jobs} WHERE ${sql.and(page)}
          ORDER BY ${sortExpr} ${direction}, id ${direction} LIMIT ${limit + 1}`
        const total = options.withTotal
          ? Number((yield* sql<Row>`SELECT count(*) AS n FROM ${jobs} WHERE ${sql.and(clauses)}`)[0].n)
          : null
        const pageRows = rows.slice(0, limit).map(toJobRow)
        const last = pageRows[pageRows.length - 1]
        return {
          rows: pageRows,
          nextCursor:
            rows.length > limit && last !== undefined ? { value: sortValueOf(last, options.sort), id: last.id } : null,
          total
        }
      })

    const statuses = (options: { readonly ids: ReadonlyArray<string> }) =>
      Effect.map(
        sql<Row>`SELECT id, status FROM ${jobs} WHERE id = ANY(${options.ids}::text[])`,
        (rows): ReadonlyArray<StatusChange> => rows.map((r) => ({ id: r.id as string, status: r.status as JobStatus }))
      )

    const stats = (options: { readonly filter: JobStore.JobFilter }) =>
      Effect.map(
        sql<Row>`SELECT type, status, count(*) AS n FROM ${jobs} WHERE ${sql.and(filterClauses(options.filter))}
          GROUP BY type, status`,
        (rows): ReadonlyArray<JobStore.StatsRow> =>
          rows.map((r) => ({ type: r.type as string, status: r.status as JobStatus, count: Number(r.n) }))
      )

    const getResult = (options: { readonly resultId: string }) =>
      Effect.map(sql<Row>`SELECT * FROM ${results} WHERE id = ${options.resultId}`, (rows) =>
        Option.map(Option.fromNullable(rows[0]), toResultRow)
      )

    const readLogs = (options: { readonly jobId: string; readonly limit: number; readonly cursor: string | null }) =>
      Effect.gen(function* () {
        const limit = Math.max(0, options.limit)
        const cursor = options.cursor === null ? null : /^\d+$/.test(options.cursor) ? options.cursor : "0"
        const rows = yield* sql<Row>`SELECT * FROM ${logs}
          WHERE job_id = ${options.jobId} ${cursor === null ? sql`` : sql`AND id < ${cursor}::int8`}
          ORDER BY id DESC LIMIT ${limit + 1}`
        const page = rows.slice(0, limit).map(toLogRow)
        const last = page[page.length - 1]
        return { rows: page, nextCursor: rows.length > limit && last !== undefined ? last.id : null }
      })

    // ---------------------------------------------------------------------------------------------------------------
    // user writes

    /** Inserts a pending callback for each row of `source` that just became terminal with a callback URL. */
    const callbackInsert = (source: string, now: Fragment) =>
      sql`INSERT INTO ${callbacks} (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
        SELECT gen_random_uuid()::text, id, callback_url, status, terminal_reason, result_id, finished_at, 0, ${now}
        FROM ${sql.literal(source)}
        WHERE callback_url IS NOT NULL AND status IN ${terminal} AND prev_status NOT IN ${terminal}`

    const update = (options: {
      readonly id: string
      readonly from: ReadonlyArray<JobStatus>
      readonly patch: JobStore.JobPatch
      readonly now: number
    }) =>
      Effect.gen(function* () {
        const sets: Array<Fragment> = []
        for (const [key, value] of Object.entries(options.patch)) {
          // an explicit `undefined` means "not given", as in the other stores
          if (value === undefined) continue
          const column = columnOf[key]
          if (column === undefined || key === "updatedAt") continue
          sets.push(sql`${sql(column)} = ${value as unknown}`)
        }
        sets.push(sql`updated_at = ${options.now}::int8`)
        const runAtPatched = options.patch.runAt !== undefined
        const rows = yield* sql<Row>`
          WITH prev AS (
            SELECT id, status FROM ${jobs}
            WHERE id = ${options.id} AND status = ANY(${options.from}::text[])
            FOR NO KEY UPDATE
          ), updated AS (
            UPDATE ${jobs} j SET ${sql.csv(sets)} FROM prev WHERE j.id = prev.id
            RETURNING j.*, prev.status AS prev_status
          ), new_callbacks AS (
            ${callbackInsert("updated", sql`${options.now}::int8`)}
          ), signals AS (
            SELECT count(pg_notify(${channel}, payload)) AS n FROM updated, LATERAL (VALUES
              (CASE WHEN status <> prev_status
                THEN json_build_object('_tag', 'Changed', 'id', id, 'status', status)::text END),
              (CASE WHEN status = 'QUEUED' AND (prev_status <> 'QUEUED' OR ${runAtPatched})
                THEN json_build_object('_tag', 'Enqueued', 'queue', queue)::text END)
            ) AS v(payload)
            WHERE payload IS NOT NULL
          )
          SELECT updated.* FROM updated, signals`
        return Option.map(Option.fromNullable(rows[0]), toJobRow)
      })

    const deleteOne = (options: { readonly id: string; readonly from: ReadonlyArray<JobStatus> }) =>
      Effect.map(
        sql<Row>`
          WITH deleted AS (
            DELETE FROM ${jobs} WHERE id = ${options.id} AND status = ANY(${options.from}::text[]) RETURNING id
          ), l AS (DELETE FROM ${logs} WHERE job_id IN (SELECT id FROM deleted)),
          r AS (DELETE FROM ${results} WHERE job_id IN (SELECT id FROM deleted)),
          c AS (DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM deleted))
          SELECT count(*) AS n FROM deleted`,
        (rows) => Number(rows[0].n) > 0
      )

    const deleteMany = (options: { readonly filter: JobStore.JobFilter }) =>
      Effect.map(
        sql<Row>`
          WITH deleted AS (DELETE FROM ${jobs} WHERE ${sql.and(filterClauses(options.filter))} RETURNING id),
          l AS (DELETE FROM ${logs} WHERE job_id IN (SELECT id FROM deleted)),
          r AS (DELETE FROM ${results} WHERE job_id IN (SELECT id FROM deleted)),
          c AS (DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM deleted))
          SELECT count(*) AS n FROM deleted`,
        (rows) => Number(rows[0].n)
      )

    // ---------------------------------------------------------------------------------------------------------------
    // claims

    const claimOrder = (a: JobRow, b: JobRow) =>
      b.priority - a.priority || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

    // Limited types and queues this process has claimed under. A settlement of such a job frees a slot that idle
    // workers of every process should hear of (the settle function announces it), or they would wait for a poll.
    const limitedTypes = new Set<string>()
    const limitedQueues = new Set<string>()

    /** One round trip, limits or not: see the `claim` function of migration 1 for how limits are kept. */
    const claim = (options: JobStore.ClaimOptions) =>
      Effect.gen(function* () {
        if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return []
        for (const type of Object.keys(options.typeLimits)) limitedTypes.add(type)
        for (const queue of Object.keys(options.queueLimits)) limitedQueues.add(queue)
        const asyncCommit = yield* asyncCommitNow
        const rows = yield* sql<Row>`SELECT * FROM ${fn("claim")}(
          ${options.workerId}::text, ${options.token}::text, ${options.now}::int8, ${options.leaseMs}::int8,
          ${options.limit}::int4, ${options.queues}::text[], ${options.types ?? null}::text[],
          ${JSON.stringify(options.typeLimits)}::json,
          ${JSON.stringify(options.queueLimits)}::json, ${asyncCommit}::boolean
        )`
        return rows.map(toJobRow).sort(claimOrder)
      })

    const heartbeat = (options: {
      readonly workerId: string
      readonly leases: ReadonlyArray<JobStore.LeaseRef>
      readonly now: number
      readonly leaseMs: number
    }) =>
      options.leases.length === 0
        ? Effect.succeed([])
        : Effect.map(
            // updatedAt is left alone: a lease refresh is not a change anyone sees
            workerWrite(
              (mode) => sql<Row>`WITH commit_mode AS (${mode}), l AS (
                  SELECT DISTINCT ON (id) id, token FROM json_to_recordset(${JSON.stringify(options.leases)}::json)
                    AS l(id text, token text)
                )
                UPDATE ${jobs} j SET lease_expires_at = ${options.now + options.leaseMs}::int8 FROM commit_mode, l
                WHERE j.id = l.id AND j.lease_token = l.token AND j.lease_owner = ${options.workerId}::text
                  AND j.status NOT IN ${notHeld}
                RETURNING j.id, j.status`
            ),
            (rows): ReadonlyArray<StatusChange> =>
              rows.map((r) => ({ id: r.id as string, status: r.status as JobStatus }))
          )

    // ---------------------------------------------------------------------------------------------------------------
    // settlements

    /** Log lines for the settle function: a JSON array, or null, and the cap of lines that carry none. */
    interface LogLines {
      readonly lines: string | null
      readonly cap: number
    }
    const noLines: LogLines = { lines: null, cap: 0 }

    interface SettleRow {
      readonly workerId: string
      readonly now: number
      readonly settlement: Settlement
    }

    /** One statement for any mix of settlements, from any number of callers: one round trip per batch. */
    const settleStatement = (batch: ReadonlyArray<SettleRow>, asyncCommit: boolean, logLines: LogLines) => {
      // a field that does not apply is left out (undefined), not sent as null: json_to_recordset reads a missing key
      // as NULL, and a Complete, the usual settlement, travels as five keys rather than eleven
      const input = batch.map(({ now, settlement: s, workerId }) => ({
        worker_id: workerId,
        token: s.token,
        at: now,
        kind: s._tag,
        id: s.id,
        progress: s.progress ?? undefined,
        run_at: s._tag === "Retry" ? s.runAt : undefined,
        last_error: s._tag === "Retry" || s._tag === "Fail" ? (s.lastError ?? undefined) : undefined,
        fail_status: s._tag === "Fail" ? s.status : undefined,
        reason: s._tag === "Fail" ? s.reason : undefined,
        result_id: s._tag === "Complete" ? (s.result?.id ?? undefined) : undefined,
        result_value: s._tag === "Complete" ? (s.result?.value ?? undefined) : undefined
      }))
      return sql<Row>`SELECT * FROM ${fn("settle")}(
        ${JSON.stringify(input)}::json, ${asyncCommit}::boolean,
        ${Array.from(limitedTypes)}::text[], ${Array.from(limitedQueues)}::text[], ${logLines.lines}::json,
        ${logLines.cap}::int4
      )`
    }

    /**
     * The log lines of settle calls as one JSON array for the settle function, and the cap for them. When every call
     * has the same cap (the usual case: one worker, or workers of the same configuration) the cap travels once and
     * each call's lines are serialised as they are; otherwise each line carries its caller's cap.
     */
    const logLinesOf = (
      logs: ReadonlyArray<{ readonly entries: ReadonlyArray<JobStore.NewLog>; readonly cap: number } | undefined>
    ): { readonly lines: string | null; readonly cap: number } => {
      const batches = logs.filter(
        (batch): batch is { readonly entries: ReadonlyArray<JobStore.NewLog>; readonly cap: number } =>
          batch !== undefined && batch.entries.length > 0
      )
      if (batches.length === 0) return { lines: null, cap: 0 }
      const capOf = (batch: { readonly cap: number }) => Math.max(0, Math.floor(batch.cap))
      const cap = capOf(batches[0])
      if (batches.every((batch) => capOf(batch) === cap)) {
        if (batches.length === 1) return { lines: JSON.stringify(batches[0].entries), cap }
        return { lines: `[${batches.map((batch) => JSON.stringify(batch.entries).slice(1, -1)).join(",")}]`, cap }
      }
      const lines: Array<JobStore.NewLog & { readonly cap: number }> = []
      for (const batch of batches) {
        for (const entry of batch.entries) lines.push({ ...entry, cap: capOf(batch) })
      }
      return { lines: JSON.stringify(lines), cap: 0 }
    }

    /**
     * Runs a batch; the answer is the new status of each row, in order, or undefined where its guard failed. Rows of
     * the same job apply in order, each in a later statement than the one before it: in one statement the first
     * would not be visible to the second, and Postgres would apply only one of them, of its choosing.
     */
    const runSettle = (batch: ReadonlyArray<SettleRow>, asyncCommit: boolean, logLines: LogLines) =>
      Effect.gen(function* () {
        const rounds: Array<Array<number>> = []
        const seen = new Map<string, number>()
        batch.forEach((row, index) => {
          const round = seen.get(row.settlement.id) ?? 0
          seen.set(row.settlement.id, round + 1)
          ;(rounds[round] ??= []).push(index)
        })
        const answer: Array<JobStatus | undefined> = new Array(batch.length).fill(undefined)
        for (const [round, indexes] of rounds.entries()) {
          const applied = yield* settleStatement(
            indexes.map((i) => batch[i]),
            asyncCommit,
            round === 0 ? logLines : noLines
          )
          const byId = new Map(applied.map((r) => [r.id as string, r.status as JobStatus] as const))
          for (const i of indexes) answer[i] = byId.get(batch[i].settlement.id)
        }
        return answer
      })

    interface SettleRequest {
      readonly rows: ReadonlyArray<SettleRow>
      readonly logs: { readonly entries: ReadonlyArray<JobStore.NewLog>; readonly cap: number } | undefined
      readonly done: Deferred.Deferred<ReadonlyArray<JobStatus | undefined>, SqlError.SqlError>
    }
    const settleQueue = yield* Queue.unbounded<SettleRequest>()
    // group commit: whatever settlements arrive while a batch is in flight go together in the next statement, so
    // busy workers settle many jobs per round trip and an idle one waits for nobody
    const settleLoop = Effect.gen(function* () {
      const first = yield* Queue.take(settleQueue)
      const more = yield* Queue.takeUpTo(settleQueue, MAX_SETTLE_BATCH)
      const requests = [first, ...more]
      // the batcher's own fiber is never inside a caller's transaction
      yield* Effect.exit(
        runSettle(
          requests.flatMap((r) => r.rows),
          !options.durableWorkerWrites,
          logLinesOf(requests.map((r) => r.logs))
        )
      ).pipe(
        Effect.flatMap((exit) => {
          let offset = 0
          return Effect.forEach(
            requests,
            (r) => {
              const from = offset
              offset += r.rows.length
              return Deferred.done(
                r.done,
                Exit.map(exit, (answer) => answer.slice(from, from + r.rows.length))
              )
            },
            { discard: true }
          )
        }),
        // closing the store mid-batch must not leave a caller waiting forever
        Effect.onInterrupt(() => Effect.forEach(requests, (r) => Deferred.interrupt(r.done), { discard: true }))
      )
    })
    yield* Effect.forkScoped(Effect.forever(settleLoop))
    yield* Effect.addFinalizer(() => Queue.shutdown(settleQueue))

    const settle = (options: Parameters<JobStore.JobStore["settle"]>[0]) =>
      Effect.gen(function* () {
        if (options.settlements.length === 0) {
          if (options.logs !== undefined) yield* appendLogs(options.logs)
          return []
        }
        const rows = options.settlements.map((settlement) => ({
          workerId: options.workerId,
          now: options.now,
          settlement
        }))
        // inside a caller's transaction the statement must run on the caller's connection
        const inTransaction = yield* Effect.serviceOption(SqlClient.TransactionConnection)
        let answer: ReadonlyArray<JobStatus | undefined>
        if (Option.isSome(inTransaction)) {
          answer = yield* runSettle(rows, false, logLinesOf([options.logs]))
        } else {
          const done = yield* Deferred.make<ReadonlyArray<JobStatus | undefined>, SqlError.SqlError>()
          yield* Queue.offer(settleQueue, { rows, done, logs: options.logs })
          answer = yield* Deferred.await(done)
        }
        const changes: Array<StatusChange> = []
        options.settlements.forEach(({ id }, i) => {
          const status = answer[i]
          if (status !== undefined) changes.push({ id, status })
        })
        return changes
      })

    const saveProgress = (options: {
      readonly workerId: string
      readonly now: number
      readonly updates: ReadonlyArray<{ readonly id: string; readonly token: string; readonly progress: string }>
    }) =>
      options.updates.length === 0
        ? Effect.void
        : workerWrite(
            (mode) => sql`WITH commit_mode AS (${mode})
              UPDATE ${jobs} j SET progress = u.progress, updated_at = ${options.now}::int8
              FROM json_to_recordset(${JSON.stringify(options.updates)}::json) AS u(id text, token text, progress text),
                commit_mode
              WHERE j.id = u.id AND j.lease_token = u.token AND j.lease_owner = ${options.workerId}::text
                AND j.status NOT IN ${notHeld}`
          ).pipe(Effect.asVoid)

    const appendLogs = (options: { readonly entries: ReadonlyArray<JobStore.NewLog>; readonly cap: number }) =>
      options.entries.length === 0
        ? Effect.void
        : Effect.flatMap(asyncCommitNow, (asyncCommit) =>
            Effect.asVoid(
              sql`SELECT ${fn("append_logs")}(
                ${JSON.stringify(options.entries)}::json, ${Math.max(0, Math.floor(options.cap))}::int4,
                ${asyncCommit}::boolean
              )`
            )
          )

    // ---------------------------------------------------------------------------------------------------------------
    // maintenance

    /** Publishes `Changed` for each row of `updated`, and `Enqueued` once per queue that gained a QUEUED job. */
    const changedSignals = sql`
      SELECT count(pg_notify(${channel}, payload)) AS n FROM (
        SELECT json_build_object('_tag', 'Changed', 'id', id, 'status', status)::text AS payload FROM updated
        UNION ALL
        SELECT json_build_object('_tag', 'Enqueued', 'queue', queue)::text
        FROM (SELECT DISTINCT queue FROM updated WHERE status = 'QUEUED') q
      ) p`

    const toChanges = (rows: ReadonlyArray<Row>): ReadonlyArray<StatusChange> =>
      rows.map((r) => ({ id: r.id as string, status: r.status as JobStatus }))

    const rescue = (options: { readonly now: number }) =>
      Effect.map(
        workerWrite(
          (mode) => sql<Row>`
          WITH commit_mode AS (${mode}), due AS (
            SELECT id FROM ${jobs}
            WHERE status IN ('RUNNING', 'CANCELLING') AND lease_expires_at <= ${options.now}::int8
            FOR NO KEY UPDATE SKIP LOCKED
          ), updated AS (
            UPDATE ${jobs} j SET
              status = CASE WHEN j.status = 'CANCELLING' THEN 'CANCELLED'
                WHEN j.attempt < j.max_attempts THEN 'QUEUED' ELSE 'FAILED' END,
              terminal_reason = CASE WHEN j.status = 'CANCELLING' THEN 'user'
                WHEN j.attempt < j.max_attempts THEN j.terminal_reason ELSE 'stalled' END,
              finished_at = CASE WHEN j.status = 'CANCELLING' OR j.attempt >= j.max_attempts
                THEN ${options.now}::int8 ELSE j.finished_at END,
              -- run_at is kept: a re-queued job keeps its place ahead of work queued after it
              lease_owner = NULL,
              lease_expires_at = NULL,
              lease_token = NULL,
              updated_at = ${options.now}::int8
            FROM due, commit_mode WHERE j.id = due.id
            RETURNING j.id, j.status, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
              'RUNNING'::text AS prev_status
          ), new_callbacks AS (
            ${callbackInsert("updated", sql`${options.now}::int8`)}
          ), signals AS (${changedSignals})
          SELECT updated.id, updated.status FROM updated, signals`
        ),
        toChanges
      )

    const expire = (options: { readonly now: number }) =>
      Effect.map(
        workerWrite(
          (mode) => sql<Row>`
          WITH commit_mode AS (${mode}), due AS (
            SELECT id FROM ${jobs}
            WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSED')
              AND deadline <= ${options.now}::int8
            FOR NO KEY UPDATE SKIP LOCKED
          ), updated AS (
            UPDATE ${jobs} j SET
              status = 'TIMED_OUT',
              terminal_reason = 'expired',
              finished_at = ${options.now}::int8,
              lease_owner = NULL,
              lease_expires_at = NULL,
              lease_token = NULL,
              updated_at = ${options.now}::int8
            FROM due, commit_mode WHERE j.id = due.id
            RETURNING j.id, j.status, j.queue, j.callback_url, j.terminal_reason, j.result_id, j.finished_at,
              'QUEUED'::text AS prev_status
          ), new_callbacks AS (
            ${callbackInsert("updated", sql`${options.now}::int8`)}
          ), signals AS (${changedSignals})
          SELECT updated.id, updated.status FROM updated, signals`
        ),
        toChanges
      )

    const claimCallbacks = (options: { readonly now: number; readonly limit: number; readonly leaseMs: number }) =>
      options.limit <= 0
        ? Effect.succeed([])
        : Effect.map(
            workerWrite(
              (mode) => sql<Row>`
              WITH commit_mode AS (${mode}), due AS (
                SELECT id, due_at FROM ${callbacks} WHERE due_at <= ${options.now}::int8
                ORDER BY due_at, id LIMIT ${options.limit}
                FOR UPDATE SKIP LOCKED
              )
              UPDATE ${callbacks} c SET due_at = ${options.now + options.leaseMs}::int8
              FROM due, commit_mode WHERE c.id = due.id
              RETURNING c.*, due.due_at AS prev_due_at`
            ),
            (rows) =>
              rows
                .slice()
                .sort(
                  (a, b) =>
                    Number(a.prev_due_at) - Number(b.prev_due_at) || ((a.id as string) < (b.id as string) ? -1 : 1)
                )
                .map(toCallbackRow)
          )

    const settleCallback = (options: { readonly id: string; readonly retryAt: number | null; readonly now: number }) =>
      workerWrite((mode) =>
        options.retryAt === null
          ? sql`WITH commit_mode AS (${mode}) DELETE FROM ${callbacks} USING commit_mode WHERE id = ${options.id}`
          : sql`WITH commit_mode AS (${mode})
              UPDATE ${callbacks} SET due_at = ${options.retryAt}::int8, attempts = attempts + 1 FROM commit_mode
              WHERE id = ${options.id}`
      ).pipe(Effect.asVoid)

    const items = Items.make({ sql, names, notHeld, workerWrite })
    // a job's items are inserted in the job's transaction, and only for the jobs inserted
    const insertWithItems = (options: Parameters<JobStore.JobStore["insert"]>[0]) =>
      options.items === undefined || options.items.length === 0
        ? insert(options)
        : sql.withTransaction(
            Effect.tap(insert(options), (outcomes) => {
              const inserted = new Set(outcomes.flatMap((o) => (o.inserted ? [o.row.id] : [])))
              return items.upsert(options.items!.filter((item) => inserted.has(item.jobId)))
            })
          )

    const schedules = yield* Schedules.make(names)
    const prune = yield* Prune.make(names)

    const store: JobStore.JobStore = {
      crossProcessSignals: true,
      insert: (options) => mapErrors(insertWithItems(options)),
      get: (options) => mapErrors(get(options)),
      list: (options) => mapErrors(list(options)),
      update: (options) => mapErrors(update(options)),
      claim: (options) => mapErrors(claim(options)),
      heartbeat: (options) => mapErrors(heartbeat(options)),
      statuses: (options) => mapErrors(options.ids.length === 0 ? Effect.succeed([]) : statuses(options)),
      settle: (options) => mapErrors(settle(options)),
      saveProgress: (options) => mapErrors(saveProgress(options)),
      appendLogs: (options) => mapErrors(appendLogs(options)),
      logs: (options) => mapErrors(readLogs(options)),
      getResult: (options) => mapErrors(getResult(options)),
      stats: (options) => mapErrors(stats(options)),
      delete: (options) => mapErrors(deleteOne(options)),
      deleteMany: (options) => mapErrors(deleteMany(options)),
      rescue: (options) => mapErrors(rescue(options)),
      expire: (options) => mapErrors(expire(options)),
      claimCallbacks: (options) => mapErrors(claimCallbacks(options)),
      settleCallback: (options) => mapErrors(settleCallback(options)),
      putItems: (options) => mapErrors(items.putItems(options)),
      saveItems: (options) => mapErrors(items.saveItems(options)),
      listItems: (options) => mapErrors(items.listItems(options)),
      countItems: (options) => mapErrors(items.countItems(options)),
      resetItems: (options) => mapErrors(items.resetItems(options)),
      ...schedules,
      prune,
      subscribe: signals.subscribe
    }
    return store
  }) satisfies Effect.Effect<JobStore.JobStore, never, SqlClient.SqlClient | Scope.Scope>

/** The type of a failure of this module's statements, for the public module's signatures. */
export type Failure = JobStoreError
