/**
 * Where a driver failure becomes the port's error, once for the whole store: {@link refail} wraps every port method,
 * so no statement group maps `SqlError` by hand, and `SqlError` never leaves this package. The `SqlError` is kept as
 * the `JobStoreError`'s `cause`, for logs and traces (clients see only the reason and message).
 */
import type * as SqlError from "@effect/sql/SqlError"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

// SQLSTATE codes that mean "the database is not reachable right now"
const unavailableCodes = new Set(["57P01", "57P02", "57P03", "53300", "53400", "58000", "58030"])
// Node's socket errors, which reach us as the cause of a SqlError when the server is gone or unreachable
const unavailableNodeCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN"
])
// a unique violation, a serialization failure, a deadlock, a lock not available: the caller may try again
const conflictCodes = new Set(["23505", "40001", "40P01", "55P03"])

const describe = (cause: unknown): { readonly code: string | undefined; readonly message: string } => {
  if (typeof cause === "object" && cause !== null) {
    const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined
    const message = "message" in cause && typeof cause.message === "string" ? cause.message : String(cause)
    return { code, message }
  }
  return { code: undefined, message: String(cause) }
}

/** Whether an error says the connection or the server is gone (as opposed to a bad statement). */
export const isUnavailable = (error: SqlError.SqlError): boolean => {
  const { code, message } = describe(error.cause)
  if (code !== undefined && unavailableNodeCodes.has(code)) return true
  // a SQLSTATE says exactly what happened: trust it over the message
  // class 08: connection exception; class 28: authentication failed (a rotated password, a dropped role);
  // 3D000: the database is gone
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith("08") || code.startsWith("28") || code === "3D000" || unavailableCodes.has(code)
  }
  return /connect|terminat|not queryable|timeout|timed out|ended|shutting down|closed/i.test(
    `${error.message} ${message}`
  )
}

const reasonOf = (error: SqlError.SqlError, code: string | undefined): JobStore.JobStoreError["reason"] =>
  isUnavailable(error)
    ? "Unavailable"
    : code !== undefined && conflictCodes.has(code)
      ? "Conflict"
      : // class 22: data exception (a value the column cannot hold); XX001/XX002: a corrupt data or index page
        code !== undefined && (code.startsWith("22") || code === "XX001" || code === "XX002")
        ? "Corrupt"
        : "Unknown"

/** The port's error for a driver error, with the driver error as its `cause`. */
export const toStoreError = (error: SqlError.SqlError): JobStore.JobStoreError => {
  const { code, message } = describe(error.cause)
  return new JobStore.JobStoreError({
    reason: reasonOf(error, code),
    message: message === error.message ? error.message : `${error.message}: ${message}`,
    cause: error
  })
}

const isSqlError = (u: unknown): u is SqlError.SqlError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "SqlError"

/**
 * Refails `SqlError` failures, and `SqlError` defects, as `JobStoreError`. The defects come from `withTransaction`,
 * which dies when COMMIT or ROLLBACK fails: exactly what a terminated connection does mid-transaction.
 */
export const refail = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError | JobStore.JobStoreError, R>
): Effect.Effect<A, JobStore.JobStoreError, R> =>
  effect.pipe(
    Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))),
    Effect.catchSomeDefect((defect) =>
      isSqlError(defect) ? Option.some(Effect.fail(toStoreError(defect))) : Option.none()
    )
  )

/** The store's own client could not be built (a bad configuration, or the first connection refused). */
export const clientFailed = (error: { readonly message: string; readonly cause?: unknown }): JobStore.JobStoreError =>
  new JobStore.JobStoreError({ reason: "Unavailable", message: `${error.message}: ${error.cause}`, cause: error })
