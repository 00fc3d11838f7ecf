/**
 * How the REST sub-app's routes describe themselves for the OpenAPI document: `describeRoute` with the response
 * bodies (from the same Schemas) and the problems each route may answer with.
 */
import type * as Schema from "effect/Schema"
import type { MiddlewareHandler } from "hono"
import { describeRoute, resolver } from "hono-openapi"
import type { DescribeRouteOptions } from "hono-openapi"
import * as Problem from "../Problem.js"
import * as OpenApi from "./openapi.js"

/** A route's description, documented in the OpenAPI document. */
export const describe = (spec: DescribeRouteOptions) => describeRoute(spec) as unknown as MiddlewareHandler

/** A JSON response of this Schema. */
export const body = (description: string, schema: Schema.Schema.AnyNoContext, status = "200") => ({
  [status]: { description, content: { "application/json": { schema: resolver(OpenApi.standard(schema)) } } }
})

/** The problem responses of these statuses. */
export const problems = (...statuses: ReadonlyArray<number>) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: problemDescriptions[status] ?? "error",
        content: { "application/problem+json": { schema: resolver(OpenApi.standard(Problem.Problem)) } }
      }
    ])
  )

/** A route with and without its trailing slash: `strict: false` does not survive mounting with `app.route`. */
export const paths = (path: string) => [path, `${path}/`]

/** An event stream's response. */
export const eventStream = {
  "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" as const } } } }
}

const problemDescriptions: Record<number, string> = {
  400: "invalid request: `errors` names each bad field",
  403: "the authorize hook refused",
  404: "unknown job, result or batch",
  409: "not allowed from the job's status (`currentStatus` names it), or a delete of a job others depend on (`dependents`)",
  413: "body over the limit; the connection is closed",
  415: "a body with a content type other than JSON"
}
