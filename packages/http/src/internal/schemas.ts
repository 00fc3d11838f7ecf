/**
 * The Schemas of query strings, bodies and responses. Bodies reuse the engine's own input Schemas; query strings
 * get string Schemas of their own (every query value arrives as text) that say exactly what is accepted.
 */
import { Job, JobItem, Jobs } from "@jobloom/core"
import * as Schema from "effect/Schema"

/** The actions an `authorize` hook decides (`work`: a remote worker's calls, `WorkersApi`). */
export const Action = Schema.Literal(
  "view",
  "create",
  "edit",
  "run",
  "cancel",
  "retry",
  "pause",
  "resume",
  "delete",
  "work"
)
/** The actions an `authorize` hook decides. */
export type Action = typeof Action.Type

/** The actions a job's `userPermissions` may list (viewing is implied by seeing the job). */
export const jobActions: ReadonlyArray<Action> = ["edit", "run", "cancel", "retry", "pause", "resume", "delete"]

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** A query value out of a fixed set, with one clear message instead of one per member. */
const oneOf = <const L extends ReadonlyArray<string>>(values: L, description: string) =>
  Schema.String.pipe(
    Schema.filter((s): s is L[number] => values.includes(s), {
      message: () => `must be one of ${values.join(", ")}`,
      jsonSchema: { type: "string", enum: values, description },
      description
    })
  )

/** `true` or `false`. */
const BooleanText = (description: string) =>
  Schema.transform(oneOf(["true", "false"], description), Schema.Boolean, {
    strict: true,
    decode: (s) => s === "true",
    encode: (b) => (b ? "true" : "false")
  }).annotations({ jsonSchema: { type: "boolean", description }, description })

/** A decimal integer in [min, max]; anything else is a 400, never clamped. */
const IntegerText = (min: number, max: number, description: string) =>
  Schema.transform(
    Schema.String.pipe(
      Schema.filter((s) => /^[0-9]{1,10}$/.test(s) && Number(s) >= min && Number(s) <= max, {
        message: () => `must be an integer from ${min} to ${max}`
      })
    ),
    Schema.Number,
    { strict: true, decode: Number, encode: String }
  ).annotations({ jsonSchema: { type: "integer", minimum: min, maximum: max, description }, description })

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

const Text = (description: string) =>
  Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" }), Schema.maxLength(500)).annotations({
    description
  })

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

/** The query of `POST /jobs`: `start_now` is Antenna's spelling of `startNow`. */
export const CreateQuery = Schema.Struct({
  startNow: optional(BooleanText("queue the job at once instead of leaving it CREATED")),
  start_now: optional(BooleanText("Antenna's spelling of startNow"))
}).annotations({ identifier: "CreateQuery" })

/** The body of `POST /jobs` for many jobs at once. */
export const CreateMany = Schema.Struct({
  jobs: Schema.Array(Jobs.CreateJob).pipe(Schema.minItems(1), Schema.maxItems(1000))
}).annotations({ identifier: "CreateMany" })

/** The body of `POST /jobs`: one job, or `{ jobs: [...] }`. */
export const CreateBody = Schema.Union(Jobs.CreateJob, CreateMany)

/** The query of `GET /jobs/{id}`. */
export const GetQuery = Schema.Struct({
  logs: optional(IntegerText(0, 5000, "embed the newest N log lines"))
}).annotations({ identifier: "GetQuery" })

/** The query of `DELETE /jobs/{id}`. */
export const DeleteQuery = Schema.Struct({
  force: optional(BooleanText("cancel first and delete whatever the status"))
}).annotations({ identifier: "DeleteQuery" })

/** The query of `DELETE /jobs`. */
export const DeleteManyQuery = Schema.Struct({
  type: optional(TextList("one job type or a comma list")),
  status: optional(StatusList),
  owner: optional(Text("jobs of this owner")),
  createdBefore: optional(Time("created before this time")),
  finishedBefore: optional(Time("finished before this time")),
  all: optional(BooleanText("required to delete with no filter at all"))
}).annotations({ identifier: "DeleteManyQuery" })

/** The query of `GET /jobs/{id}/logs`. */
export const LogsQuery = Schema.Struct({
  limit: optional(IntegerText(1, 5000, "lines per page, 1 to 5000; default 100")),
  cursor: optional(Text("nextCursor of the previous page"))
}).annotations({ identifier: "LogsQuery" })

/** The query of the result routes. */
export const ResultQuery = Schema.Struct({
  compact: optional(BooleanText("the type's compact projection of the result"))
}).annotations({ identifier: "ResultQuery" })

/** A job in a response: the engine's job and what the caller may do with it. */
export const JobView = Schema.extend(
  Job.Job,
  Schema.Struct({
    userPermissions: Schema.Array(Action),
    logs: Schema.optional(Schema.Array(Job.LogEntry))
  })
).annotations({ identifier: "JobView" })

/** A page of jobs. */
export const JobPageView = Schema.Struct({
  items: Schema.Array(JobView),
  nextCursor: Schema.NullOr(Schema.String),
  total: Schema.optional(Schema.Number)
}).annotations({ identifier: "JobPage" })

/** The answer to a many-jobs create. */
export const BatchCreated = Schema.Struct({
  // null when no job was inserted (every one hit a held idempotency key) and the holders share no batch
  batchId: Schema.NullOr(Schema.String),
  jobs: Schema.Array(JobView)
}).annotations({ identifier: "BatchCreated" })

/** The answer to a create: one job, or a batch. */
export const CreatedView = Schema.Union(JobView, BatchCreated)

/** A page of log lines, newest first. */
export const LogPageView = Schema.Struct({
  items: Schema.Array(Job.LogEntry),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "LogPage" })

/** The answer to a bulk delete. */
export const Deleted = Schema.Struct({ deleted: Schema.Number }).annotations({ identifier: "Deleted" })

/** A registered job type. */
export const JobTypeView = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  description: Schema.String,
  queue: Schema.String,
  stages: Schema.Array(
    Schema.Struct({
      key: Schema.String,
      name: Schema.String,
      params: Schema.optional(
        Schema.Array(
          Schema.Struct({ key: Schema.String, name: Schema.String, category: Schema.optional(Schema.String) })
        )
      )
    })
  ),
  maxAttempts: Schema.Number,
  timeoutMs: Schema.NullOr(Schema.Number),
  concurrency: Schema.NullOr(Schema.Number),
  paramsSchema: Schema.Unknown.annotations({ description: "JSON Schema of the params" })
}).annotations({ identifier: "JobType" })

/** The list of job types. */
export const JobTypeList = Schema.Struct({ items: Schema.Array(JobTypeView) }).annotations({
  identifier: "JobTypeList"
})

/** The query of `GET /jobs/{id}/items`. */
export const ItemsQuery = Schema.Struct({
  status: optional(
    Schema.transform(
      Schema.String.pipe(
        Schema.filter(
          (s) => s.split(",").every((part) => JobItem.ItemStatus.literals.includes(part.trim().toUpperCase() as never)),
          {
            message: () => `must be an item status or a comma list of ${JobItem.ItemStatus.literals.join(", ")}`
          }
        )
      ),
      Schema.Array(JobItem.ItemStatus),
      {
        strict: false,
        decode: (s) => [...new Set(s.split(",").map((part) => part.trim().toUpperCase()))],
        encode: (statuses) => statuses.join(",")
      }
    ).annotations({ jsonSchema: { type: "string", description: "one item status or a comma list" } })
  ),
  limit: optional(IntegerText(1, 1000, "items per page, 1 to 1000; default 100")),
  cursor: optional(Text("nextCursor of the previous page"))
}).annotations({ identifier: "ItemsQuery" })

/** A page of a job's items, in order. */
export const ItemPageView = Schema.Struct({
  items: Schema.Array(JobItem.JobItem),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "ItemPage" })

/** The query of `POST /jobs/{id}/retry`. */
export const RetryQuery = Schema.Struct({
  full: optional(BooleanText("rerun every item, the SUCCEEDED ones too"))
}).annotations({ identifier: "RetryQuery" })

/** The query of routes that take none (unknown parameters are ignored). */
export const NoQuery = Schema.Struct({}).annotations({ identifier: "NoQuery" })
/** The query of `GET /events`: the list's filters, and how the snapshot's page is read. */
export const EventsQuery = Schema.Struct({
  ...ListQuery.omit("cursor", "withTotal").fields,
  limit: optional(IntegerText(1, 1000, "jobs in the snapshot, 1 to 1000; default 50")),
  logs: optional(BooleanText("stream the matching jobs' log lines too; default false"))
}).annotations({ identifier: "EventsQuery" })
