/**
 * The OpenAPI 3.1 document of the MCRIT router, served at `{mount}/openapi.json`. Written by hand: the routes speak
 * MCRIT's `{status, data}` envelope, which no engine Schema describes.
 */
import * as View from "./view.js"

const envelope = (data: unknown) => ({
  type: "object",
  required: ["status", "data"],
  properties: { status: { type: "string", enum: ["successful", "failed"] }, data }
})
const ok = (description: string, data: unknown) => ({
  description,
  content: { "application/json": { schema: envelope(data) } }
})
const failed = ok("`status: failed`, `data.message` says why", {
  type: "object",
  properties: { message: { type: "string" } }
})
const hexId = (name: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[0-9a-fA-F]{24}$" },
  description: "24 hex digits: the job's number, zero-padded"
})
const query = (name: string, description: string, schema: unknown = { type: "string" }) => ({
  name,
  in: "query",
  required: false,
  schema,
  description
})
const boolean = { type: "string", description: "True/true (case-insensitive)" }
const job = { $ref: "#/components/schemas/McritJob" }
const deleted = { type: "object", properties: { num_deleted: { type: "integer" } } }
const date = { type: ["object", "null"], properties: { $date: { type: "string", format: "date-time" } } }

/** The document, with `base` (the mount prefix) as its server. */
export const document = (base: string) => ({
  openapi: "3.1.0",
  info: {
    title: "jobloom: MCRIT job queue API",
    version: "0.1.0",
    description: "MCRIT's `/jobs` and `/results` over jobloom. Success is always a 200. Trailing slashes optional."
  },
  servers: [{ url: base === "" ? "/" : base }],
  paths: {
    "/jobs": {
      get: {
        operationId: "mcritListJobs",
        summary: "List jobs, newest first unless ascending",
        parameters: [
          query("start", "jobs to skip", { type: "integer" }),
          query("limit", "at most this many; 0 or absent: all", { type: "integer" }),
          query("ascending", "oldest first", boolean),
          query("method", "job type"),
          query("state", `one of ${[...View.states, "processing"].join(", ")}`),
          query("filter", "substring of method(params), applied before paging")
        ],
        responses: { "200": ok("the jobs", { type: "array", items: job }), "400": failed }
      },
      delete: {
        operationId: "mcritDeleteJobs",
        summary: "Delete CREATED and terminal jobs matching every given criterion (at least one)",
        parameters: [
          query("method", "job type"),
          query("created_before", "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC"),
          query("finished_before", "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC")
        ],
        responses: { "200": ok("how many", deleted), "400": failed }
      }
    },
    "/jobs/stats": {
      get: {
        operationId: "mcritJobStats",
        summary: "Counts per method and state, and totals",
        parameters: [query("with_refresh", "accepted; counts are always live", boolean)],
        responses: { "200": ok("the counts", { type: "object", additionalProperties: true }) }
      }
    },
    "/jobs/{job_id}": {
      get: {
        operationId: "mcritGetJob",
        summary: "One job",
        parameters: [hexId("job_id")],
        responses: { "200": ok("the job", job), "400": failed, "404": failed }
      },
      delete: {
        operationId: "mcritDeleteJob",
        summary: "Delete one job (a running one is cancelled first)",
        parameters: [hexId("job_id")],
        responses: { "200": ok("how many", deleted), "400": failed, "404": failed }
      }
    },
    "/jobs/{job_id}/result": {
      get: {
        operationId: "mcritJobResult",
        summary: "The job's result value (null when it has none)",
        parameters: [hexId("job_id"), query("compact", "the type's compact projection", boolean)],
        responses: { "200": ok("the result", {}), "400": failed, "404": failed }
      }
    },
    "/results/{result_id}": {
      get: {
        operationId: "mcritGetResult",
        summary: "A result by id (a SUCCEEDED job's number)",
        parameters: [hexId("result_id"), query("compact", "the type's compact projection", boolean)],
        responses: { "200": ok("the result", {}), "400": failed, "404": failed }
      }
    },
    "/results/{result_id}/job": {
      get: {
        operationId: "mcritGetResultJob",
        summary: "The job that produced a result",
        parameters: [hexId("result_id")],
        responses: { "200": ok("the job", job), "400": failed, "404": failed }
      }
    }
  },
  components: {
    schemas: {
      McritJob: {
        type: "object",
        required: ["_id", "created_at", "started_at", "finished_at", "attempts_left", "terminated", "result"],
        properties: {
          _id: { type: "object", properties: { $oid: { type: "string" } } },
          number: { type: "integer" },
          priority: { type: "integer" },
          payload: {
            type: "object",
            properties: {
              method: { type: "string" },
              params: { type: "string", description: "JSON text of an object" },
              descriptor: { type: ["string", "null"] }
            }
          },
          created_at: date,
          started_at: date,
          finished_at: { ...date, description: "set for a finished (SUCCEEDED) job only" },
          locked_by: { type: ["string", "null"] },
          locked_at: date,
          last_error: { type: ["string", "null"] },
          attempts_left: { type: "integer", description: "0 only for a failed job" },
          terminated: { type: "boolean" },
          progress: { type: "number" },
          result: { type: ["string", "null"], description: "result id; always set for a finished job" },
          job_id: { type: "string" },
          method: { type: "string" },
          state: { type: "string", enum: View.states },
          created: { type: "string" },
          finished: { type: ["string", "null"] },
          parameters: { type: "object" },
          result_id: { type: ["string", "null"] }
        }
      }
    }
  }
})
