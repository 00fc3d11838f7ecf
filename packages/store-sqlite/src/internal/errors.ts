/**
 * The SQLite store's failures as the port's one error. `SqlError` never leaves this package: every port method and
 * every setup step goes through {@link refail}, which keeps the driver's error underneath as `cause` (for logs and
 * traces; the HTTP layer never shows it).
 */
import type * as Migrator from "@effect/sql/Migrator"
import type { SqlError } from "@effect/sql/SqlError"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"

/** SQLite's extended result code of a driver error (`SQLITE_BUSY_SNAPSHOT`, …), or "" when there is none. */
const sqliteCode = (error: SqlError): string => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : ""
}

// result codes that say "the database cannot be used right now" (locked, missing, full, read-only), which a caller
// may retry, as opposed to a constraint broken by the data or a file that is not a database
const unavailableCodes = [
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_CANTOPEN",
  "SQLITE_IOERR",
  "SQLITE_FULL",
  "SQLITE_READONLY"
]

const reasonOf = (error: SqlError): JobStore.JobStoreError["reason"] => {
  const code = sqliteCode(error)
  if (code.startsWith("SQLITE_CONSTRAINT")) return "Conflict"
  if (unavailableCodes.some((prefix) => code.startsWith(prefix))) return "Unavailable"
  if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")) return "Corrupt"
  return "Unknown"
}

const isSqlError = (u: unknown): u is SqlError =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "SqlError"

const messageOf = (u: unknown): string => (u instanceof Error ? u.message : String(u))

/** The port's error for a driver error: the reason by SQLite's result code, the driver's message, and the cause. */
const fromSqlError = (error: SqlError): JobStore.JobStoreError =>
  new JobStore.JobStoreError({
    reason: reasonOf(error),
    message: `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ""}`,
    cause: error
  })

/** Re-fails an effect's `SqlError` as the port's `JobStoreError`; its other failures pass through unchanged. */
export const refail = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | JobStore.JobStoreError, R> =>
  Effect.mapError(effect, (error) => (isSqlError(error) ? fromSqlError(error) : (error as Exclude<E, SqlError>)))

/** A failure to reach the database at all (its directory, its file), which the host may fix and retry. */
export const unavailable = (message: string, cause: unknown): JobStore.JobStoreError =>
  new JobStore.JobStoreError({ reason: "Unavailable", message: `${message}: ${messageOf(cause)}`, cause })

/** Whether a defect is a failed migration (the Migrator raises one as a defect when a migration's effect fails). */
export const isMigrationError = (u: unknown): u is Migrator.MigrationError =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "MigrationError"

/** A migration that failed, with the failure underneath it named in the message. */
export const migrationFailed = (cause: unknown): JobStore.JobStoreError =>
  new JobStore.JobStoreError({
    reason: "Unknown",
    message: `jobloom migrations failed: ${messageOf(cause)}${
      typeof cause === "object" && cause !== null && "cause" in cause && cause.cause instanceof Error
        ? `: ${cause.cause.message}`
        : ""
    }`,
    cause
  })
