/**
 * Conversions between the port's job, log, result and callback rows and the driver's rows (snake_case columns, int8
 * as a string). Items have their own in `items.ts`.
 */
import type { JobStore } from "@jobloom/core"

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
  scheduleKey: strOrNull(r.schedule_key),
  traceContext: strOrNull(r.trace_context),
  // --- pausing and checkpoints ---
  checkpoint: strOrNull(r.checkpoint),
  dependsOn: parseIds(r.depends_on),
  dependencyPolicy: r.dependency_policy === "run" ? "run" : "fail",
  waitingOn: num(r.waiting_on ?? 0)
})

const noIds: ReadonlyArray<string> = Object.freeze([])

/** The `depends_on` column (JSON text of ids, or null for none). */
const parseIds = (value: unknown): ReadonlyArray<string> => {
  if (value === null || value === undefined) return noIds
  try {
    const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === "string") : noIds
  } catch {
    return noIds
  }
}

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
  ["lease_token", "leaseToken"],
  ["trace_context", "traceContext"],
  ["depends_on", "dependsOn"],
  ["dependency_policy", "dependencyPolicy"],
  ["waiting_on", "waitingOn"]
] as const satisfies ReadonlyArray<readonly [string, keyof JobStore.NewJobRow]>

/**
 * A job row as a JSON object keyed by column, for `json_to_recordset`. A null column is left out: the function reads
 * a missing key as NULL, and most jobs leave a third of the columns null.
 */
export const toJsonRow = (row: JobStore.NewJobRow): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [column, field] of jobColumns) {
    const value = row[field]
    // absent dependency fields, and their defaults, are left out too (the insert writes none, `fail`, 0)
    if (value === null || value === undefined) continue
    if (field === "dependsOn" && (value as ReadonlyArray<string>).length === 0) continue
    out[column] = value
  }
  // written by the insert functions of migration 6; never updated, so not among the columns above
  if (row.traceContext !== null && row.traceContext !== undefined) out.trace_context = row.traceContext
  return out
}

/** The column of each `JobRow` field. */
export const columnOf: Readonly<Record<string, string>> = {
  ...Object.fromEntries(jobColumns.map(([column, field]) => [field, column])),
  // never inserted (a new job has none), only patched (a retry clears it)
  checkpoint: "checkpoint"
}
