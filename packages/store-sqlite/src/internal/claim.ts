/**
 * `JobStore.claim`: due QUEUED jobs of the worker's queues, in claim order (priority desc, run time, id), moved to
 * RUNNING under the worker's lease. The hot read of the engine: without limits it is one statement.
 */
import type * as Statement from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { fromClaimed, int, text } from "./rows.js"

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The claim order: priority desc, runAt asc, id asc. */
const claimOrder = (a: JobStore.JobRow, b: JobStore.JobRow) =>
  b.priority - a.priority || a.runAt - b.runAt || compareStrings(a.id, b.id)

/**
 * Takes the rows `which` selects (still QUEUED) for the worker and returns them as written, without the columns
 * the claim itself set (see `fromClaimed`). `+status`: the planner must look the rows up by key, never walk every
 * queued job to test each against them.
 */
const claimRows = ({ claimedColumns, jobs, sql }: Env, options: JobStore.ClaimOptions, which: Statement.Fragment) =>
  sql`UPDATE ${jobs} SET status = 'RUNNING', attempt = attempt + 1, started_at = ${options.now},
      lease_owner = ${options.workerId}, lease_expires_at = ${options.now + options.leaseMs},
      lease_token = ${options.token}, updated_at = ${options.now}
    WHERE ${which} AND +status = 'QUEUED'
    RETURNING ${claimedColumns}`.values

/** A list of strings as `(? || '', …)`: the values of `sql.in`, which the planner does not read (see `due`). */
const opaque = (sql: Env["sql"], values: ReadonlyArray<string>) =>
  sql`(${sql.join(", ", false)(values.map((value) => sql`${value} || ''`))})`

/**
 * The due jobs of `queues` in claim order, walking the due-jobs index (`status = 'QUEUED' AND waiting_on = 0`, its
 * predicate, selects it: jobs waiting on dependencies are not in it).
 *
 * No bare parameter where the planner would read its value: when it does, SQLite marks the statement to be compiled
 * again whenever that parameter is bound, which better-sqlite3 does at every run, and the claim's UPDATE compiles
 * every trigger on the jobs table with it (a claim of one job: 230 µs instead of 60, bench/src/sqlitecost-bare.ts).
 * The planner reads a bare `LIMIT ?` always (its row estimate), and, once `ANALYZE` has left index samples (a host's,
 * or a later `PRAGMA optimize`), a bare parameter compared with an indexed column (`queue`, `run_at`, `type`). So
 * `LIMIT ? + 0`, `run_at <= ? + 0`, `queue IN (? || '')`: the same values, which the planner leaves alone.
 */
const due = (
  { jobs, sql }: Env,
  options: JobStore.ClaimOptions,
  queues: ReadonlyArray<string>,
  limit: number,
  select: Statement.Fragment,
  exclude: Statement.Fragment = sql.literal("1 = 1")
) =>
  sql`SELECT ${select} FROM ${jobs}
    WHERE status = 'QUEUED' AND waiting_on = 0 AND queue IN ${opaque(sql, queues)} AND run_at <= ${options.now} + 0
      AND ${exclude}
      AND ${options.types === undefined ? sql.literal("1 = 1") : sql`type IN ${opaque(sql, options.types)}`}
    ORDER BY priority DESC, run_at, id
    LIMIT ${limit} + 0`

/**
 * A claim under concurrency limits: counts the running jobs of each limited type and queue, then walks due jobs
 * in claim order taking those that fit. When a limit fills mid-walk the rest of the walk may have been skipped
 * for it, so the walk runs again without the full types and queues; each pass fills at least one limit or ends.
 * Runs inside the claim's write transaction, so no other claim counts between the counts and the update.
 */
const claimLimited = (env: Env, options: JobStore.ClaimOptions) =>
  Effect.gen(function* () {
    const { inList, jobs, sql } = env
    const typeLeft = new Map<string, number>()
    const queueLeft = new Map<string, number>()
    const limitedTypes = Object.keys(options.typeLimits)
    const limitedQueues = Object.keys(options.queueLimits).filter((queue) => options.queues.includes(queue))
    for (const type of limitedTypes) typeLeft.set(type, options.typeLimits[type]!)
    for (const queue of limitedQueues) queueLeft.set(queue, options.queueLimits[queue]!)
    // `+type`: counted from the running range of the status index, never from every job of the type
    if (limitedTypes.length > 0) {
      const running = yield* sql`SELECT type, count(*) FROM ${jobs}
        WHERE +type IN ${sql.in(limitedTypes)} AND status IN ('RUNNING', 'PAUSING', 'CANCELLING') GROUP BY type`.values
      for (const [type, n] of running) typeLeft.set(text(type), typeLeft.get(text(type))! - int(n))
    }
    if (limitedQueues.length > 0) {
      const running = yield* sql`SELECT queue, count(*) FROM ${jobs}
        WHERE queue IN ${sql.in(limitedQueues)} AND status IN ('RUNNING', 'PAUSING', 'CANCELLING') GROUP BY queue`
        .values
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
      const candidates = yield* due(env, options, queues, want, sql.literal("id, type, queue"), exclude).values
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
    return chosen.length === 0 ? [] : yield* claimRows(env, options, sql`id IN ${inList(chosen)}`)
  })

/** `JobStore.claim`. */
export const claim =
  (env: Env): JobStore.JobStore.Service["claim"] =>
  (options) => {
    if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return Effect.succeed([])
    const { run, sql, writeTransaction } = env
    const limited = Object.keys(options.typeLimits).length > 0 || Object.keys(options.queueLimits).length > 0
    // Without limits the claim is one UPDATE: a statement is atomic and takes the write lock at its start, so no
    // two claims (of any process) can take the same job. With limits, counts and updates share one transaction.
    // The unlimited claim picks rowids: the due-jobs index holds them, so each pick is found in the table
    // directly rather than through the primary key's index first (rowids are stable within a statement).
    const claimed = limited
      ? writeTransaction(claimLimited(env, options))
      : claimRows(
          env,
          options,
          sql`rowid IN (${due(env, options, options.queues, Math.floor(options.limit), sql.literal("rowid"))})`
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
