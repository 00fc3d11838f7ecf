/**
 * jobloom's write transactions on SQLite.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"

/**
 * Wraps an effect in a write transaction that takes SQLite's write lock at `BEGIN IMMEDIATE`, so `busy_timeout`
 * applies to the whole transaction and two processes never fail upgrading a read lock (the client's own
 * `withTransaction` issues a deferred `BEGIN`). Inside a transaction already open in the fiber (the host's, or an
 * outer one of ours) it is a savepoint of that transaction.
 */
export const writeTransaction = (
  sql: SqlClient.SqlClient
): (<A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>) => {
  const transaction = SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [["db.system.name", "sqlite"]],
    acquireConnection: Effect.flatMap(Scope.make(), (scope) =>
      Effect.map(Scope.extend(sql.reserve, scope), (conn) => [scope, conn] as const)
    ),
    // prepared once and cached by the client, like any statement (the client's own transactions prepare each time)
    begin: (conn) => Effect.asVoid(conn.execute("BEGIN IMMEDIATE", [], undefined)),
    savepoint: (conn, id) => Effect.asVoid(conn.execute(`SAVEPOINT jobloom_${id}`, [], undefined)),
    commit: (conn) => Effect.asVoid(conn.execute("COMMIT", [], undefined)),
    rollback: (conn) => Effect.asVoid(conn.execute("ROLLBACK", [], undefined)),
    rollbackSavepoint: (conn, id) => Effect.asVoid(conn.execute(`ROLLBACK TO SAVEPOINT jobloom_${id}`, [], undefined))
  })
  // better-sqlite3 is synchronous, so a transaction runs start to end without waiting on anything, unless the
  // scheduler makes the fiber yield mid-way. Then another connection of this process could block the event loop in
  // its busy wait for the lock this transaction holds. So a transaction never yields.
  return (effect) => Effect.withMaxOpsBeforeYield(transaction(effect), Number.MAX_SAFE_INTEGER)
}
