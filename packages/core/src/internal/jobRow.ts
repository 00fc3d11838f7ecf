/**
 * The store's encoded row and its one decoder to the public job: `Row` is the Schema of the row as every store
 * hands it over (JSON columns as text, times as epoch milliseconds), `toJob` the mapping, and `JobFromRow` the two
 * as one Schema for input of unknown shape.
 *
 * Store rows are already typed by the port, so the engine and the worker call `toJob` directly: validating every
 * column again on every read would put Schema work on the enqueue and list paths for nothing.
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Job from "../Job.js"
import { formatTime as formatTimeOf } from "../Job.js"
import type { JobRow } from "../JobStore.js"

const Millis = Schema.Number
const MillisOrNull = Schema.NullOr(Schema.Number)
const StringOrNull = Schema.NullOr(Schema.String)
/** A JSON column: text that `toJob` parses, showing the raw text when it is not JSON. */
const JsonText = Schema.String.annotations({ description: "JSON text" })

/** The Schema of a job row as stored. */
export const Row = Schema.Struct({
  id: Schema.String,
  number: Schema.Number,
  type: Schema.String,
  name: Schema.String,
  queue: Schema.String,
  owner: StringOrNull,
  idempotencyKey: StringOrNull,
  status: Job.JobStatus,
  terminalReason: Schema.NullOr(Job.TerminalReason),
  priority: Schema.Number,
  params: JsonText,
  metadata: JsonText,
  tags: Schema.Array(Schema.String),
  batchId: StringOrNull,
  callbackUrl: StringOrNull,
  attempt: Schema.Number,
  maxAttempts: Schema.Number,
  timeoutMs: MillisOrNull,
  deadline: MillisOrNull,
  runAt: Millis,
  createdAt: Millis,
  updatedAt: Millis,
  queuedAt: MillisOrNull,
  startedAt: MillisOrNull,
  finishedAt: MillisOrNull,
  progress: JsonText,
  lastError: Schema.NullOr(JsonText),
  resultId: StringOrNull,
  leaseOwner: StringOrNull,
  leaseExpiresAt: MillisOrNull,
  leaseToken: StringOrNull,
  scheduleKey: Schema.optional(StringOrNull),
  // --- pausing and checkpoints ---
  checkpoint: Schema.optional(Schema.NullOr(JsonText)),
  dependsOn: Schema.optional(Schema.Array(Schema.String)),
  dependencyPolicy: Schema.optional(Job.DependencyPolicy),
  waitingOn: Schema.optional(Schema.Number)
})

// the Schema names every column of the port's row: a column added to `JobStore.JobRow` must be added here too
const _complete = (row: typeof Row.Type): JobRow => row
void _complete

const parseJson = (text: string | null, fallback: unknown): unknown => {
  if (text === null) return fallback
  try {
    return JSON.parse(text)
  } catch {
    // a corrupted column must never crash a read; the raw text is shown instead
    return text
  }
}

// the last time formatted: the jobs of one `createMany` (and of one claim) share their times, and `toISOString` is
// most of `toJob`'s cost there
let lastMillis = Number.NaN
let lastText = ""
const formatTime = (millis: number): string => {
  if (millis !== lastMillis) {
    lastText = formatTimeOf(millis)
    lastMillis = millis
  }
  return lastText
}
const formatTimeOrNull = (millis: number | null): string | null => (millis === null ? null : formatTime(millis))

const emptyProgress = (status: Job.JobStatus): Job.Progress => ({
  summary: { status, progress: 0 },
  stages: [],
  items: null
})

/** Builds the public job from the store's encoded row. Never throws, even on corrupted JSON columns. */
export const toJob = (row: JobRow): Job.Job => {
  const progress = parseJson(row.progress, null) as Job.Progress | null
  const metadata = parseJson(row.metadata, {})
  const lastError = parseJson(row.lastError, null)
  return {
    id: row.id,
    number: row.number,
    type: row.type,
    name: row.name,
    queue: row.queue,
    owner: row.owner,
    idempotencyKey: row.idempotencyKey,
    status: row.status,
    terminalReason: row.terminalReason,
    priority: row.priority,
    params: parseJson(row.params, null),
    metadata: typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {},
    tags: row.tags,
    batchId: row.batchId,
    callbackUrl: row.callbackUrl,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    timeoutMs: row.timeoutMs,
    deadline: formatTimeOrNull(row.deadline),
    runAt: formatTime(row.runAt),
    createdAt: formatTime(row.createdAt),
    updatedAt: formatTime(row.updatedAt),
    queuedAt: formatTimeOrNull(row.queuedAt),
    startedAt: formatTimeOrNull(row.startedAt),
    finishedAt: formatTimeOrNull(row.finishedAt),
    queueTimeMs: row.startedAt !== null && row.queuedAt !== null ? row.startedAt - row.queuedAt : null,
    durationMs: row.finishedAt !== null && row.startedAt !== null ? row.finishedAt - row.startedAt : null,
    progress:
      progress !== null && typeof progress === "object" && "summary" in progress
        ? { ...progress, summary: { ...progress.summary, status: row.status } }
        : emptyProgress(row.status),
    lastError:
      lastError !== null && typeof lastError === "object"
        ? (lastError as Job.JobError)
        : lastError === null
          ? null
          : { message: String(lastError), at: formatTime(row.updatedAt) },
    resultId: row.resultId,
    lease:
      row.leaseOwner !== null && row.leaseExpiresAt !== null
        ? { workerId: row.leaseOwner, expiresAt: formatTime(row.leaseExpiresAt) }
        : null,
    scheduleKey: row.scheduleKey ?? null,
    // --- pausing and checkpoints ---
    checkpoint: parseJson(row.checkpoint ?? null, null),
    dependsOn: row.dependsOn ?? [],
    waitingOn: row.waitingOn ?? 0,
    dependencyPolicy: row.dependencyPolicy ?? "fail"
  }
}

/** The row decoded to the public job; the public job is never encoded back into a row. */
export const JobFromRow = Schema.transformOrFail(Row, Schema.typeSchema(Job.Job), {
  strict: true,
  decode: (row) => ParseResult.succeed(toJob(row)),
  encode: (job, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, job, "a job is not encoded back into a row"))
})
