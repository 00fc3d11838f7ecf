/**
 * `GET /apps/{appId}/jobs` (and the bulk download, which takes the same filters): super.AI's query read into an
 * engine query. `page` is 0-based; `statusIn` and `tags` may repeat. A bad value throws a `RangeError` naming it.
 */
import type { Job, Jobs } from "@jobloom/core"
import { metaOf, statuses, statusOf, fromStatus, type SuperaiStatus } from "./view.js"

/** A list query, ready for the engine. */
export interface ListQuery {
  readonly query: Jobs.JobQuery
  readonly keep: ((job: Job.Job) => boolean) | undefined
  readonly sort: NonNullable<Jobs.ListQuery["sort"]>
  readonly compare: ((a: Job.Job, b: Job.Job) => number) | undefined
  readonly order: "asc" | "desc"
  readonly page: number
  readonly size: number
}

const sortKeys: Readonly<Record<string, NonNullable<Jobs.ListQuery["sort"]>>> = {
  id: "createdAt",
  uuid: "createdAt",
  created: "createdAt",
  createdAt: "createdAt",
  completed: "finishedAt",
  completedAt: "finishedAt"
}

const compares: Readonly<Record<string, (a: Job.Job, b: Job.Job) => number>> = {
  status: (a, b) => statusOf(a).localeCompare(statusOf(b))
}

const date = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined || text === "") return undefined
  const millis = Date.parse(text)
  if (!Number.isFinite(millis)) throw new RangeError(`${name} must be a date-time like 2020-01-01T00:00:00Z`)
  return millis
}

const integer = (name: string, text: string | undefined, min: number, max: number, fallback: number): number => {
  if (text === undefined || text === "") return fallback
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`)
  }
  return Number(text)
}

/** Reads the list query of one app. */
export const parse = (
  one: (name: string) => string | undefined,
  many: (name: string) => ReadonlyArray<string>,
  appId: string
): ListQuery => {
  const query: { -readonly [K in keyof Jobs.JobQuery]: Jobs.JobQuery[K] } = { owner: appId }
  const keeps: Array<(job: Job.Job) => boolean> = []
  const wanted = many("statusIn")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim().toUpperCase())
  for (const status of wanted) {
    if (!statuses.includes(status as SuperaiStatus)) {
      throw new RangeError(`statusIn must be among ${statuses.join(", ")}`)
    }
  }
  if (wanted.length > 0) {
    const set = new Set(wanted)
    query.statuses = Array.from(new Set(wanted.flatMap((s) => fromStatus[s as SuperaiStatus])))
    keeps.push((job) => set.has(statusOf(job)))
  }
  const createdStart = date("createdStartDate", one("createdStartDate"))
  const createdEnd = date("createdEndDate", one("createdEndDate"))
  if (createdStart !== undefined) query.createdAfter = new Date(createdStart - 1).toISOString()
  if (createdEnd !== undefined) query.createdBefore = new Date(createdEnd + 1).toISOString()
  const completedStart = date("completedStartDate", one("completedStartDate"))
  const completedEnd = date("completedEndDate", one("completedEndDate"))
  if (completedStart !== undefined || completedEnd !== undefined) {
    keeps.push((job) => {
      const at = job.finishedAt === null ? null : Date.parse(job.finishedAt)
      return (
        at !== null &&
        (completedStart === undefined || at >= completedStart) &&
        (completedEnd === undefined || at <= completedEnd)
      )
    })
  }
  const tags = many("tags")
    .flatMap((t) => t.split(","))
    .map((t) => t.trim())
    .filter((t) => t !== "")
  if (tags.length === 1) query.tag = tags[0]!
  else if (tags.length > 1) keeps.push((job) => tags.some((tag) => job.tags.includes(tag)))
  const correct = one("correct")
  if (correct !== undefined && correct !== "") {
    const value = correct.toLowerCase()
    if (value !== "true" && value !== "false") throw new RangeError("correct must be true or false")
    keeps.push((job) => metaOf(job).correct === (value === "true"))
  }
  const batchId = one("batchId")
  if (batchId !== undefined && batchId !== "") query.batchId = batchId
  const idSearch = one("idSearch")
  if (idSearch !== undefined && idSearch !== "") keeps.push((job) => job.id.includes(idSearch))
  const sortBy = one("sortBy") ?? "id"
  if (!(sortBy in sortKeys) && !(sortBy in compares)) {
    throw new RangeError(`sortBy must be one of ${[...Object.keys(sortKeys), ...Object.keys(compares)].join(", ")}`)
  }
  const orderBy = (one("orderBy") ?? "asc").toLowerCase()
  if (orderBy !== "asc" && orderBy !== "desc") throw new RangeError("orderBy must be asc or desc")
  const compare = compares[sortBy]
  return {
    query,
    keep: keeps.length === 0 ? undefined : (job) => keeps.every((keep) => keep(job)),
    sort: sortKeys[sortBy] ?? "createdAt",
    compare: compare === undefined ? undefined : orderBy === "asc" ? compare : (a, b) => compare(b, a),
    order: orderBy,
    page: integer("page", one("page"), 0, 1_000_000, 0),
    size: integer("size", one("size"), 1, 1000, 10)
  }
}
