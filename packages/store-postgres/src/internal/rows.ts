/**
 * Conversions between the port's rows and Postgres rows, and from `SqlError` to `JobStoreError`.
 */
import type * as SqlError from "@effect/sql/SqlError"
import { JobStore } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** A row as the driver returns it. */
export type Row = Record<string, unknown>

// the driver returns int8 as a string (and a host's client may be configured to return bigint): Number() takes all
const num = (value: unknown): number => Number(value)
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const strOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value))

/** A stored job row as the port's `JobRow`. */
export const toJobRow = (r: Row): JobStore.JobRow => ({
  id: r.id as string,
  type: r.type as string,
  name: r.name as string,
  queue: r.queue as string,
  owner: strOrNull(r.owner),
  idempotencyKey: strOrNull(r.idempotency_key),
  status: r.status as JobStore.JobRow["status"],
  terminalReason: (r.terminal_reason ?? null) as JobStore.JobRow["terminalReason"],
  priority: num(r.priority),
  params: r.params as string,
  metadata: r.metadata as string,
  tags: (r.tags ?? []) as ReadonlyArray<string>,
  batchId: strOrNull(r.batch_id),
  callbackUrl: strOrNull(r.callback_url),
  attempt: num(r.attempt),
  maxAttempts: num(r.max_attempts),
  timeoutMs: numOrNull(r.timeout_ms),
  deadline: numOrNull(r.deadline),
  runAt: num(r.run_at),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  queuedAt: numOrNull(r.queued_at),
  startedAt: numOrNull(r.started_at),
  finishedAt: numOrNull(r.finished_at),
  progress: r.progress as string,
  lastError: strOrNull(r.last_error),
  resultId: strOrNull(r.result_id),
  leaseOwner: strOrNull(r.lease_owner),
  leaseExpiresAt: numOrNull(r.lease_expires_at),
  leaseToken: strOrNull(r.lease_token),
  number: num(r.number),
  scheduleKey: strOrNull(r.schedule_key)
})

const LOG_ID_WIDTH = 16

/** Log ids are a bigint identity, shown zero-padded so that they also sort as strings (as the memory store's do). */
export const formatLogId = (id: unknown): string => String(id).padStart(LOG_ID_WIDTH, "0")

/** A stored log row as the port's `LogRow`. */
export const toLogRow = (r: Row): JobStore.LogRow => ({
  id: formatLogId(r.id),
  jobId: r.job_id as string,
  at: num(r.at),
  level: r.level as JobStore.LogRow["level"],
  message: r.message as string
})

/** A stored result row. */
export const toResultRow = (r: Row): JobStore.ResultRow => ({
  id: r.id as string,
  jobId: r.job_id as string,
  value: r.value as string,
  createdAt: num(r.created_at)
})

/** A stored callback row. */
export const toCallbackRow = (r: Row): JobStore.CallbackRow => ({
  id: r.id as string,
  jobId: r.job_id as string,
  url: r.url as string,
  status: r.status as JobStore.CallbackRow["status"],
  terminalReason: (r.terminal_reason ?? null) as JobStore.CallbackRow["terminalReason"],
  resultId: strOrNull(r.result_id),
  finishedAt: numOrNull(r.finished_at),
  attempts: num(r.attempts)
})

/** The columns of the jobs table, with the `JobRow` field of each. */
export const jobColumns = [
  ["id", "id"],
  ["type", "type"],
  ["name", "name"],
  ["queue", "queue"],
  ["owner", "owner"],
  ["idempotency_key", "idempotencyKey"],
  ["status", "status"],
  ["terminal_reason", "terminalReason"],
  ["priority", "priority"],
  ["params", "params"],
  ["metadata", "metadata"],
  ["tags", "tags"],
  ["batch_id", "batchId"],
  ["callback_url", "callbackUrl"],
  ["attempt", "attempt"],
  ["max_attempts", "maxAttempts"],
  ["timeout_ms", "timeoutMs"],
  ["deadline", "deadline"],
  ["run_at", "runAt"],
  ["created_at", "createdAt"],
  ["updated_at", "updatedAt"],
  ["queued_at", "queuedAt"],
  ["started_at", "startedAt"],
  ["finished_at", "finishedAt"],
  ["progress", "progress"],
  ["last_error", "lastError"],
  ["result_id", "resultId"],
  ["lease_owner", "leaseOwner"],
  ["lease_expires_at", "leaseExpiresAt"],
  ["lease_token", "leaseToken"]
] as const satisfies ReadonlyArray<readonly [string, keyof JobStore.NewJobRow]>

/**
 * A job row as a JSON object keyed by column, for `json_to_recordset`. A null column is left out: the function reads
 * a missing key as NULL, and most jobs leave a third of the columns null.
 */
export const toJsonRow = (row: JobStore.NewJobRow): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [column, field] of jobColumns) {
    const value = row[field]
    if (value !== null) out[column] = value
  }
  return out
}

/** The column of each `JobRow` field. */
export const columnOf: Readonly<Record<string, string>> = Object.fromEntries(
  jobColumns.map(([column, field]) => [field, column])
)

// SQLSTATE classes and codes that mean "the database is not reachable right now"
const unavailableCodes = new Set(["57P01", "57P02", "57P03", "53300", "53400", "58000", "58030"])
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
  // class 28: authentication failed (a rotated password, a dropped role); 3D000: the database is gone
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith("08") || code.startsWith("28") || code === "3D000" || unavailableCodes.has(code)
  }
  return /connect|terminat|not queryable|timeout|timed out|ended|shutting down|closed/i.test(
    `${error.message} ${message}`
  )
}

/** Maps a driver error to the port's error; `SqlError` never leaves this package. */
export const toStoreError = (error: SqlError.SqlError): JobStore.JobStoreError => {
  const { code, message } = describe(error.cause)
  const reason = isUnavailable(error)
    ? "Unavailable"
    : code !== undefined && conflictCodes.has(code)
      ? "Conflict"
      : code !== undefined && (code.startsWith("22") || code === "XX001" || code === "XX002")
        ? "Corrupt"
        : "Unknown"
  return new JobStore.JobStoreError({
    reason,
    message: message === error.message ? error.message : `${error.message}: ${message}`
  })
}

const isSqlError = (u: unknown): u is SqlError.SqlError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "SqlError"

/**
 * Maps `SqlError` failures, and `SqlError` defects, to `JobStoreError`. The defects come from `withTransaction`, which
 * dies when COMMIT or ROLLBACK fails: exactly what a terminated connection does mid-transaction.
 */
export const mapErrors = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError | JobStore.JobStoreError, R>
): Effect.Effect<A, JobStore.JobStoreError, R> =>
  effect.pipe(
    Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))),
    Effect.catchSomeDefect((defect) =>
      isSqlError(defect) ? Option.some(Effect.fail(toStoreError(defect))) : Option.none()
    )
  )

/** Whether a cause is only an interruption (so it is not worth logging). */
export const isInterruptOnly = (cause: Cause.Cause<unknown>): boolean => Cause.isInterruptedOnly(cause)
