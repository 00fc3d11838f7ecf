/**
 * What every statement group of the store shares: the client, the store's names as SQL identifiers, the status
 * lists the statements repeat, and the commit mode of the worker's writes. Built once by `store.ts` and handed to
 * each group, so a group file holds its statements and nothing else.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment, Identifier } from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Names } from "./names.js"
import type { Signals } from "./signals.js"

/** The pieces every statement group uses. */
export interface Shared {
  /** The client in context, speaking snake_case columns as they are (a host's client may transform names). */
  readonly sql: SqlClient.SqlClient
  readonly names: Names
  readonly signals: Signals
  /** The tables, as identifiers for `sql` templates. */
  readonly jobs: Identifier
  readonly logs: Identifier
  readonly results: Identifier
  readonly callbacks: Identifier
  readonly dependencies: Identifier
  /** A hot-path function of migration 1 (`insert`, `claim`, `settle`, `append_logs`, …). */
  readonly fn: (name: string) => Identifier
  /** The terminal statuses, as a parenthesised list for `IN`. */
  readonly terminal: Fragment
  /**
   * RUNNING, PAUSING or CANCELLING, written as the statuses a held job is not (the table's CHECK lists them all): a statement
   * that names its jobs by id and says "held" this way is planned on the key, never on the held index, which holds
   * the running jobs of every worker.
   */
  readonly notHeld: Fragment
  /** Whether a worker write made now may commit asynchronously: never inside a caller's transaction. */
  readonly asyncCommitNow: Effect.Effect<boolean>
  /** A worker write: `f` gets the CTE body that sets this statement's commit mode. */
  readonly workerWrite: <A, E>(f: (mode: Fragment) => Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/** Options of {@link make}. */
export interface Options {
  /** The worker's writes wait for the WAL flush too (see `PgJobStore.StoreOptions`). */
  readonly durableWorkerWrites: boolean
}

/** Builds the shared pieces over the `SqlClient` in context. */
export const make = (
  names: Names,
  signals: Signals,
  options: Options
): Effect.Effect<Shared, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (client) => {
    const sql = client.withoutTransforms()

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

    return {
      sql,
      names,
      signals,
      jobs: sql(names.jobs),
      dependencies: sql(names.dependencies),
      logs: sql(names.logs),
      results: sql(names.results),
      callbacks: sql(names.callbacks),
      fn: (name) => sql(`${names.schema}.${names.prefix}${name}`),
      terminal: sql.literal(`('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`),
      notHeld: sql.literal(`('CREATED', 'QUEUED', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`),
      asyncCommitNow,
      workerWrite: (f) => Effect.flatMap(asyncCommitNow, (asyncCommit) => f(commitMode(asyncCommit)))
    }
  })
