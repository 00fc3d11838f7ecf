/**
 * A jobloom job as MCRIT's job document (COMPAT.md §1.2–§1.3): the fields `McritClient`'s `Job` class indexes, in
 * the forms pymongo's `json_util` writes (`{"$oid"}`, `{"$date"}`), plus the convenience keys of seed 004.
 */
import type { Job } from "@jobloom/core"

/** MCRIT's job states (derived from the document's fields by the real queue). */
export const states = ["queued", "in_progress", "finished", "failed", "terminated"] as const
/** One of MCRIT's job states. */
export type State = (typeof states)[number]

/** A job's MCRIT state. A cancelling job already reads as terminated, as MCRIT's `terminate()` marks it at once. */
export const stateOf = (status: Job.JobStatus): State => {
  switch (status) {
    case "CREATED":
    case "QUEUED":
    case "PAUSED":
      return "queued"
    case "RUNNING":
    case "PAUSING":
      return "in_progress"
    case "SUCCEEDED":
      return "finished"
    case "FAILED":
    case "TIMED_OUT":
      return "failed"
    case "CANCELLING":
    case "CANCELLED":
      return "terminated"
  }
}

/** The statuses of a state filter value; the seed's `processing` is `in_progress`. Undefined: not a state. */
export const statusesOf = (state: string): ReadonlyArray<Job.JobStatus> | undefined => {
  switch (state.toLowerCase()) {
    case "queued":
      return ["CREATED", "QUEUED", "PAUSED"]
    case "in_progress":
    case "processing":
      return ["RUNNING", "PAUSING"]
    case "finished":
      return ["SUCCEEDED"]
    case "failed":
      return ["FAILED", "TIMED_OUT"]
    case "terminated":
      return ["CANCELLING", "CANCELLED"]
    default:
      return undefined
  }
}

/** A job number as MCRIT's id: 24 lowercase hex digits, zero-padded (an ObjectId look-alike). */
export const hexId = (number: number): string => number.toString(16).padStart(24, "0")

/** The job number of a 24-hex id, or undefined when it is not one (or names no possible job). */
export const numberOf = (id: string): number | undefined => {
  if (!/^[0-9a-fA-F]{24}$/.test(id)) return undefined
  const n = BigInt(`0x${id}`)
  return n >= 1n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined
}

/** Whether a string is a 24-hex id. */
export const isHexId = (id: string): boolean => /^[0-9a-fA-F]{24}$/.test(id)

/** A time as pymongo's relaxed `json_util` writes a datetime: `{"$date": "…Z"}`, milliseconds only when not zero. */
export const date = (iso: string | null): { readonly $date: string } | null =>
  iso === null ? null : { $date: iso.replace(".000Z", "Z") }

/** A time as seed 004 writes one: naive ISO seconds (UTC). */
const naive = (iso: string | null): string | null => (iso === null ? null : iso.slice(0, 19))

/** The params as an object: MCRIT's `params` are positional (`"0"`, `"1"`, …) then named. */
export const paramsObject = (params: unknown): Record<string, unknown> =>
  typeof params === "object" && params !== null && !Array.isArray(params)
    ? (params as Record<string, unknown>)
    : params === null || params === undefined
      ? {}
      : { "0": params }

/** Attempts left as MCRIT counts them: 0 only for a failed job (`awaitResult` stops on 0). */
const attemptsLeft = (job: Job.Job): number => {
  switch (job.status) {
    case "FAILED":
    case "TIMED_OUT":
      return 0
    case "RUNNING":
    case "PAUSING":
    case "CANCELLING":
    case "SUCCEEDED":
      // jobloom's attempt already counts the running claim
      return Math.max(1, job.maxAttempts - job.attempt + 1)
    default:
      return Math.max(1, job.maxAttempts - job.attempt)
  }
}

/** The result id of a job: a SUCCEEDED job always has one (the job's own number), even without a stored value. */
export const resultIdOf = (job: Job.Job): string | null => (job.status === "SUCCEEDED" ? hexId(job.number) : null)

/** The job as MCRIT's job document, plus seed 004's keys. */
export const jobDocument = (job: Job.Job): Record<string, unknown> => {
  const id = hexId(job.number)
  const params = paramsObject(job.params)
  const held = job.status === "RUNNING" || job.status === "PAUSING" || job.status === "CANCELLING"
  const finishedAt = job.status === "SUCCEEDED" ? job.finishedAt : null
  const resultId = resultIdOf(job)
  return {
    _id: { $oid: id },
    number: job.number,
    priority: job.priority,
    payload: {
      method: job.type,
      params: JSON.stringify(params),
      file_params: "{}",
      descriptor: job.idempotencyKey
    },
    created_at: date(job.createdAt),
    started_at: date(job.startedAt),
    finished_at: date(finishedAt),
    locked_by: held ? (job.lease?.workerId ?? null) : null,
    locked_at: held ? date(job.startedAt) : null,
    last_error: job.lastError?.message ?? null,
    attempts_left: attemptsLeft(job),
    terminated: job.status === "CANCELLED" || job.status === "CANCELLING",
    progress: job.progress.summary.progress,
    result: resultId,
    // from the job's own fields (cheap): the dependencies it waits on, by jobloom id (MCRIT's own are ObjectIds, which
    // would cost a read per dependency here); its dependents would cost a query per job, so required_by stays empty
    required_by: [],
    unfinished_dependencies: job.waitingOn,
    all_dependencies: job.dependsOn,
    // seed 004's keys
    job_id: id,
    method: job.type,
    state: stateOf(job.status),
    created: naive(job.createdAt),
    finished: naive(finishedAt),
    parameters: params,
    result_id: resultId
  }
}

/** The text `filter` is looked for in: `method(params)`, as MCRIT's queue shows a job. */
export const filterText = (job: Job.Job): string => `${job.type}(${JSON.stringify(paramsObject(job.params))})`
