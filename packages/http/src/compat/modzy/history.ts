/**
 * `GET /jobs/history`: Modzy's query (`user`, `accessKey`, `startDate`, `endDate`, `model`, `status`, `sort-by`,
 * `direction`, `page`, `per-page`) read into an engine query, with a 400 message for each bad value.
 */
import type { Job, Jobs } from "@jobloom/core"
import { type Model, type ModzyMeta, statusFilters, statusOf } from "./view.js"

/** A history query, ready for the engine. */
export interface History {
  readonly query: Jobs.JobQuery
  readonly keep: ((job: Job.Job) => boolean) | undefined
  readonly sort: NonNullable<Jobs.ListQuery["sort"]>
  readonly compare: ((a: Job.Job, b: Job.Job) => number) | undefined
  readonly order: "asc" | "desc"
  readonly offset: number
  readonly limit: number
  /** The model filter names no model this router serves: nothing matches. */
  readonly empty: boolean
}

/** Sort keys of the history, as Modzy names them, onto the engine's. */
const sortKeys: Readonly<Record<string, NonNullable<Jobs.ListQuery["sort"]>>> = {
  createdAt: "createdAt",
  submittedAt: "createdAt",
  jobIdentifier: "createdAt",
  identifier: "createdAt",
  updatedAt: "updatedAt",
  startedAt: "startedAt",
  finishedAt: "finishedAt",
  completedAt: "finishedAt"
}

/** Sorts the store cannot do: by Modzy's status, by model. */
const compares: Readonly<Record<string, (a: Job.Job, b: Job.Job) => number>> = {
  status: (a, b) => statusOf[a.status].localeCompare(statusOf[b.status]),
  model: (a, b) => a.type.localeCompare(b.type)
}

/** Modzy's dates are naive (no zone): read as UTC. */
const parseDate = (text: string): number | undefined => {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) || !text.includes("T") ? text : `${text}Z`
  const millis = Date.parse(zoned)
  return Number.isFinite(millis) ? millis : undefined
}

const integer = (text: string | undefined, name: string, min: number, max: number, fallback: number) => {
  if (text === undefined || text === "") return fallback
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`)
  }
  return Number(text)
}

/** Reads the history query; a bad value throws a `RangeError` whose message names it. */
export const parse = (
  q: Readonly<Record<string, string | undefined>>,
  models: ReadonlyArray<Model>,
  now: number,
  owner: string
): History => {
  const query: { -readonly [K in keyof Jobs.JobQuery]: Jobs.JobQuery[K] } = { owner }
  const status = (q.status ?? "all").toLowerCase()
  if (!(status in statusFilters)) {
    throw new RangeError(`status must be one of ${Object.keys(statusFilters).join(", ")} (any case)`)
  }
  const statuses = statusFilters[status]
  if (statuses !== undefined) query.statuses = statuses
  const start = q.startDate === undefined || q.startDate === "" ? undefined : parseDate(q.startDate)
  const end = q.endDate === undefined || q.endDate === "" ? undefined : parseDate(q.endDate)
  if (q.startDate && start === undefined) throw new RangeError("startDate must be an ISO 8601 date-time")
  if (q.endDate && end === undefined) throw new RangeError("endDate must be an ISO 8601 date-time")
  if (end !== undefined && start === undefined) throw new RangeError("endDate needs a startDate")
  if (start !== undefined && start > now) throw new RangeError("startDate must not be in the future")
  if (start !== undefined && end !== undefined && end < start)
    throw new RangeError("endDate must not be before startDate")
  // both ends inclusive; the engine's are strict
  if (start !== undefined) query.createdAfter = new Date(start - 1).toISOString()
  if (end !== undefined) query.createdBefore = new Date(end + 1).toISOString()
  let empty = false
  if (q.model !== undefined && q.model !== "") {
    const model = q.model
    const found = models.filter((m) => m.identifier === model || m.name === model || m.version === model)
    if (found.length === 0) empty = true
    else query.types = Array.from(new Set(found.map((m) => m.type)))
  }
  const sortBy = q["sort-by"] ?? "createdAt"
  if (!(sortBy in sortKeys) && !(sortBy in compares)) {
    throw new RangeError(`sort-by must be one of ${[...Object.keys(sortKeys), ...Object.keys(compares)].join(", ")}`)
  }
  const direction = (q.direction ?? "desc").toLowerCase()
  if (direction !== "asc" && direction !== "desc") throw new RangeError("direction must be asc or desc")
  const page = integer(q.page, "page", 1, 1_000_000, 1)
  const perPage = integer(q["per-page"], "per-page", 1, 1000, 10)
  const user = q.user
  const accessKey = q.accessKey
  const meta = (job: Job.Job) => job.metadata.modzy as Partial<ModzyMeta> | undefined
  const keep =
    (user === undefined || user === "") && (accessKey === undefined || accessKey === "")
      ? undefined
      : (job: Job.Job) =>
          (user === undefined || user === "" || meta(job)?.user === user) &&
          (accessKey === undefined || accessKey === "" || meta(job)?.accessKey === accessKey)
  const compare = compares[sortBy]
  return {
    query,
    keep,
    sort: sortKeys[sortBy] ?? "createdAt",
    compare:
      compare === undefined ? undefined : direction === "asc" ? compare : (a: Job.Job, b: Job.Job) => compare(b, a),
    order: direction,
    offset: (page - 1) * perPage,
    limit: perPage,
    empty
  }
}
