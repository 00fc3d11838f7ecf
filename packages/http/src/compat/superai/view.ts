/**
 * super.AI's shapes (seed 003, COMPAT §3): the job object (no output in it), its statuses, and what the router keeps
 * of a super.AI job in the job's metadata under `_superai` (hidden from the job's own `metadata`).
 */
import type { Job } from "@jobloom/core"

/** super.AI's job statuses, and `PENDING` for a parked job (the docs' parked state). */
export type SuperaiStatus =
  "PENDING" | "SCHEDULED" | "IN_PROGRESS" | "FAILED" | "SUSPENDED" | "CANCELED" | "EXPIRED" | "COMPLETED"

/** Every status a list may filter by. */
export const statuses: ReadonlyArray<SuperaiStatus> = [
  "PENDING",
  "SCHEDULED",
  "IN_PROGRESS",
  "FAILED",
  "SUSPENDED",
  "CANCELED",
  "EXPIRED",
  "COMPLETED"
]

/** A job's super.AI status (DESIGN §3): SUSPENDED is PAUSED; EXPIRED is TIMED_OUT by deadline. */
export const statusOf = (job: Pick<Job.Job, "status" | "terminalReason">): SuperaiStatus => {
  switch (job.status) {
    case "CREATED":
      return "PENDING"
    case "QUEUED":
      return "SCHEDULED"
    case "RUNNING":
    case "PAUSING":
    case "CANCELLING":
      return "IN_PROGRESS"
    case "PAUSED":
      return "SUSPENDED"
    case "SUCCEEDED":
      return "COMPLETED"
    case "FAILED":
      return "FAILED"
    case "CANCELLED":
      return "CANCELED"
    case "TIMED_OUT":
      return job.terminalReason === "expired" ? "EXPIRED" : "FAILED"
  }
}

/** The jobloom statuses a super.AI status may come from (the store's filter; `statusOf` decides). */
export const fromStatus: Readonly<Record<SuperaiStatus, ReadonlyArray<Job.JobStatus>>> = {
  PENDING: ["CREATED"],
  SCHEDULED: ["QUEUED"],
  IN_PROGRESS: ["RUNNING", "PAUSING", "CANCELLING"],
  FAILED: ["FAILED", "TIMED_OUT"],
  SUSPENDED: ["PAUSED"],
  CANCELED: ["CANCELLED"],
  EXPIRED: ["TIMED_OUT"],
  COMPLETED: ["SUCCEEDED"]
}

/** The router's own fields of a super.AI job. */
export interface SuperaiMeta {
  readonly callbackUrl: string | null
  readonly labeler: string | null
  readonly correct: boolean | null
  /** A reviewer's response, shown instead of the job's output. */
  readonly reviewed?: unknown
  readonly jobType: string
}

/** The metadata key of {@link SuperaiMeta}. */
export const metaKey = "_superai"

/** The router's fields of a job (defaults for a job created by another API). */
export const metaOf = (job: Job.Job): SuperaiMeta => {
  const raw = job.metadata[metaKey] as Partial<SuperaiMeta> | undefined
  return {
    callbackUrl: raw?.callbackUrl ?? null,
    labeler: raw?.labeler ?? null,
    correct: raw?.correct ?? null,
    ...(raw !== undefined && "reviewed" in raw ? { reviewed: raw.reviewed } : {}),
    jobType: raw?.jobType ?? "DEFAULT"
  }
}

/** The job's own metadata, without the router's fields; null when empty (as in the seed). */
const userMetadata = (job: Job.Job): Record<string, unknown> | null => {
  const { [metaKey]: _, ...rest } = job.metadata
  return Object.keys(rest).length === 0 ? null : rest
}

/** The job object of seed 003: no output in it. */
export const jobObject = (job: Job.Job) => {
  const meta = metaOf(job)
  const status = statusOf(job)
  return {
    id: job.id,
    uuid: job.id,
    created: job.createdAt,
    // set on COMPLETED, FAILED, CANCELED, EXPIRED (every terminal status)
    completed: job.finishedAt,
    callbackUrl: meta.callbackUrl,
    appId: job.owner,
    status,
    input: job.params,
    metadata: userMetadata(job),
    tags: job.tags,
    correct: meta.correct,
    jobType: meta.jobType,
    batchId: job.batchId
  }
}
