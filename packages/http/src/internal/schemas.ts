/**
 * The Schemas of bodies, responses and the query strings that are not job filters (those are in `jobFilter.ts`).
 * Bodies reuse the engine's own input Schemas; query values are read with the Schemas of `queryValues.ts`.
 */
import { Job, JobItem, Jobs } from "@jobloom/core"
import * as Schema from "effect/Schema"
import { BooleanText, IntegerText, optional, Text } from "./queryValues.js"

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
