/**
 * The query string of Antenna's job list (COMPAT.md §4.1): filters, `ordering` and LimitOffset paging, read the way
 * the Django filter set and DRF's filters read them, turned into an engine query plus what the store cannot do
 * (a check on each job, an order of Antenna's own).
 */
import type { Job, Jobs } from "@jobloom/core"
import * as Drf from "./drf.js"
import * as View from "./view.js"

/** DRF's LimitOffset page size of Antenna (`PAGE_SIZE`). */
export const defaultLimit = 10
/** The largest page served; a larger `limit` is cut to it, as DRF's `max_limit` does. */
export const maxLimit = 1000

/** The orderings Antenna's job list offers (`ordering_fields`), with the store's sort key where it has one. */
const orderings: Record<string, NonNullable<Jobs.ListQuery["sort"]> | "status" | View.Relation | "id"> = {
  id: "id",
  name: "name",
  status: "status",
  deployment: "deployment",
  pipeline: "pipeline",
  source_image_collection: "source_image_collection",
  created_at: "createdAt",
  updated_at: "updatedAt",
  started_at: "startedAt",
  finished_at: "finishedAt"
}

/** The parsed list request. */
export interface ListRequest {
  readonly query: Jobs.JobQuery
  readonly keep: ((job: Job.Job) => boolean) | undefined
  readonly compare: ((a: Job.Job, b: Job.Job) => number) | undefined
  readonly sort: NonNullable<Jobs.ListQuery["sort"]>
  readonly order: "asc" | "desc"
  readonly limit: number
  readonly offset: number
}

const relationName = (job: Job.Job, relation: View.Relation): string => {
  const value = job.metadata[relation]
  if (typeof value === "object" && value !== null && "name" in value) return String(value.name)
  const id = View.relationId(value)
  return id === null ? "" : String(id)
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Reads the list query; a bad filter value is a DRF field error. */
export const parse = (params: URLSearchParams): ListRequest => {
  const get = (name: string): string | undefined => params.get(name) ?? undefined
  const query: { -readonly [K in keyof Jobs.JobQuery]: Jobs.JobQuery[K] } = {}
  const keeps: Array<(job: Job.Job) => boolean> = []
  const errors: Record<string, Array<string>> = {}

  const status = get("status")
  if (status !== undefined && status !== "") {
    const codes = status.split(",").map((s) => s.trim().toUpperCase())
    const unknown = codes.filter((code) => !View.statusCodes.includes(code as View.StatusCode))
    if (unknown.length > 0) {
      errors.status = [`Select a valid choice. ${unknown[0]} is not one of the available choices.`]
    } else {
      const wanted = codes as ReadonlyArray<View.StatusCode>
      query.statuses = [...new Set(wanted.flatMap(View.statusesOf))]
      // PENDING and RETRY share QUEUED: the code itself decides
      if (wanted.some((code) => code === "PENDING" || code === "RETRY")) {
        keeps.push((job) => wanted.includes(View.statusOf(job)))
      }
    }
  }
  const types = get("job_type_key")
  if (types !== undefined && types !== "") query.types = types.split(",").map((s) => s.trim())
  const project = get("project_id") ?? get("project")
  if (project !== undefined && project !== "") query.owner = project
  for (const relation of ["pipeline", "deployment", "source_image_collection", "source_image_single"] as const) {
    const value = get(relation) ?? get(`${relation}_id`)
    if (value === undefined || value === "") continue
    keeps.push((job) => String(View.relationId(job.metadata[relation])) === value)
  }
  const search = get("search")
  if (search !== undefined && search.trim() !== "") query.q = search.trim()
  const incomplete = Drf.flag(get("incomplete_only"))
  if (incomplete === true) {
    query.statuses = (query.statuses ?? ["CREATED", "QUEUED", "RUNNING", "PAUSING", "PAUSED", "CANCELLING"]).filter(
      (s) => !["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(s)
    )
  }
  if (Object.keys(errors).length > 0) throw Drf.fields(errors)

  // an unknown ordering field is ignored, as DRF's OrderingFilter does; the default is Antenna's `-created_at`
  const ordering = (get("ordering") ?? "")
    .split(",")
    .map((s) => s.trim())
    .find((s) => orderings[s.replace(/^-/, "")] !== undefined)
  const key = ordering === undefined ? "createdAt" : orderings[ordering.replace(/^-/, "")]!
  const order = ordering === undefined || ordering.startsWith("-") ? "desc" : "asc"
  const direction = order === "asc" ? 1 : -1
  let sort: ListRequest["sort"] = "createdAt"
  let compare: ListRequest["compare"]
  if (key === "id") sort = "createdAt"
  else if (key === "status") compare = (a, b) => compareText(View.statusOf(a), View.statusOf(b)) * direction
  else if (key === "deployment" || key === "pipeline" || key === "source_image_collection") {
    compare = (a, b) => compareText(relationName(a, key), relationName(b, key)) * direction
  } else sort = key as ListRequest["sort"]

  return {
    query,
    keep: keeps.length === 0 ? undefined : (job) => keeps.every((k) => k(job)),
    compare,
    sort,
    order,
    limit: Drf.positiveInt(get("limit"), defaultLimit, maxLimit),
    offset: Drf.positiveInt(get("offset"), 0, Number.MAX_SAFE_INTEGER, false)
  }
}
