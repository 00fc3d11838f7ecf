/**
 * Modzy's shapes (seed 002, COMPAT §2): the job of the job history, the result of `GET /results/{jobId}`, and the
 * mapping between Modzy's statuses and jobloom's.
 */
import type { Job, JobItem } from "@jobloom/core"

/** Modzy's job statuses. */
export type ModzyStatus = "OPEN" | "SUBMITTED" | "IN_PROGRESS" | "COMPLETED" | "CANCELED" | "TIMEDOUT" | "ERROR"

/**
 * jobloom status → Modzy status (DESIGN §3): a PAUSED job reads SUBMITTED, a PAUSING or CANCELLING one IN_PROGRESS.
 */
export const statusOf: Readonly<Record<Job.JobStatus, ModzyStatus>> = {
  CREATED: "OPEN",
  QUEUED: "SUBMITTED",
  PAUSED: "SUBMITTED",
  RUNNING: "IN_PROGRESS",
  PAUSING: "IN_PROGRESS",
  CANCELLING: "IN_PROGRESS",
  SUCCEEDED: "COMPLETED",
  FAILED: "ERROR",
  CANCELLED: "CANCELED",
  TIMED_OUT: "TIMEDOUT"
}

/** The jobloom statuses each history `status` filter stands for (seed 002: all, pending, terminated, timedout). */
export const statusFilters: Readonly<Record<string, ReadonlyArray<Job.JobStatus> | undefined>> = {
  all: undefined,
  pending: ["CREATED", "QUEUED", "PAUSED", "RUNNING", "PAUSING", "CANCELLING"],
  terminated: ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"],
  timedout: ["TIMED_OUT"],
  open: ["CREATED"],
  submitted: ["QUEUED", "PAUSED"],
  in_progress: ["RUNNING", "PAUSING", "CANCELLING"],
  completed: ["SUCCEEDED"],
  canceled: ["CANCELLED"],
  error: ["FAILED"]
}

/** What the router keeps of a Modzy job, in the job's metadata under `modzy`. */
export interface ModzyMeta {
  readonly submittedBy: string
  readonly accessKey: string
  readonly user: string
  readonly model: { readonly identifier: string; readonly version: string }
  readonly explain: boolean
  readonly inputType: string | null
  readonly inputByteAmount: number
  readonly timeout: number | null
}

/** A model the router serves: a job type under Modzy's identifier and version. */
export interface Model {
  readonly identifier: string
  readonly version: string
  readonly name: string
  readonly type: string
}

/** The Modzy metadata of a job, or defaults for a job created by another API. */
export const metaOf = (job: Job.Job, models: ReadonlyArray<Model>): ModzyMeta => {
  const raw = job.metadata.modzy as Partial<ModzyMeta> | undefined
  const model = models.find((m) => m.type === job.type)
  return {
    submittedBy: raw?.submittedBy ?? job.owner ?? "jobloom",
    accessKey: raw?.accessKey ?? raw?.submittedBy ?? "jobloom",
    user: raw?.user ?? raw?.submittedBy ?? "jobloom",
    model: raw?.model ?? { identifier: model?.identifier ?? job.type, version: model?.version ?? "1.0.0" },
    explain: raw?.explain ?? false,
    inputType: raw?.inputType ?? null,
    inputByteAmount: raw?.inputByteAmount ?? 0,
    timeout: raw?.timeout ?? null
  }
}

const millis = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso))

/** Milliseconds from `from` to `to` (or to now while `to` has not happened), 0 before `from`. */
const span = (from: string | null, to: string | null, now: number): number => {
  const start = millis(from)
  if (start === null) return 0
  return Math.max(0, (millis(to) ?? now) - start)
}

/** The status of one input, in the words of Modzy's job inputs. */
const inputStatus: Readonly<Record<JobItem.ItemStatus, string>> = {
  PENDING: "SUBMITTED",
  RUNNING: "IN_PROGRESS",
  SUCCEEDED: "COMPLETED",
  FAILED: "FAILED"
}

/** A job as Modzy's job history shows it (seed 002), with `jobInputs` from its items. */
export const jobView = (
  job: Job.Job,
  items: ReadonlyArray<JobItem.JobItem>,
  models: ReadonlyArray<Model>,
  now: number,
  status: ModzyStatus = statusOf[job.status]
) => {
  const meta = metaOf(job, models)
  const model = models.find((m) => m.identifier === meta.model.identifier)
  const counts = job.progress.items ?? { total: 0, pending: 0, completed: 0, failed: 0 }
  return {
    jobIdentifier: job.id,
    submittedBy: meta.submittedBy,
    accountIdentifier: job.owner ?? "",
    model: { identifier: meta.model.identifier, version: meta.model.version, name: model?.name ?? job.name },
    status,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    submittedAt: job.queuedAt ?? job.createdAt,
    total: counts.total,
    pending: counts.pending,
    completed: counts.completed,
    failed: counts.failed,
    queueTime: span(job.queuedAt, job.startedAt, now),
    elapsedTime: span(job.startedAt, job.finishedAt, now),
    timeout: meta.timeout,
    user: { identifier: meta.user, accessKey: meta.accessKey },
    jobInputs: items.map((item) => ({ identifier: item.key, status: inputStatus[item.status] })),
    inputByteAmount: meta.inputByteAmount,
    explain: meta.explain,
    imageClassificationModel: false
  }
}

/** An item's output as Modzy's per-source result: its files, `results.json` first. */
const outputFiles = (output: unknown): Record<string, unknown> =>
  typeof output === "object" && output !== null && !Array.isArray(output) && "results.json" in output
    ? (output as Record<string, unknown>)
    : { "results.json": output }

/** The result of `GET /results/{jobId}`: per source, its output or its failure. */
export const result = (
  job: Job.Job,
  items: ReadonlyArray<JobItem.JobItem>,
  models: ReadonlyArray<Model>,
  now: number
) => {
  const view = jobView(job, items, models, now)
  const results: Record<string, unknown> = {}
  const failures: Record<string, unknown> = {}
  for (const item of items) {
    const times = {
      startTime: item.startedAt,
      endTime: item.finishedAt,
      updateTime: item.updatedAt,
      modelLatency: span(item.startedAt, item.finishedAt, now)
    }
    if (item.status === "SUCCEEDED") results[item.key] = { status: "SUCCESSFUL", ...times, ...outputFiles(item.output) }
    else if (item.status === "FAILED")
      failures[item.key] = { status: "FAILED", ...times, error: item.error ?? "failed" }
  }
  return {
    jobIdentifier: job.id,
    accountIdentifier: view.accountIdentifier,
    total: view.total,
    completed: view.completed,
    failed: view.failed,
    finished: job.finishedAt !== null,
    submittedByKey: view.submittedBy,
    explained: view.explain,
    submittedAt: view.submittedAt,
    initialQueueTime: view.queueTime,
    totalQueueTime: view.queueTime,
    elapsedTime: view.elapsedTime,
    inputSize: view.inputByteAmount,
    results,
    failures
  }
}
