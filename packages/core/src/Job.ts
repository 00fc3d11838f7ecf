/**
 * The job as hosts and clients see it (DESIGN §2), and its Schemas (the store's encoded row is decoded in `internal/jobRow.ts`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** The ten statuses of a job. */
export const JobStatus = Schema.Literal(
  "CREATED",
  "QUEUED",
  "RUNNING",
  "PAUSING",
  "PAUSED",
  "CANCELLING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT"
)
/** The ten statuses of a job. */
export type JobStatus = typeof JobStatus.Type

/** Every status, in lifecycle order. */
export const statuses: ReadonlyArray<JobStatus> = JobStatus.literals

/** Statuses a job never leaves except by an explicit retry. */
export const terminalStatuses: ReadonlyArray<JobStatus> = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]

/** Statuses that are not terminal. */
export const activeStatuses: ReadonlyArray<JobStatus> = [
  "CREATED",
  "QUEUED",
  "RUNNING",
  "PAUSING",
  "PAUSED",
  "CANCELLING"
]

/** Whether a status is terminal. */
export const isTerminal = (status: JobStatus): boolean =>
  status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED" || status === "TIMED_OUT"

/** Why a terminal status was reached. */
export const TerminalReason = Schema.Literal(
  "error",
  "timeout",
  "expired",
  "stalled",
  "user",
  "threshold",
  "dependency_failed"
)
/** Why a terminal status was reached. */
export type TerminalReason = typeof TerminalReason.Type

/** A timestamp exactly `YYYY-MM-DDTHH:mm:ss.sssZ` (UTC, milliseconds), so timestamps sort as strings. */
export const Timestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  Schema.annotations({ identifier: "Timestamp", description: "UTC time as YYYY-MM-DDTHH:mm:ss.sssZ" })
)

/** Formats epoch milliseconds as a {@link Timestamp}. */
export const formatTime = (millis: number): string => new Date(millis).toISOString()

/** Formats nullable epoch milliseconds. */
export const formatTimeOrNull = (millis: number | null): string | null => (millis === null ? null : formatTime(millis))

/** Parses a time given by a client (any ISO 8601 form `Date` accepts) into epoch milliseconds, or `undefined`. */
export const parseTime = (text: string): number | undefined => {
  const millis = Date.parse(text)
  return Number.isFinite(millis) ? millis : undefined
}

/** The status of one stage of a job. Never derived from its progress, nor the reverse. */
export const StageStatus = Schema.Literal("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED")
/** The status of one stage of a job. */
export type StageStatus = typeof StageStatus.Type

/** One reported value of a stage (Antenna's stage params). */
export const StageParam = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  category: Schema.String,
  value: Schema.Unknown
})
/** One reported value of a stage. */
export type StageParam = typeof StageParam.Type

/** A declared stage's live state. */
export const Stage = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  status: StageStatus,
  progress: Schema.Number,
  params: Schema.Array(StageParam)
})
/** A declared stage's live state. */
export type Stage = typeof Stage.Type

/** Item counters (Modzy's total/pending/completed/failed). */
export const ItemCounts = Schema.Struct({
  total: Schema.Number,
  pending: Schema.Number,
  completed: Schema.Number,
  failed: Schema.Number
})
/** Item counters. */
export type ItemCounts = typeof ItemCounts.Type

/** Progress of a job (DESIGN §4.2). */
export const Progress = Schema.Struct({
  summary: Schema.Struct({ status: JobStatus, progress: Schema.Number }),
  stages: Schema.Array(Stage),
  items: Schema.NullOr(ItemCounts)
})
/** Progress of a job. */
export type Progress = typeof Progress.Type

/** The last error of a job. */
export const JobError = Schema.Struct({
  message: Schema.String,
  tag: Schema.optional(Schema.String),
  at: Timestamp,
  /** Where the error was thrown, when the handler threw or rejected with an `Error`. */
  stack: Schema.optional(Schema.String)
})
/** The last error of a job. */
export type JobError = typeof JobError.Type

/** The lease a worker holds on a running job; read-only. */
export const Lease = Schema.Struct({ workerId: Schema.String, expiresAt: Timestamp })

// --- dependencies (one block, so the fields of jobs that wait on other jobs read together) ----------------------

/**
 * What a job does when one of its dependencies ends FAILED, CANCELLED or TIMED_OUT: `fail` (it ends FAILED with
 * `terminalReason` `dependency_failed`, and so on down the chain) or `run` (it runs once every dependency is terminal,
 * whatever the outcome: MCRIT's behaviour).
 */
export const DependencyPolicy = Schema.Literal("fail", "run").annotations({
  identifier: "DependencyPolicy",
  description: "fail: end FAILED (dependency_failed) when a dependency fails; run: run once all are terminal"
})
/** What a job does when one of its dependencies fails. */
export type DependencyPolicy = typeof DependencyPolicy.Type

/** The dependency fields of a job. */
const DependencyFields = {
  dependsOn: Schema.Array(Schema.String).annotations({
    description: "The ids of the jobs this job waits on (it is not claimable before they are done)"
  }),
  waitingOn: Schema.Int.annotations({
    description: "How many dependencies are not done yet (not SUCCEEDED; with dependencyPolicy run, not terminal)"
  }),
  dependencyPolicy: DependencyPolicy
}

/** A job as the engine returns it. */
export const Job = Schema.Struct({
  id: Schema.String,
  number: Schema.Int.annotations({
    description: "Assigned by the store at insert: unique, increasing, never reused (the compat routers' ids)"
  }),
  type: Schema.String,
  name: Schema.String,
  queue: Schema.String,
  owner: Schema.NullOr(Schema.String),
  idempotencyKey: Schema.NullOr(Schema.String),
  status: JobStatus,
  terminalReason: Schema.NullOr(TerminalReason),
  priority: Schema.Int,
  params: Schema.Unknown,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  tags: Schema.Array(Schema.String),
  batchId: Schema.NullOr(Schema.String),
  callbackUrl: Schema.NullOr(Schema.String),
  attempt: Schema.Int,
  maxAttempts: Schema.Int,
  timeoutMs: Schema.NullOr(Schema.Int),
  deadline: Schema.NullOr(Timestamp),
  runAt: Timestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  queuedAt: Schema.NullOr(Timestamp),
  startedAt: Schema.NullOr(Timestamp),
  finishedAt: Schema.NullOr(Timestamp),
  queueTimeMs: Schema.NullOr(Schema.Number),
  durationMs: Schema.NullOr(Schema.Number),
  progress: Progress,
  lastError: Schema.NullOr(JobError),
  resultId: Schema.NullOr(Schema.String),
  lease: Schema.NullOr(Lease),
  scheduleKey: Schema.NullOr(Schema.String).annotations({
    description: "The key of the schedule whose tick created the job; null for other jobs"
  }),
  // --- pausing and checkpoints ---
  checkpoint: Schema.Unknown.annotations({
    description:
      "The last checkpoint a handler saved (encoded by the type's checkpoint Schema), handed to the next attempt " +
      "(after a pause, a retryable failure or a crash); null when none. A retry of a finished job clears it"
  }),
  ...DependencyFields
}).annotations({ identifier: "Job" })
/** A job as the engine returns it. */
export type Job = typeof Job.Type

/** A log line of a job. */
export const LogLevel = Schema.Literal("info", "warn", "error")
/** A log line's level. */
export type LogLevel = typeof LogLevel.Type

/**
 * One log entry. `id` is opaque: a stored line's is store-assigned (increasing per store); the engine's start and success
 * lines of an attempt that the job's row presents (docs/logs.md) have `attempt-<n>-start` / `attempt-<n>-end`.
 */
export const LogEntry = Schema.Struct({
  id: Schema.String,
  at: Timestamp,
  level: LogLevel,
  message: Schema.String
}).annotations({ identifier: "LogEntry" })
/** One log entry. */
export type LogEntry = typeof LogEntry.Type

/** A stored result. */
export const JobResult = Schema.Struct({
  id: Schema.String,
  jobId: Schema.String,
  createdAt: Timestamp,
  value: Schema.Unknown
}).annotations({ identifier: "JobResult" })
/** A stored result. */
export type JobResult = typeof JobResult.Type
