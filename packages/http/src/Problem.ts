/**
 * Errors as `application/problem+json` (RFC 9457): one exhaustive mapping from the engine's tagged errors, and the
 * problems of the HTTP layer itself (validation, authorization, body size and media type, defects).
 *
 * @since 0.1.0
 */
import type { JobError, JobStore } from "@jobloom/core"
import { Job } from "@jobloom/core"
import * as Schema from "effect/Schema"

/** The media type of every error response. */
export const contentType = "application/problem+json"

/** One bad field of a request: `path` names it (`params.seconds`, `limit`, `jobs.2.type`). */
export const FieldError = Schema.Struct({ path: Schema.String, message: Schema.String }).annotations({
  identifier: "FieldError"
})
/** One bad field of a request. */
export type FieldError = typeof FieldError.Type

/** A problem details object (RFC 9457) with jobloom's extension members. */
export const Problem = Schema.Struct({
  type: Schema.String.annotations({ description: "a URI naming the kind of problem" }),
  title: Schema.String,
  status: Schema.Int,
  detail: Schema.String,
  instance: Schema.optional(Schema.String),
  errors: Schema.optional(Schema.Array(FieldError)),
  jobId: Schema.optional(Schema.String),
  currentStatus: Schema.optional(Job.JobStatus.annotations({ description: "the job's status a 409 refused" })),
  action: Schema.optional(Schema.String),
  dependents: Schema.optional(
    Schema.Number.annotations({ description: "how many unfinished jobs depend on the job a delete refused" })
  ),
  resultId: Schema.optional(Schema.String),
  batchId: Schema.optional(Schema.String),
  jobType: Schema.optional(Schema.String),
  scheduleKey: Schema.optional(Schema.String)
}).annotations({ identifier: "Problem", description: "RFC 9457 problem details" })
/** A problem details object. */
export type Problem = typeof Problem.Type

/** Every error the engine can fail with. */
export type EngineError =
  | JobError.JobNotFound
  | JobError.ResultNotFound
  | JobError.BatchNotFound
  | JobError.InvalidTransition
  | JobError.JobHasDependents
  | JobError.UnknownJobType
  | JobError.InvalidParams
  | JobError.InvalidInput
  | JobError.IdempotencyKeyHeld
  | JobError.ScheduleNotFound
  | JobError.ScheduleExists
  | JobStore.JobStoreError

const engineTags: ReadonlySet<string> = new Set<EngineError["_tag"]>([
  "JobNotFound",
  "ResultNotFound",
  "BatchNotFound",
  "InvalidTransition",
  "JobHasDependents",
  "UnknownJobType",
  "InvalidParams",
  "InvalidInput",
  "IdempotencyKeyHeld",
  "ScheduleNotFound",
  "ScheduleExists",
  "JobStoreError"
])

/** Whether a failure is one of the engine's tagged errors. */
export const isEngineError = (u: unknown): u is EngineError =>
  typeof u === "object" && u !== null && "_tag" in u && engineTags.has(String((u as { _tag: unknown })._tag))

const typeUri = (kind: string): string => `urn:jobloom:problem:${kind}`

/** Maps an engine error to its problem. Exhaustive: a new error tag does not compile until it is mapped here. */
export const fromError = (error: EngineError): Problem => {
  switch (error._tag) {
    case "JobNotFound":
      return {
        type: typeUri("job-not-found"),
        title: "Job not found",
        status: 404,
        detail: error.message,
        jobId: error.jobId
      }
    case "ResultNotFound":
      return {
        type: typeUri("result-not-found"),
        title: "Result not found",
        status: 404,
        detail: error.message,
        ...(error.resultId === null ? {} : { resultId: error.resultId }),
        ...(error.jobId === null ? {} : { jobId: error.jobId })
      }
    case "BatchNotFound":
      return {
        type: typeUri("batch-not-found"),
        title: "Batch not found",
        status: 404,
        detail: error.message,
        batchId: error.batchId
      }
    case "InvalidTransition":
      return {
        type: typeUri("invalid-transition"),
        title: "Transition not allowed",
        status: 409,
        detail: error.message,
        jobId: error.jobId,
        currentStatus: error.from,
        action: error.action
      }
    case "JobHasDependents":
      return {
        type: typeUri("job-has-dependents"),
        title: "Job has dependents",
        status: 409,
        detail: error.message,
        jobId: error.jobId,
        dependents: error.dependents,
        action: "delete"
      }
    case "UnknownJobType":
      return {
        type: typeUri("unknown-job-type"),
        title: "Unknown job type",
        status: 400,
        detail: error.message,
        jobType: error.type,
        errors: [{ path: "type", message: `no job type is registered under "${error.type}"` }]
      }
    case "InvalidParams":
      return {
        type: typeUri("invalid-params"),
        title: "Invalid params",
        status: 400,
        detail: error.message,
        jobType: error.type,
        errors: error.issues
      }
    case "InvalidInput":
      return validation(error.issues)
    case "IdempotencyKeyHeld":
      // names no job: the holder is outside the caller's scope
      return {
        type: typeUri("idempotency-key-held"),
        title: "Conflict",
        status: 409,
        detail: error.message,
        errors: [{ path: "idempotencyKey", message: "is held by another job" }]
      }
    case "ScheduleNotFound":
      return {
        type: typeUri("schedule-not-found"),
        title: "Schedule not found",
        status: 404,
        detail: error.message,
        scheduleKey: error.key
      }
    case "ScheduleExists":
      return {
        type: typeUri("schedule-exists"),
        title: "Conflict",
        status: 409,
        detail: error.message,
        scheduleKey: error.key,
        errors: [{ path: "key", message: "is taken by another schedule" }]
      }
    case "JobStoreError":
      // the store's message may carry SQL or connection details: never shown to the client
      return error.reason === "Unavailable"
        ? {
            type: typeUri("store-unavailable"),
            title: "Service Unavailable",
            status: 503,
            detail: "the job store is unavailable; try again later"
          }
        : error.reason === "Conflict"
          ? {
              type: typeUri("store-conflict"),
              title: "Conflict",
              status: 409,
              detail: "the job changed concurrently; try again"
            }
          : internal()
    default:
      return absurd(error)
  }
}

const absurd = (error: never): Problem => {
  void error
  return internal()
}

/** 400: the request's fields are wrong; `errors` names each one. */
export const validation = (errors: ReadonlyArray<FieldError>, detail?: string): Problem => ({
  type: typeUri("validation"),
  title: "Invalid request",
  status: 400,
  detail:
    detail ?? (errors.map((e) => (e.path === "" ? e.message : `${e.path}: ${e.message}`)).join("; ") || "invalid"),
  errors
})

/** 403: the `authorize` hook refused the action. */
export const forbidden = (action: string, jobId?: string): Problem => ({
  type: typeUri("forbidden"),
  title: "Forbidden",
  status: 403,
  detail: jobId === undefined ? `not allowed to ${action}` : `not allowed to ${action} job ${jobId}`,
  action,
  ...(jobId === undefined ? {} : { jobId })
})

/** 413: the body is over the configured limit. */
export const payloadTooLarge = (limit: number): Problem => ({
  type: typeUri("payload-too-large"),
  title: "Payload Too Large",
  status: 413,
  detail: `the request body is over the limit of ${limit} bytes`
})

/** 415: a body was sent with a content type other than JSON. */
export const unsupportedMediaType = (mediaType: string): Problem => ({
  type: typeUri("unsupported-media-type"),
  title: "Unsupported Media Type",
  status: 415,
  detail: `the body must be application/json, not ${mediaType === "" ? "a body without a content type" : mediaType}`
})

/** 500: an unexpected defect; nothing of it is shown. */
export const internal = (): Problem => ({
  type: typeUri("internal"),
  title: "Internal Server Error",
  status: 500,
  detail: "an unexpected error occurred"
})

/** Any other HTTP status, e.g. a 400 for malformed JSON raised by the framework. */
export const http = (status: number, detail: string): Problem => ({
  type: "about:blank",
  title: statusTitles[status] ?? "Error",
  status,
  detail
})

const statusTitles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable"
}

/** Headers as `new Headers(...)` takes them (named here: the DOM's `HeadersInit` is not a Node global). */
export type HeadersInit = ConstructorParameters<typeof Headers>[0]

/** The response of a problem, with `instance` set to the request path. */
export const toResponse = (
  problem: Problem,
  options?: { readonly instance?: string; readonly headers?: HeadersInit }
): Response => {
  const headers = new Headers(options?.headers)
  headers.set("content-type", contentType)
  const body = options?.instance === undefined ? problem : { ...problem, instance: options.instance }
  return new Response(JSON.stringify(body), { status: problem.status, headers })
}
