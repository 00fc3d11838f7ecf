/**
 * The OpenAPI 3.1 document of the Antenna router, served at `{mount}/openapi.json`. Written by hand: the routes
 * speak Antenna's DRF shapes, which no engine Schema describes.
 */
import * as View from "./view.js"

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (description: string, schema: unknown) => ({ description, content: { "application/json": { schema } } })
const drfError = json("`{detail}` or `{field: [messages]}`", ref("DrfError"))
const id = { name: "id", in: "path", required: true, schema: { type: "integer" }, description: "the job's number" }
const query = (name: string, description: string, schema: unknown = { type: "string" }) => ({
  name,
  in: "query",
  required: false,
  schema,
  description
})

const nullableObject = { type: ["object", "null"] }

const jobSchema = {
  type: "object",
  required: ["id", "details", "name", "status", "progress", "logs", "job_type", "user_permissions"],
  properties: {
    id: { type: "integer", description: "the jobloom job's `number`" },
    details: { type: "string", format: "uri" },
    name: { type: "string" },
    delay: { type: "integer" },
    limit: { type: ["integer", "null"] },
    shuffle: { type: "boolean" },
    project: nullableObject,
    deployment: nullableObject,
    source_image_collection: nullableObject,
    source_image_single: nullableObject,
    pipeline: nullableObject,
    status: { type: "string", enum: View.statusCodes },
    created_at: { type: "string", format: "date-time", description: "UTC with microseconds and Z" },
    updated_at: { type: "string", format: "date-time" },
    started_at: { type: ["string", "null"], format: "date-time" },
    finished_at: { type: ["string", "null"], format: "date-time" },
    duration: { type: ["string", "null"], description: "seconds, as a string" },
    progress: {
      type: "object",
      properties: {
        summary: { type: "object", properties: { status: { type: "string" }, progress: { type: "number" } } },
        stages: { type: "array", items: { type: "object" } },
        errors: { type: "array", items: { type: "string" } },
        logs: { type: "array", items: { type: "string" } }
      }
    },
    logs: {
      type: "object",
      properties: {
        stdout: { type: "array", items: { type: "string" }, description: "`[YYYY-MM-DD HH:MM:SS] LEVEL message`" },
        stderr: { type: "array", items: { type: "string" } }
      }
    },
    job_type: { type: "object", properties: { name: { type: "string" }, key: { type: "string" } } },
    data_export: nullableObject,
    dispatch_mode: { type: "string" },
    result: { type: ["string", "null"], description: "the jobloom result id (native `GET /results/{id}`)" },
    user_permissions: { type: "array", items: { type: "string", enum: ["update", "delete", "run"] } }
  }
}

const createSchema = {
  type: "object",
  required: ["name", "project_id"],
  properties: {
    name: { type: "string" },
    project_id: { type: ["integer", "string"], description: "becomes the job's owner" },
    delay: { type: "integer", minimum: 0 },
    limit: { type: ["integer", "null"] },
    shuffle: { type: "boolean" },
    job_type_key: { type: "string", default: "ml" },
    pipeline_id: { type: ["integer", "string", "null"] },
    deployment_id: { type: ["integer", "string", "null"] },
    source_image_collection_id: { type: ["integer", "string", "null"] },
    source_image_single_id: { type: ["integer", "string", "null"] },
    params: { type: "object", description: "jobloom params of the job type" }
  }
}

/** The document, with `base` (the mount prefix) as its server. */
export const document = (base: string) => ({
  openapi: "3.1.0",
  info: {
    title: "jobloom: Antenna job API",
    version: "0.1.0",
    description: "Antenna's `/api/v2/jobs` (Django REST framework shapes) over jobloom. Trailing slashes optional."
  },
  servers: [{ url: base === "" ? "/" : base }],
  paths: {
    "/jobs/": {
      get: {
        operationId: "antennaListJobs",
        summary: "List jobs (LimitOffset pages)",
        parameters: [
          query("limit", "page size, default 10", { type: "integer" }),
          query("offset", "jobs to skip", { type: "integer" }),
          query("status", "Antenna status code(s)"),
          query("job_type_key", "job type"),
          query("project_id", "project (the job's owner); also `project`"),
          query("pipeline", "pipeline id"),
          query("deployment", "deployment id"),
          query("source_image_collection", "collection id"),
          query("source_image_single", "capture id"),
          query("search", "text in the name or params"),
          query("incomplete_only", "only jobs not finished"),
          query("ordering", "name, status, deployment, pipeline, source_image_collection, created_at, updated_at, …")
        ],
        responses: { "200": json("a page", ref("JobPage")), "400": drfError, "403": drfError }
      },
      post: {
        operationId: "antennaCreateJob",
        summary: "Create a job; `?start_now` queues it at once",
        parameters: [query("start_now", "valueless flag, or 1/true")],
        requestBody: { content: { "application/json": { schema: createSchema } } },
        responses: { "201": json("the job", ref("AntennaJob")), "400": drfError, "403": drfError }
      }
    },
    "/jobs/{id}/": {
      get: {
        operationId: "antennaGetJob",
        summary: "One job with its newest logs",
        parameters: [id, query("logs_limit", "log lines, default 1000, at most 5000", { type: "integer" })],
        responses: { "200": json("the job", ref("AntennaJob")), "404": drfError }
      },
      put: {
        operationId: "antennaReplaceJob",
        summary: "Edit a CREATED, QUEUED or PAUSED job (name and project_id required)",
        parameters: [id],
        requestBody: { content: { "application/json": { schema: createSchema } } },
        responses: { "200": json("the job", ref("AntennaJob")), "400": drfError, "404": drfError, "409": drfError }
      },
      patch: {
        operationId: "antennaEditJob",
        summary: "Edit some fields of a CREATED, QUEUED or PAUSED job",
        parameters: [id],
        requestBody: { content: { "application/json": { schema: { ...createSchema, required: [] } } } },
        responses: { "200": json("the job", ref("AntennaJob")), "400": drfError, "404": drfError, "409": drfError }
      },
      delete: {
        operationId: "antennaDeleteJob",
        summary: "Delete a job (a running one is cancelled first)",
        parameters: [id],
        responses: { "204": { description: "deleted" }, "404": drfError }
      }
    },
    ...Object.fromEntries(
      (["run", "cancel", "retry"] as const).map((action) => [
        `/jobs/{id}/${action}/`,
        {
          post: {
            operationId: `antenna${action[0]!.toUpperCase()}${action.slice(1)}Job`,
            summary: `${action} the job`,
            parameters: [id],
            responses: { "200": json("the job", ref("AntennaJob")), "404": drfError, "409": drfError }
          }
        }
      ])
    )
  },
  components: {
    schemas: {
      AntennaJob: jobSchema,
      JobPage: {
        type: "object",
        properties: {
          count: { type: "integer" },
          next: { type: ["string", "null"], format: "uri" },
          previous: { type: ["string", "null"], format: "uri" },
          results: { type: "array", items: ref("AntennaJob") },
          user_permissions: { type: "array", items: { type: "string" } }
        }
      },
      DrfError: { type: "object", additionalProperties: true, properties: { detail: { type: "string" } } }
    }
  }
})
