/**
 * The router's job filters, in one place: the query parameters of `GET /jobs`, `GET /jobs/stats`, `DELETE /jobs`
 * and `GET /events` (what each accepts, and the 400 message when it does not), and how their decoded values become
 * the engine's `Jobs.JobQuery` and page options. Routes never pick filter fields out of a query themselves.
 */
import { Job, type JobScope, type Jobs } from "@jobloom/core"
import * as Schema from "effect/Schema"
import { BooleanText, IntegerText, oneOf, optional, Text } from "./queryValues.js"

const statusWords = [...Job.statuses, "active", "terminal"]

/** One status or a comma list, `active` and `terminal` included; decoded to the statuses it names. */
const StatusList = Schema.transform(
  Schema.String.pipe(
    Schema.filter((s) => s.split(",").every((part) => statusWords.includes(normalizeStatus(part))), {
      message: () => `must be a status or a comma list of ${statusWords.join(", ")}`
    })
  ),
  Schema.Array(Job.JobStatus),
  {
    strict: false,
    decode: (s) => [...new Set(s.split(",").flatMap((part) => expandStatus(normalizeStatus(part))))],
    encode: (statuses) => statuses.join(",")
  }
).annotations({
  jsonSchema: {
    type: "string",
    examples: ["QUEUED,RUNNING", "active", "terminal"],
    description: `one status or a comma list of ${statusWords.join(", ")}`
  }
})

function normalizeStatus(part: string): string {
  const trimmed = part.trim()
  const lower = trimmed.toLowerCase()
  return lower === "active" || lower === "terminal" ? lower : trimmed.toUpperCase()
}

function expandStatus(word: string): ReadonlyArray<string> {
  return word === "active" ? Job.activeStatuses : word === "terminal" ? Job.terminalStatuses : [word]
}

/** One value or a comma list of non-empty values. */
const TextList = (description: string) =>
  Schema.transform(
    Schema.String.pipe(
      Schema.filter((s) => s.split(",").every((part) => part.trim().length > 0) && s.length <= 2000, {
        message: () => "must be a value or a comma list of non-empty values"
      })
    ),
    Schema.Array(Schema.String),
    { strict: true, decode: (s) => s.split(",").map((part) => part.trim()), encode: (parts) => parts.join(",") }
  ).annotations({ jsonSchema: { type: "string", description } })

/** An ISO 8601 date or date-time; `Date.parse` alone would read `1` as the year 2001. */
const isoTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

const Time = (description: string) =>
  Schema.String.pipe(
    Schema.filter((s) => isoTime.test(s) && Number.isFinite(Date.parse(s)), {
      message: () => "must be an ISO 8601 date or date-time",
      jsonSchema: { type: "string", format: "date-time", description }
    })
  )

/** One job number or a comma list of them. */
const NumberList = Schema.transform(
  Schema.String.pipe(
    Schema.filter((s) => s.length <= 2000 && s.split(",").every((part) => /^[1-9][0-9]{0,14}$/.test(part.trim())), {
      message: () => "must be a job number or a comma list of job numbers (positive integers)"
    })
  ),
  Schema.Array(Schema.Number),
  { strict: true, decode: (s) => s.split(",").map((part) => Number(part.trim())), encode: (ns) => ns.join(",") }
).annotations({ jsonSchema: { type: "string", examples: ["1207", "1207,1102"], description: "job numbers" } })

const sortKeys = ["createdAt", "updatedAt", "startedAt", "finishedAt", "priority", "name"] as const

/** The query of `GET /jobs`. */
export const ListQuery = Schema.Struct({
  number: optional(NumberList),
  status: optional(StatusList),
  type: optional(TextList("one job type or a comma list")),
  queue: optional(TextList("one queue or a comma list")),
  owner: optional(Text("jobs of this owner")),
  tag: optional(Text("jobs carrying this tag")),
  batchId: optional(Text("jobs of this batch")),
  q: optional(Text("case-insensitive search in the name and the params text")),
  createdAfter: optional(Time("created after this time")),
  createdBefore: optional(Time("created before this time")),
  finishedBefore: optional(Time("finished before this time")),
  waiting: optional(BooleanText("true: jobs waiting on dependencies (waitingOn > 0, not yet finished); false: others")),
  dependsOn: optional(Text("the jobs that depend on this job id (a parent's children)")),
  sort: optional(oneOf(sortKeys, "the sort key; default createdAt")),
  order: optional(oneOf(["asc", "desc"], "default desc")),
  limit: optional(IntegerText(1, 1000, "page size, 1 to 1000; default 50")),
  cursor: optional(Text("nextCursor of the previous page")),
  withTotal: optional(BooleanText("add the exact total of matching jobs"))
}).annotations({ identifier: "ListQuery" })

/** The query of `GET /jobs/stats`. */
export const StatsQuery = Schema.Struct({
  type: optional(TextList("one job type or a comma list")),
  queue: optional(TextList("one queue or a comma list")),
  owner: optional(Text("jobs of this owner")),
  tag: optional(Text("jobs carrying this tag")),
  batchId: optional(Text("jobs of this batch")),
  createdAfter: optional(Time("created after this time")),
  createdBefore: optional(Time("created before this time"))
}).annotations({ identifier: "StatsQuery" })

/** The query of `DELETE /jobs`. */
export const DeleteManyQuery = Schema.Struct({
  type: optional(TextList("one job type or a comma list")),
  status: optional(StatusList),
  owner: optional(Text("jobs of this owner")),
  createdBefore: optional(Time("created before this time")),
  finishedBefore: optional(Time("finished before this time")),
  all: optional(BooleanText("required to delete with no filter at all"))
}).annotations({ identifier: "DeleteManyQuery" })

/** The query of `GET /events`: the list's filters, and how the snapshot's page is read. */
export const EventsQuery = Schema.Struct({
  ...ListQuery.omit("cursor", "withTotal", "waiting", "dependsOn").fields,
  limit: optional(IntegerText(1, 1000, "jobs in the snapshot, 1 to 1000; default 50")),
  logs: optional(BooleanText("stream the matching jobs' log lines too; default false"))
}).annotations({ identifier: "EventsQuery" })

/** The filter parameters any of these queries may carry, decoded. */
type FilterParams = Partial<Pick<typeof ListQuery.Type, keyof typeof fieldOf>>

/** Each filter parameter and the engine's field it fills (the plural names take lists). */
const fieldOf = {
  number: "numbers",
  status: "statuses",
  type: "types",
  queue: "queues",
  owner: "owner",
  tag: "tag",
  batchId: "batchId",
  q: "q",
  createdAfter: "createdAfter",
  createdBefore: "createdBefore",
  finishedBefore: "finishedBefore",
  waiting: "waiting",
  dependsOn: "dependsOn"
} as const satisfies Record<string, keyof Jobs.JobQuery>

/** The engine's filter from a decoded query: every given parameter, and the request's scope. */
export const toJobQuery = (q: FilterParams, scope: JobScope.JobScope | undefined): Jobs.JobQuery => {
  const query: Record<string, unknown> = { scope }
  for (const [param, field] of Object.entries(fieldOf)) {
    const value = q[param as keyof FilterParams]
    if (value !== undefined) query[field] = value
  }
  return query as Jobs.JobQuery
}

/** How a page of the list is read, from a decoded query: only the given parameters. */
export const toPage = (q: {
  readonly sort?: Jobs.ListQuery["sort"]
  readonly order?: Jobs.ListQuery["order"]
  readonly limit?: number
  readonly cursor?: string
  readonly withTotal?: boolean
}): Pick<Jobs.ListQuery, "sort" | "order" | "limit" | "cursor" | "withTotal"> => ({
  ...(q.sort === undefined ? {} : { sort: q.sort }),
  ...(q.order === undefined ? {} : { order: q.order }),
  ...(q.limit === undefined ? {} : { limit: q.limit }),
  ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
  ...(q.withTotal === undefined ? {} : { withTotal: q.withTotal })
})

/** The options of `GET /jobs`: the filter and the page. */
export const toListQuery = (q: typeof ListQuery.Type, scope: JobScope.JobScope | undefined): Jobs.ListQuery => ({
  ...toJobQuery(q, scope),
  ...toPage(q)
})

/** The options of a bulk delete: the filter (no filter at all is refused by the engine unless `all`). */
export const toDeleteQuery = (q: typeof DeleteManyQuery.Type, scope: JobScope.JobScope | undefined) => ({
  ...toJobQuery(q, scope),
  ...(q.all === undefined ? {} : { all: q.all })
})
