/**
 * The SQLite `JobStore`: every port method as a few statements over jobloom's tables.
 *
 * Speed comes from doing per batch what could be done per row: a claim is one `UPDATE … RETURNING`, a batch of
 * settlements one `UPDATE … FROM (VALUES …)`, an insert a few multi-row `INSERT`s. Batch statements are padded to
 * power-of-two sizes so their texts repeat and the client's prepared-statement cache serves them. Job rows are read
 * in the driver's raw mode (arrays, not objects).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import { Job, JobStore as Port } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import {
  chunksOf,
  claimedColumnList,
  flatValuesList,
  fromClaimed,
  fromValues,
  int,
  intOrNull,
  jobColumnList,
  jobColumns,
  maxBatch,
  patchColumns,
  powerOfTwoChunks,
  sortExpressions,
  sortValue,
  text,
  textOrNull,
  toValues,
  valuesList
} from "./rows.js"
import * as Items from "./items.js"
import * as Prune from "./prune.js"
import * as Schedules from "./schedules.js"
import type { Tables } from "./tables.js"
import * as Transaction from "./transaction.js"

type JobRow = JobStore.JobRow
type JobStatus = Job.JobStatus
type StoreSignal = JobStore.StoreSignal
type StatusChange = JobStore.StatusChange
type Row = Record<string, unknown>

// ---------------------------------------------------------------------------------------------------------------
// signals

/**
 * Signal hubs shared by every store on the same database in this process, so a worker is woken at once by an
 * insert made through another store instance on the same file. Keyed by resolved file name, or by the client
 * object when the file is unknown (a host's client) or private (`:memory:`).
 */
const hubsByFile = new Map<string, PubSub.PubSub<StoreSignal>>()
const hubsByClient = new WeakMap<object, PubSub.PubSub<StoreSignal>>()

// sliding: a subscriber that falls behind loses the oldest hints, never memory; workers poll anyway
const newHub = () => Effect.runSync(PubSub.sliding<StoreSignal>(1024))

/** The hub of a database: by file name when it names a shared file, else by client. */
export const hubFor = (key: string | object): PubSub.PubSub<StoreSignal> => {
  if (typeof key === "string") {
    let hub = hubsByFile.get(key)
    if (hub === undefined) hubsByFile.set(key, (hub = newHub()))
    return hub
  }
  let hub = hubsByClient.get(key)
  if (hub === undefined) hubsByClient.set(key, (hub = newHub()))
  return hub
}

// ---------------------------------------------------------------------------------------------------------------
// errors

const sqliteCode = (error: SqlError): string => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : ""
}

const unavailableCodes = [
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_CANTOPEN",
  "SQLITE_IOERR",
  "SQLITE_FULL",
  "SQLITE_READONLY"
]

/** Maps a driver error to the port's error; `SqlError` never leaves this package. */
export const toStoreError = (error: SqlError): Port.JobStoreError => {
  const code = sqliteCode(error)
  const detail = error.cause instanceof Error ? `: ${error.cause.message}` : ""
  const reason = code.startsWith("SQLITE_CONSTRAINT")
    ? "Conflict"
    : unavailableCodes.some((prefix) => code.startsWith(prefix))
      ? "Unavailable"
      : code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")
        ? "Corrupt"
        : "Unknown"
  return new Port.JobStoreError({ reason, message: `${error.message}${detail}` })
}

// ---------------------------------------------------------------------------------------------------------------
// the store

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The claim order: priority desc, runAt asc, id asc. */
const claimOrder = (a: JobRow, b: JobRow) => b.priority - a.priority || a.runAt - b.runAt || compareStrings(a.id, b.id)

const json = (value: unknown) => JSON.stringify(value)

const statusChange = (row: ReadonlyArray<unknown>): StatusChange => ({
  id: text(row[0]),
  status: text(row[1]) as JobStatus
})

/** How `make` builds a store. */
export interface Options {
  readonly tables: Tables
  /** The signal hub shared by stores on the same database in this process. */
  readonly hub: PubSub.PubSub<StoreSignal>
  /**
   * Whether statements may join a transaction already open in the fiber. True for a host's client (so enqueue can
   * be part of the host's transaction); false for a private client, which must never run its statements on a
   * connection of another database that happens to be in a transaction.
   */
  readonly joinTransactions: boolean
}

/** Builds the store over the `SqlClient` in context. */
export const make = (options: Options): Effect.Effect<JobStore.JobStore, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    // Column names are read as stored (snake_case) whatever result transforms the host's client has.
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const { hub, tables } = options
    const jobs = sql(tables.jobs)
    const logs = sql(tables.logs)
    const results = sql(tables.results)
    const callbacks = sql(tables.callbacks)
    const counters = sql(tables.counters)
    const columns = sql.literal(jobColumnList)
    const claimedColumns = sql.literal(claimedColumnList)

    const writeTransaction = Transaction.writeTransaction(sql)

    const isolate: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = options.joinTransactions
      ? (effect) => effect
      : <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.mapInputContext(
            effect,
            (context: Context.Context<R>) =>
              Context.omit(SqlClient.TransactionConnection)(context) as Context.Context<R>
          )

    /** Runs one port method: on its own connection unless joining is allowed, with `SqlError` mapped. */
    const run = <A, R>(
      effect: Effect.Effect<A, SqlError | Port.JobStoreError, R>
    ): Effect.Effect<A, Port.JobStoreError, R> =>
      isolate(effect).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))

    const publish = (signals: ReadonlyArray<StoreSignal>) =>
      signals.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(hub, signals))

    const items = Items.make({ sql, tables, writeTransaction, run })

    const enqueued = (queues: Iterable<string>): Array<StoreSignal> =>
      Array.from(new Set(queues), (queue) => ({ _tag: "Enqueued" as const, queue }))

    const changed = (changes: ReadonlyArray<StatusChange>): Array<StoreSignal> =>
      changes.map((change) => ({ _tag: "Changed" as const, id: change.id, status: change.status }))

    const schedules = Schedules.make({ sql, tables, writeTransaction, run, enqueued: (q) => publish(enqueued(q)) })
    const prune = Prune.make({ sql, tables, writeTransaction, run })

    /** A list of values as a subquery: one parameter whatever its length, so the statement text never changes. */
    const inList = (values: ReadonlyArray<unknown>): Statement.Fragment =>
      sql`(SELECT value FROM json_each(${json(values)}))`

    /**
     * Records the pending callbacks of jobs just moved into a terminal status, in the caller's transaction, from the
     * rows as written (so status, reason, result and finish time are the ones stored). `ids` are of jobs that have a
     * callback URL and a terminal status now.
     */
    const recordCallbacks = (ids: ReadonlyArray<string>, now: number) =>
      ids.length === 0
        ? Effect.void
        : Effect.asVoid(sql`INSERT INTO ${callbacks}
            (job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
            SELECT id, callback_url, status, terminal_reason, result_id, finished_at, 0, ${now}
            FROM ${jobs} WHERE id IN ${inList(ids)} AND callback_url IS NOT NULL`)

    /** Ids among `[id, status, …, callback_url]` rows that now owe a callback. */
    const owingCallback = (rows: ReadonlyArray<ReadonlyArray<unknown>>, urlAt: number): Array<string> =>
      rows.flatMap((row) => (row[urlAt] !== null && Job.isTerminal(text(row[1]) as JobStatus) ? [text(row[0])] : []))

    /** A scope's owners: `null` stands for jobs without an owner; an empty list matches nothing. */
    const ownersClause = (owners: ReadonlyArray<string | null>): Statement.Fragment => {
      const named = owners.filter((owner): owner is string => owner !== null)
      const terms: Array<Statement.Fragment> = []
      if (named.length > 0) terms.push(sql`owner IN ${sql.in(named)}`)
      if (named.length < owners.length) terms.push(sql.literal("owner IS NULL"))
      return terms.length === 0 ? sql.literal("1 = 0") : sql.or(terms)
    }

    /**
     * The WHERE of a filter. With `byTime`, a time bound leads: the status, type and queue terms are written `+column`
     * so their indexes are not candidates, and a retention delete walks the finished (or created) index over the old
     * rows only, instead of every row of a status.
     */
    const where = (filter: JobStore.JobFilter, byTime = false): Statement.Fragment => {
      const clauses: Array<Statement.Fragment> = []
      const timeLeads = byTime && (filter.finishedBefore !== undefined || filter.createdBefore !== undefined)
      const oneOf = (column: string, values: ReadonlyArray<string> | undefined) => {
        if (values === undefined) return
        const term = sql.literal(timeLeads ? `+${column}` : column)
        clauses.push(values.length === 0 ? sql.literal("1 = 0") : sql`${term} IN ${sql.in(values)}`)
      }
      if (filter.ids !== undefined) {
        clauses.push(filter.ids.length === 0 ? sql.literal("1 = 0") : sql`id IN ${inList(filter.ids)}`)
      }
      if (filter.numbers !== undefined) {
        clauses.push(filter.numbers.length === 0 ? sql.literal("1 = 0") : sql`number IN ${sql.in(filter.numbers)}`)
      }
      oneOf("status", filter.statuses)
      oneOf("type", filter.types)
      oneOf("queue", filter.queues)
      if (filter.owner !== undefined) clauses.push(sql`owner = ${filter.owner}`)
      if (filter.owners !== undefined) clauses.push(ownersClause(filter.owners))
      if (filter.idempotencyKey !== undefined) clauses.push(sql`idempotency_key = ${filter.idempotencyKey}`)
      if (filter.tag !== undefined) {
        // json_valid guards a corrupted tags column: such a row simply has no tags
        clauses.push(sql`EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(tags) THEN tags ELSE '[]' END)
          WHERE value = ${filter.tag})`)
      }
      if (filter.batchId !== undefined) clauses.push(sql`batch_id = ${filter.batchId}`)
      if (filter.q !== undefined) {
        const q = filter.q.toLowerCase()
        clauses.push(sql`(instr(lower(name), ${q}) > 0 OR instr(lower(params), ${q}) > 0)`)
      }
      if (filter.createdAfter !== undefined) clauses.push(sql`created_at > ${filter.createdAfter}`)
      if (filter.createdBefore !== undefined) clauses.push(sql`created_at < ${filter.createdBefore}`)
      if (filter.finishedBefore !== undefined) clauses.push(sql`finished_at < ${filter.finishedBefore}`)
      return clauses.length === 0 ? sql.literal("1 = 1") : sql.and(clauses)
    }

    // --- insert ---------------------------------------------------------------------------------------------

    // 29 columns x 256 rows stays far below SQLite's parameter limit
    const insertChunk = 256

    const insert: JobStore.JobStore["insert"] = ({ items: itemRows, jobs: input }) =>
      input.length === 0
        ? Effect.succeed([])
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const keys = Array.from(
                  new Set(input.flatMap((job) => (job.idempotencyKey === null ? [] : [job.idempotencyKey])))
                )
                // keys are unique within an owner: a holder is found by (owner, key)
                const holderKey = (row: JobStore.NewJobRow) => JSON.stringify([row.owner, row.idempotencyKey])
                const holders = new Map<string, JobRow>()
                if (keys.length > 0) {
                  // named: without statistics the planner would rather walk every queued job by status
                  const rows = yield* sql`SELECT ${columns} FROM ${jobs}
                    INDEXED BY ${sql(`${tables.prefix}jobs_idempotency`)}
                    WHERE idempotency_key IN ${inList(keys)}
                      AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING')`.values
                  for (const values of rows) {
                    const row = fromValues(values)
                    holders.set(holderKey(row), row)
                  }
                }
                // numbers for every job of the call, taken in this transaction; those of jobs a key turns away are
                // given back below, so numbers stay consecutive
                const [counter] = yield* sql`UPDATE ${counters} SET value = value + ${input.length}
                  WHERE name = 'jobs' RETURNING value`.values
                let number = int(counter?.[0]) - input.length
                // decided in input order, so a later job of this call sees an earlier one as the holder
                const outcomes: Array<JobStore.InsertOutcome> = []
                const fresh: Array<JobRow> = []
                for (const job of input) {
                  const holder = job.idempotencyKey === null ? undefined : holders.get(holderKey(job))
                  if (holder !== undefined) {
                    outcomes.push({ row: holder, inserted: false })
                    continue
                  }
                  const row: JobRow = { ...job, number: ++number, tags: [...job.tags] }
                  if (row.idempotencyKey !== null && !Job.isTerminal(row.status)) holders.set(holderKey(row), row)
                  fresh.push(row)
                  outcomes.push({ row, inserted: true })
                }
                if (fresh.length < input.length) {
                  yield* sql`UPDATE ${counters} SET value = ${number} WHERE name = 'jobs'`
                }
                for (const chunk of powerOfTwoChunks(fresh, insertChunk)) {
                  yield* sql`INSERT INTO ${jobs} (${columns})
                    ${valuesList(chunk.map(toValues), jobColumns.length, { pad: false })}`
                }
                if (itemRows !== undefined && itemRows.length > 0) {
                  const inserted = new Set(fresh.map((row) => row.id))
                  yield* items.upsert(itemRows.filter((item) => inserted.has(item.jobId)))
                }
                return { outcomes, fresh }
              })
            )
          ).pipe(
            Effect.tap(({ fresh }) =>
              publish(enqueued(fresh.filter((row) => row.status === "QUEUED").map((row) => row.queue)))
            ),
            Effect.map(({ outcomes }) => outcomes)
          )

    // --- reads ----------------------------------------------------------------------------------------------

    const get: JobStore.JobStore["get"] = ({ id }) =>
      run(sql`SELECT ${columns} FROM ${jobs} WHERE id = ${id}`.values).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), fromValues))
      )

    const list: JobStore.JobStore["list"] = (options) =>
      run(
        Effect.gen(function* () {
          const expression = sql.literal(sortExpressions[options.sort])
          const desc = options.order === "desc"
          const filter = where(options.filter)
          const limit = Math.max(0, Math.floor(options.limit))
          const cursor = options.cursor
          const after =
            cursor === null
              ? sql.literal("1 = 1")
              : desc
                ? sql`(${expression}, id) < (${cursor.value}, ${cursor.id})`
                : sql`(${expression}, id) > (${cursor.value}, ${cursor.id})`
          const order = sql.literal(desc ? "DESC" : "ASC")
          const rows = (yield* sql`SELECT ${columns} FROM ${jobs} WHERE ${filter} AND ${after}
            ORDER BY ${expression} ${order}, id ${order} LIMIT ${limit + 1}`.values).map(fromValues)
          const page = rows.slice(0, limit)
          const last = page[page.length - 1]
          const total = options.withTotal
            ? int((yield* sql<Row>`SELECT count(*) AS n FROM ${jobs} WHERE ${filter}`)[0]?.n)
            : null
          return {
            rows: page,
            nextCursor:
              rows.length > page.length && last !== undefined
                ? { value: sortValue(last, options.sort), id: last.id }
                : null,
            total
          }
        })
      )

    const statuses: JobStore.JobStore["statuses"] = ({ ids }) =>
      ids.length === 0
        ? Effect.succeed([])
        : run(sql`SELECT id, status FROM ${jobs} WHERE id IN ${inList(Array.from(new Set(ids)))}`.values).pipe(
            Effect.map((rows) => rows.map(statusChange))
          )

    const logsPage: JobStore.JobStore["logs"] = ({ cursor, jobId, limit }) => {
      // log ids are integers; a cursor that is not one cannot come from this store, so nothing follows it
      if (cursor !== null && !/^\d{1,15}$/.test(cursor)) return Effect.succeed({ rows: [], nextCursor: null })
      const n = Math.max(0, Math.floor(limit))
      const older = cursor === null ? sql.literal("1 = 1") : sql`id < ${Number(cursor)}`
      return run(
        sql`SELECT id, job_id, at, level, message FROM ${logs} WHERE job_id = ${jobId} AND ${older}
          ORDER BY id DESC LIMIT ${n + 1}`.values
      ).pipe(
        Effect.map((found) => {
          const rows = found.slice(0, n).map((row): JobStore.LogRow => ({
            id: text(row[0]),
            jobId: text(row[1]),
            at: int(row[2]),
            level: text(row[3]) as Job.LogLevel,
            message: text(row[4])
          }))
          const last = rows[rows.length - 1]
          return { rows, nextCursor: found.length > rows.length && last !== undefined ? last.id : null }
        })
      )
    }

    const getResult: JobStore.JobStore["getResult"] = ({ resultId }) =>
      run(sql`SELECT id, job_id, value, created_at FROM ${results} WHERE id = ${resultId}`.values).pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row): JobStore.ResultRow => ({
            id: text(row[0]),
            jobId: text(row[1]),
            value: text(row[2]),
            createdAt: int(row[3])
          }))
        )
      )

    // grouped status first, so the status index (which carries type) answers it without reading a row
    const stats: JobStore.JobStore["stats"] = ({ filter }) =>
      run(sql`SELECT type, status, count(*) FROM ${jobs} WHERE ${where(filter)} GROUP BY status, type`.values).pipe(
        Effect.map((rows) =>
          rows.map((row) => ({ type: text(row[0]), status: text(row[1]) as JobStatus, count: int(row[2]) }))
        )
      )

    // --- user actions -----------------------------------------------------------------------------------------

    const update: JobStore.JobStore["update"] = (options) =>
      options.from.length === 0
        ? Effect.succeed(Option.none())
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const [prev] = yield* sql`SELECT status FROM ${jobs} WHERE id = ${options.id}
                  AND status IN ${sql.in(options.from)}`.values
                if (prev === undefined) return Option.none<{ row: JobRow; prevStatus: string }>()
                const sets: Array<Statement.Fragment> = [sql`updated_at = ${options.now}`]
                for (const [key, value] of Object.entries(options.patch)) {
                  const column = patchColumns[key as keyof JobStore.JobPatch]
                  // an explicit `undefined` means "not given"; unknown keys are not columns
                  if (value === undefined || column === undefined) continue
                  sets.push(sql`${sql.literal(column)} = ${key === "tags" ? json(value) : value}`)
                }
                const [values] = yield* sql`UPDATE ${jobs} SET ${sql.csv(sets)} WHERE id = ${options.id}
                  RETURNING ${columns}`.values
                if (values === undefined) return Option.none()
                const row = fromValues(values)
                const prevStatus = text(prev[0])
                if (row.status !== prevStatus && row.callbackUrl !== null && Job.isTerminal(row.status)) {
                  yield* recordCallbacks([row.id], options.now)
                }
                return Option.some({ row, prevStatus })
              })
            )
          ).pipe(
            Effect.flatMap(
              Option.match({
                onNone: () => Effect.succeed(Option.none<JobRow>()),
                onSome: ({ prevStatus, row }) => {
                  const signals: Array<StoreSignal> = []
                  const statusChanged = row.status !== prevStatus
                  if (statusChanged) signals.push({ _tag: "Changed", id: row.id, status: row.status })
                  if (row.status === "QUEUED" && (statusChanged || options.patch.runAt !== undefined)) {
                    signals.push({ _tag: "Enqueued", queue: row.queue })
                  }
                  return Effect.as(publish(signals), Option.some(row))
                }
              })
            )
          )

    const deleteOne: JobStore.JobStore["delete"] = ({ from, id }) =>
      from.length === 0
        ? Effect.succeed(false)
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const deleted = yield* sql`DELETE FROM ${jobs} WHERE id = ${id} AND status IN ${sql.in(from)}
                  RETURNING id`.values
                if (deleted.length === 0) return false
                // the children go with the job here: no foreign key cascades (see migration 0001)
                yield* sql`DELETE FROM ${logs} WHERE job_id = ${id}`
                yield* sql`DELETE FROM ${results} WHERE job_id = ${id}`
                yield* sql`DELETE FROM ${callbacks} WHERE job_id = ${id}`
                yield* sql`DELETE FROM ${sql(tables.items)} WHERE job_id = ${id}`
                return true
              })
            )
          )

    const deleteMany: JobStore.JobStore["deleteMany"] = ({ filter }) =>
      run(
        writeTransaction(
          Effect.gen(function* () {
            const matching = where(filter, true)
            // children first, by the same filter, so nothing is held in memory whatever the number of jobs
            yield* sql`DELETE FROM ${logs} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
            yield* sql`DELETE FROM ${results} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
            yield* sql`DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
            yield* sql`DELETE FROM ${sql(tables.items)} WHERE job_id IN (SELECT id FROM ${jobs} WHERE ${matching})`
            yield* sql`DELETE FROM ${jobs} WHERE ${matching}`
            const [count] = yield* sql`SELECT changes()`.values
            return int(count?.[0])
          })
        )
      )

    // --- the worker's writes ---------------------------------------------------------------------------------

    /**
     * Takes the rows `which` selects (still QUEUED) for the worker and returns them as written, without the columns
     * the claim itself set (see `fromClaimed`). `+status`: the planner must look the rows up by key, never walk every
     * queued job to test each against them.
     */
    const claimRows = (options: JobStore.ClaimOptions, which: Statement.Fragment) =>
      sql`UPDATE ${jobs} SET status = 'RUNNING', attempt = attempt + 1, started_at = ${options.now},
          lease_owner = ${options.workerId}, lease_expires_at = ${options.now + options.leaseMs},
          lease_token = ${options.token}, updated_at = ${options.now}
        WHERE ${which} AND +status = 'QUEUED'
        RETURNING ${claimedColumns}`.values

    /** The due jobs of `queues` in claim order, walking the due-jobs index (`status = 'QUEUED'` selects it). */
    const due = (
      options: JobStore.ClaimOptions,
      queues: ReadonlyArray<string>,
      limit: number,
      select: Statement.Fragment,
      exclude: Statement.Fragment = sql.literal("1 = 1")
    ) =>
      sql`SELECT ${select} FROM ${jobs}
        WHERE status = 'QUEUED' AND queue IN ${sql.in(queues)} AND run_at <= ${options.now} AND ${exclude}
          AND ${options.types === undefined ? sql.literal("1 = 1") : sql`type IN ${sql.in(options.types)}`}
        ORDER BY priority DESC, run_at, id
        LIMIT ${limit}`

    /**
     * A claim under concurrency limits: counts the running jobs of each limited type and queue, then walks due jobs
     * in claim order taking those that fit. When a limit fills mid-walk the rest of the walk may have been skipped
     * for it, so the walk runs again without the full types and queues; each pass fills at least one limit or ends.
     */
    const claimLimited = (options: JobStore.ClaimOptions) =>
      Effect.gen(function* () {
        const typeLeft = new Map<string, number>()
        const queueLeft = new Map<string, number>()
        const limitedTypes = Object.keys(options.typeLimits)
        const limitedQueues = Object.keys(options.queueLimits).filter((queue) => options.queues.includes(queue))
        for (const type of limitedTypes) typeLeft.set(type, options.typeLimits[type]!)
        for (const queue of limitedQueues) queueLeft.set(queue, options.queueLimits[queue]!)
        // `+type`: counted from the running range of the status index, never from every job of the type
        if (limitedTypes.length > 0) {
          const running = yield* sql`SELECT type, count(*) FROM ${jobs}
            WHERE +type IN ${sql.in(limitedTypes)} AND status IN ('RUNNING', 'CANCELLING') GROUP BY type`.values
          for (const [type, n] of running) typeLeft.set(text(type), typeLeft.get(text(type))! - int(n))
        }
        if (limitedQueues.length > 0) {
          const running = yield* sql`SELECT queue, count(*) FROM ${jobs}
            WHERE queue IN ${sql.in(limitedQueues)} AND status IN ('RUNNING', 'CANCELLING') GROUP BY queue`.values
          for (const [queue, n] of running) queueLeft.set(text(queue), queueLeft.get(text(queue))! - int(n))
        }
        const full = (left: Map<string, number>) => Array.from(left).flatMap(([key, n]) => (n <= 0 ? [key] : []))

        const chosen: Array<string> = []
        while (chosen.length < options.limit) {
          const queues = options.queues.filter((queue) => (queueLeft.get(queue) ?? 1) > 0)
          if (queues.length === 0) break
          const fullTypes = full(typeLeft)
          const want = options.limit - chosen.length
          const exclude = sql.and([
            fullTypes.length === 0 ? sql.literal("1 = 1") : sql`type NOT IN ${sql.in(fullTypes)}`,
            chosen.length === 0 ? sql.literal("1 = 1") : sql`id NOT IN ${inList(chosen)}`
          ])
          const candidates = yield* due(options, queues, want, sql.literal("id, type, queue"), exclude).values
          let skipped = false
          for (const [id, type, queue] of candidates) {
            if (chosen.length >= options.limit) break
            const typeFree = typeLeft.get(text(type))
            const queueFree = queueLeft.get(text(queue))
            if ((typeFree !== undefined && typeFree <= 0) || (queueFree !== undefined && queueFree <= 0)) {
              skipped = true
              continue
            }
            if (typeFree !== undefined) typeLeft.set(text(type), typeFree - 1)
            if (queueFree !== undefined) queueLeft.set(text(queue), queueFree - 1)
            chosen.push(text(id))
          }
          if (!skipped || candidates.length < want) break
        }
        return chosen.length === 0 ? [] : yield* claimRows(options, sql`id IN ${inList(chosen)}`)
      })

    const claim: JobStore.JobStore["claim"] = (options) => {
      if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return Effect.succeed([])
      const limited = Object.keys(options.typeLimits).length > 0 || Object.keys(options.queueLimits).length > 0
      // Without limits the claim is one UPDATE: a statement is atomic and takes the write lock at its start, so no
      // two claims (of any process) can take the same job. With limits, counts and updates share one transaction.
      // The unlimited claim picks rowids: the due-jobs index holds them, so each pick is found in the table
      // directly rather than through the primary key's index first (rowids are stable within a statement).
      const claimed = limited
        ? writeTransaction(claimLimited(options))
        : claimRows(
            options,
            sql`rowid IN (${due(options, options.queues, Math.floor(options.limit), sql.literal("rowid"))})`
          )
      const write = {
        workerId: options.workerId,
        now: options.now,
        leaseExpiresAt: options.now + options.leaseMs,
        token: options.token
      }
      // RETURNING order is unspecified
      return run(claimed).pipe(Effect.map((rows) => rows.map((row) => fromClaimed(row, write)).sort(claimOrder)))
    }

    const heartbeat: JobStore.JobStore["heartbeat"] = (options) => {
      const leases = Array.from(new Map(options.leases.map((l) => [l.id, l.token])))
      if (leases.length === 0) return Effect.succeed([])
      const write = (chunk: ReadonlyArray<readonly [string, string]>) =>
        // `+status`: the status index must not lure the planner away from the primary key
        sql`UPDATE ${jobs} SET lease_expires_at = ${options.now + options.leaseMs}
          FROM (SELECT column1 AS id, column2 AS token FROM (${valuesList(chunk, 2, { pad: true })})) AS l
          WHERE ${jobs}.id = l.id AND lease_token = l.token AND lease_owner = ${options.workerId}
            AND +status IN ('RUNNING', 'CANCELLING')
          RETURNING ${jobs}.id, status`.values
      const chunks = chunksOf(leases, maxBatch)
      const all =
        chunks.length === 1
          ? write(chunks[0]!)
          : writeTransaction(Effect.map(Effect.forEach(chunks, write), (parts) => parts.flat()))
      return run(all).pipe(Effect.map((rows) => rows.map(statusChange)))
    }

    /** The `VALUES` rows of `settleChunk`, flat. */
    const settleParams = (settlements: ReadonlyArray<JobStore.Settlement>): Array<unknown> => {
      const params: Array<unknown> = []
      for (const s of settlements) {
        params.push(
          s.id,
          s.token,
          s._tag,
          s.progress,
          s._tag === "Complete" ? (s.result?.id ?? null) : null,
          s._tag === "Retry" ? s.runAt : null,
          s._tag === "Retry" || s._tag === "Fail" ? s.lastError : null,
          s._tag === "Fail" ? s.status : null,
          s._tag === "Fail" ? s.reason : null
        )
      }
      return params
    }

    /**
     * Applies up to `maxBatch` settlements with one statement. SET expressions read the row as it was, so
     * `j.status` is the status before this write: a CANCELLING row becomes CANCELLED whatever the settlement says.
     * RETURNING reads the row as written: the queue only of a row put back in its queue (the one use of it), so the
     * common settle returns one string fewer per row.
     */
    const settleChunk = (workerId: string, now: number, settlements: ReadonlyArray<JobStore.Settlement>) =>
      sql`UPDATE ${jobs} AS j SET
          status = CASE
            WHEN j.status = 'CANCELLING' OR s.tag = 'Cancelled' THEN 'CANCELLED'
            WHEN s.tag = 'Complete' THEN 'SUCCEEDED'
            WHEN s.tag = 'Fail' THEN s.fail_status
            ELSE 'QUEUED' END,
          terminal_reason = CASE
            WHEN j.status = 'CANCELLING' OR s.tag = 'Cancelled' THEN 'user'
            WHEN s.tag = 'Complete' THEN NULL
            WHEN s.tag = 'Fail' THEN s.reason
            ELSE j.terminal_reason END,
          finished_at = CASE
            WHEN j.status = 'CANCELLING' OR s.tag IN ('Cancelled', 'Complete', 'Fail') THEN ${now}
            ELSE j.finished_at END,
          result_id = CASE WHEN j.status = 'RUNNING' AND s.tag = 'Complete' THEN s.result_id ELSE j.result_id END,
          run_at = CASE WHEN j.status = 'RUNNING' AND s.tag = 'Retry' THEN s.run_at ELSE j.run_at END,
          last_error = CASE
            WHEN j.status = 'RUNNING' AND s.tag IN ('Retry', 'Fail') THEN s.last_error
            ELSE j.last_error END,
          attempt = CASE WHEN j.status = 'RUNNING' AND s.tag = 'Release' THEN max(0, j.attempt - 1) ELSE j.attempt END,
          progress = coalesce(s.progress, j.progress),
          lease_owner = NULL,
          lease_expires_at = NULL,
          lease_token = NULL,
          updated_at = ${now}
        FROM (
          SELECT column1 AS id, column2 AS token, column3 AS tag, column4 AS progress, column5 AS result_id,
            column6 AS run_at, column7 AS last_error, column8 AS fail_status, column9 AS reason
          FROM (${flatValuesList(settleParams(settlements), 9, { pad: true })})
        ) AS s
        WHERE j.id = s.id AND j.lease_token = s.token AND j.lease_owner = ${workerId}
          AND +j.status IN ('RUNNING', 'CANCELLING')
        RETURNING id, status, CASE WHEN status = 'QUEUED' THEN queue END, callback_url`.values

    /**
     * `settleChunk` for a chunk of `Complete` settlements only, the settlement of every attempt that succeeds: the
     * same writes with the other tags' branches gone, so four parameters a row instead of nine, and no write to the
     * columns only a retry, failure or release changes (the run time among them, which makes SQLite consider the
     * due-jobs index). A CANCELLING row still becomes CANCELLED (`user`) and keeps its result id.
     */
    const completeChunk = (
      workerId: string,
      now: number,
      settlements: ReadonlyArray<Extract<JobStore.Settlement, { readonly _tag: "Complete" }>>
    ) => {
      const params: Array<unknown> = []
      for (const s of settlements) params.push(s.id, s.token, s.progress, s.result?.id ?? null)
      return sql`UPDATE ${jobs} AS j SET
          status = CASE WHEN j.status = 'CANCELLING' THEN 'CANCELLED' ELSE 'SUCCEEDED' END,
          terminal_reason = CASE WHEN j.status = 'CANCELLING' THEN 'user' ELSE NULL END,
          finished_at = ${now},
          result_id = CASE WHEN j.status = 'RUNNING' THEN s.result_id ELSE j.result_id END,
          progress = coalesce(s.progress, j.progress),
          lease_owner = NULL,
          lease_expires_at = NULL,
          lease_token = NULL,
          updated_at = ${now}
        FROM (
          SELECT column1 AS id, column2 AS token, column3 AS progress, column4 AS result_id
          FROM (${flatValuesList(params, 4, { pad: true })})
        ) AS s
        WHERE j.id = s.id AND j.lease_token = s.token AND j.lease_owner = ${workerId}
          AND +j.status IN ('RUNNING', 'CANCELLING')
        RETURNING id, status, CASE WHEN status = 'QUEUED' THEN queue END, callback_url`.values
    }

    const isComplete = (s: JobStore.Settlement): s is Extract<JobStore.Settlement, { readonly _tag: "Complete" }> =>
      s._tag === "Complete"

    const settle: JobStore.JobStore["settle"] = (options) => {
      // in order: a second settlement of the same job would find its lease already cleared, so only the first counts
      const seen = new Set<string>()
      const settlements = options.settlements.filter((s) => !seen.has(s.id) && seen.add(s.id))
      const lines = options.logs?.entries ?? []
      if (lines.length > 0 && settlements.length === 0) return Effect.as(appendLogs(options.logs!), [])
      if (settlements.length === 0) return Effect.succeed([])
      return run(
        writeTransaction(
          Effect.gen(function* () {
            const rows: Array<ReadonlyArray<unknown>> = []
            for (const chunk of chunksOf(settlements, maxBatch)) {
              const written = chunk.every(isComplete)
                ? yield* completeChunk(options.workerId, options.now, chunk)
                : yield* settleChunk(options.workerId, options.now, chunk)
              for (const row of written) rows.push(row)
            }
            // The lines go in after the settlements, in the same transaction: nobody can tell the order apart (a
            // settlement neither adds nor deletes jobs), and a job just settled is known to exist, so its lines
            // skip the existence check.
            // skip the existence check (a line of the settled claim also skips its lease check: the settlement
            // just cleared the lease it was guarded by).
            const byId = new Map(settlements.map((s) => [s.id, s]))
            if (lines.length > 0) {
              const settled = new Map(rows.map((row) => [text(row[0]), byId.get(text(row[0]))!.token]))
              yield* appendLines(lines, options.logs!.cap, settled)
            }
            const stored = rows.flatMap(([id, status]) => {
              const settlement = byId.get(text(id))
              return settlement?._tag === "Complete" && settlement.result !== null && status === "SUCCEEDED"
                ? [[settlement.result.id, settlement.id, settlement.result.value]]
                : []
            })
            for (const chunk of powerOfTwoChunks(stored, maxBatch)) {
              yield* sql`INSERT INTO ${results} (id, job_id, value, created_at)
                SELECT column1, column2, column3, ${options.now} FROM (${valuesList(chunk, 3, { pad: false })})`
            }
            yield* recordCallbacks(owingCallback(rows, 3), options.now)
            return rows
          })
        )
      ).pipe(
        Effect.flatMap((rows) => {
          // answered in settlement order, as the memory store does
          const byRow = new Map(rows.map((row) => [text(row[0]), row]))
          const changes: Array<StatusChange> = []
          const queues: Array<string> = []
          for (const s of settlements) {
            const row = byRow.get(s.id)
            if (row === undefined) continue
            changes.push({ id: s.id, status: text(row[1]) as JobStatus })
            if (row[1] === "QUEUED") queues.push(text(row[2]))
          }
          return Effect.as(publish(enqueued(queues)), changes)
        })
      )
    }

    const saveProgress: JobStore.JobStore["saveProgress"] = (options) => {
      // the last update of a job wins, as if applied in order
      const latest = Array.from(
        new Map(options.updates.map((u) => [u.id, [u.id, u.token, u.progress] as const])).values()
      )
      if (latest.length === 0) return Effect.void
      const write = (chunk: ReadonlyArray<readonly [string, string, string]>): Effect.Effect<void, SqlError> =>
        Effect.asVoid(sql`UPDATE ${jobs} SET progress = s.progress, updated_at = ${options.now}
          FROM (
            SELECT column1 AS id, column2 AS token, column3 AS progress FROM (${valuesList(chunk, 3, { pad: true })})
          ) AS s
          WHERE ${jobs}.id = s.id AND lease_token = s.token AND lease_owner = ${options.workerId}
            AND +status IN ('RUNNING', 'CANCELLING')`)
      const chunks = chunksOf(latest, maxBatch)
      return run(chunks.length === 1 ? write(chunks[0]!) : writeTransaction(Effect.forEach(chunks, write)))
    }

    /**
     * Appends log lines of existing jobs (a line with a token only while that claim holds the job), then trims each
     * touched job to `cap` lines; inside the caller's transaction. `settled`: jobs just settled in this transaction,
     * with the token of their settlement; their lines without a token or with that token are written without
     * looking the job up.
     */
    const appendLines = (entries: ReadonlyArray<JobStore.NewLog>, cap: number, settled?: ReadonlyMap<string, string>) =>
      Effect.gen(function* () {
        const jobIds = new Set<string>()
        const known: Array<unknown> = []
        const unknown: Array<unknown> = []
        for (const e of entries) {
          jobIds.add(e.jobId)
          const token = settled?.get(e.jobId)
          if (token !== undefined && (e.token === undefined || e.token === token)) {
            known.push(e.jobId, e.at, e.level, e.message)
          } else {
            unknown.push(e.jobId, e.at, e.level, e.message, e.token ?? null)
          }
        }
        for (const chunk of chunksOf(known, maxBatch * 4)) {
          // the padding rows are dropped by the IS NOT NULL
          yield* sql`INSERT INTO ${logs} (job_id, at, level, message)
            SELECT e.column1, e.column2, e.column3, e.column4 FROM (${flatValuesList(chunk, 4, { pad: true })}) AS e
            WHERE e.column1 IS NOT NULL`
        }
        for (const chunk of chunksOf(unknown, maxBatch * 5)) {
          // lines of missing jobs, late lines of claims that no longer hold their job (and the padding rows) are
          // dropped here, rather than failing the batch
          yield* sql`INSERT INTO ${logs} (job_id, at, level, message)
            SELECT e.column1, e.column2, e.column3, e.column4 FROM (${flatValuesList(chunk, 5, { pad: true })}) AS e
            WHERE EXISTS (SELECT 1 FROM ${jobs} WHERE id = e.column1 AND (e.column5 IS NULL OR
              (lease_token = e.column5 AND status IN ('RUNNING', 'CANCELLING'))))`
        }
        // A job is over its cap when it has a (cap+1)-th newest line, found by walking the (job_id, id) index from
        // the newest end: a job with few lines costs a few steps. Almost never is one over, so the jobs are probed
        // first and the delete runs only for those that are; everything at or below that line goes.
        const offset = Math.max(0, Math.floor(cap))
        const over = yield* sql`SELECT j.value FROM json_each(${json(Array.from(jobIds))}) AS j
          WHERE EXISTS (SELECT 1 FROM ${logs} WHERE job_id = j.value ORDER BY id DESC LIMIT 1 OFFSET ${offset})`.values
        if (over.length === 0) return
        yield* sql`DELETE FROM ${logs} WHERE id IN (
          SELECT l.id FROM (
            SELECT j.value AS job_id, (
              SELECT id FROM ${logs} WHERE job_id = j.value ORDER BY id DESC LIMIT 1 OFFSET ${offset}
            ) AS cutoff
            FROM json_each(${json(over.map((row) => row[0]))}) AS j
          ) AS c
          JOIN ${logs} AS l ON l.job_id = c.job_id AND l.id <= c.cutoff
        )`
      })

    const appendLogs: JobStore.JobStore["appendLogs"] = ({ cap, entries }) =>
      entries.length === 0 ? Effect.void : run(writeTransaction(appendLines(entries, cap)))

    // --- maintenance ------------------------------------------------------------------------------------------

    const rescue: JobStore.JobStore["rescue"] = ({ now }) =>
      run(
        writeTransaction(
          Effect.gen(function* () {
            // run_at is left as it was: a re-queued job keeps its place ahead of work queued after it
            const rows = yield* sql`UPDATE ${jobs} SET
                status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED'
                  WHEN attempt < max_attempts THEN 'QUEUED' ELSE 'FAILED' END,
                terminal_reason = CASE WHEN status = 'CANCELLING' THEN 'user'
                  WHEN attempt < max_attempts THEN terminal_reason ELSE 'stalled' END,
                finished_at = CASE WHEN status = 'RUNNING' AND attempt < max_attempts THEN finished_at ELSE ${now} END,
                lease_owner = NULL,
                lease_expires_at = NULL,
                lease_token = NULL,
                updated_at = ${now}
              WHERE status IN ('RUNNING', 'CANCELLING') AND lease_expires_at <= ${now}
              RETURNING id, status, queue, callback_url`.values
            yield* recordCallbacks(owingCallback(rows, 3), now)
            return rows
          })
        )
      ).pipe(
        Effect.flatMap((rows) => {
          const changes = rows.map(statusChange)
          const queues = rows.filter((row) => row[1] === "QUEUED").map((row) => text(row[2]))
          return Effect.as(publish([...changed(changes), ...enqueued(queues)]), changes)
        })
      )

    const expire: JobStore.JobStore["expire"] = ({ now }) =>
      run(
        writeTransaction(
          Effect.gen(function* () {
            // Named, because without statistics the planner prefers the status index and would walk every queued
            // job each second; the terms repeat the partial index's own WHERE, which makes it usable.
            const rows = yield* sql`UPDATE ${jobs} INDEXED BY ${sql(`${tables.prefix}jobs_deadline`)}
                SET status = 'TIMED_OUT', terminal_reason = 'expired',
                lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL, finished_at = ${now},
                updated_at = ${now}
              WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSED') AND deadline <= ${now}
              RETURNING id, status, callback_url`.values
            yield* recordCallbacks(owingCallback(rows, 2), now)
            return rows
          })
        )
      ).pipe(
        Effect.flatMap((rows) => {
          const changes = rows.map(statusChange)
          return Effect.as(publish(changed(changes)), changes)
        })
      )

    const claimCallbacks: JobStore.JobStore["claimCallbacks"] = ({ leaseMs, limit, now }) =>
      limit <= 0
        ? Effect.succeed([])
        : run(
            writeTransaction(
              Effect.gen(function* () {
                const rows = yield* sql`SELECT id, job_id, url, status, terminal_reason, result_id, finished_at,
                    attempts
                  FROM ${callbacks} WHERE due_at <= ${now} ORDER BY due_at, id LIMIT ${Math.floor(limit)}`.values
                if (rows.length > 0) {
                  yield* sql`UPDATE ${callbacks} SET due_at = ${now + leaseMs}
                    WHERE id IN ${inList(rows.map((row) => row[0]))}`
                }
                return rows.map((row): JobStore.CallbackRow => ({
                  id: text(row[0]),
                  jobId: text(row[1]),
                  url: text(row[2]),
                  status: text(row[3]) as JobStatus,
                  terminalReason: textOrNull(row[4]) as Job.TerminalReason | null,
                  resultId: textOrNull(row[5]),
                  finishedAt: intOrNull(row[6]),
                  attempts: int(row[7])
                }))
              })
            )
          )

    const settleCallback: JobStore.JobStore["settleCallback"] = ({ id, retryAt }) => {
      // callback ids are integers; any other id cannot be one of ours
      if (!/^\d{1,15}$/.test(id)) return Effect.void
      return run(
        retryAt === null
          ? sql`DELETE FROM ${callbacks} WHERE id = ${Number(id)}`
          : sql`UPDATE ${callbacks} SET due_at = ${retryAt}, attempts = attempts + 1 WHERE id = ${Number(id)}`
      ).pipe(Effect.asVoid)
    }

    return {
      crossProcessSignals: false,
      insert,
      get,
      list,
      update,
      claim,
      heartbeat,
      statuses,
      settle,
      saveProgress,
      appendLogs,
      logs: logsPage,
      getResult,
      stats,
      delete: deleteOne,
      deleteMany,
      rescue,
      expire,
      claimCallbacks,
      settleCallback,
      ...items.port,
      ...schedules,
      prune,
      subscribe: PubSub.subscribe(hub)
    } satisfies JobStore.JobStore
  })
