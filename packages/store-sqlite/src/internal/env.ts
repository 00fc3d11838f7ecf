/**
 * What every statement module of the store works with: the client, the tables as identifiers, the write transaction,
 * the wrapper each port method runs in, and the store's signals. Built once per store by `store.ts`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { refail } from "./errors.js"
import { claimedColumnList, jobColumnList } from "./rows.js"
import type * as Signals from "./signals.js"
import type { Tables } from "./tables.js"
import * as Transaction from "./transaction.js"

/** The shared context of the statement modules. */
export interface Env {
  /** The client, reading column names as stored (snake_case) whatever result transforms the host's client has. */
  readonly sql: SqlClient.SqlClient
  readonly tables: Tables
  readonly jobs: Statement.Identifier
  readonly logs: Statement.Identifier
  readonly results: Statement.Identifier
  readonly callbacks: Statement.Identifier
  readonly counters: Statement.Identifier
  readonly items: Statement.Identifier
  readonly dependencies: Statement.Identifier
  readonly dependencySignals: Statement.Identifier
  /** The select list of a whole jobs row, in `rows.fromValues` order. */
  readonly columns: Statement.Fragment
  /** The select list of a claimed row, in `rows.fromClaimed` order. */
  readonly claimedColumns: Statement.Fragment
  /** A `BEGIN IMMEDIATE` transaction (a savepoint inside one already open); see `transaction.ts`. */
  readonly writeTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /** Runs one port method: on its own connection unless joining the fiber's transaction is allowed, `SqlError` refailed. */
  readonly run: <A, R>(
    effect: Effect.Effect<A, SqlError | JobStore.JobStoreError, R>
  ) => Effect.Effect<A, JobStore.JobStoreError, R>
  /** A list of values as a subquery: one parameter whatever its length, so the statement text never changes. */
  readonly inList: (values: ReadonlyArray<unknown>) => Statement.Fragment
  readonly signals: Signals.Signals
}

/** How a store is built. */
export interface Options {
  readonly tables: Tables
  readonly signals: Signals.Signals
  /**
   * Whether statements may join a transaction already open in the fiber. True for a host's client (so enqueue can
   * be part of the host's transaction); false for a private client, which must never run its statements on a
   * connection of another database that happens to be in a transaction (the transaction tag is one for all clients).
   */
  readonly joinTransactions: boolean
}

/** The context over the `SqlClient` in context. */
export const make = (options: Options): Effect.Effect<Env, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (client) => {
    const sql = client.withoutTransforms()
    const { tables } = options
    const isolate: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = options.joinTransactions
      ? (effect) => effect
      : <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.mapInputContext(
            effect,
            (context: Context.Context<R>) =>
              Context.omit(SqlClient.TransactionConnection)(context) as Context.Context<R>
          )
    return {
      sql,
      tables,
      jobs: sql(tables.jobs),
      logs: sql(tables.logs),
      results: sql(tables.results),
      callbacks: sql(tables.callbacks),
      counters: sql(tables.counters),
      items: sql(tables.items),
      dependencies: sql(tables.dependencies),
      dependencySignals: sql(tables.dependencySignals),
      columns: sql.literal(jobColumnList),
      claimedColumns: sql.literal(claimedColumnList),
      writeTransaction: Transaction.writeTransaction(sql),
      run: (effect) => refail(isolate(effect)),
      inList: (values) => sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`,
      signals: options.signals
    }
  })
