/**
 * Request validation of the REST sub-app: query strings and bodies are checked with Effect Schemas (as Standard
 * Schema validators, so hono-openapi documents them too); a failure is a 400 problem naming each bad field.
 */
import { Jobs } from "@jobloom/core"
import type { StandardSchemaV1 } from "@standard-schema/spec"
import type * as Schema from "effect/Schema"
import type { Context, MiddlewareHandler } from "hono"
import { validator } from "hono-openapi"
import * as Problem from "../Problem.js"
import * as OpenApi from "./openapi.js"
import { respond } from "./router.js"
import * as Schemas from "./schemas.js"

const onInvalid =
  (reparse?: (data: unknown) => StandardSchemaV1) =>
  async (result: { success: boolean; error?: ReadonlyArray<StandardSchemaV1.Issue>; data: unknown }, c: Context) => {
    if (result.success) return
    let issues = result.error ?? []
    if (reparse !== undefined) {
      // a union's issues mix every member's; report those of the member the body meant
      const again = await reparse(result.data)["~standard"].validate(result.data)
      if (again.issues !== undefined) issues = again.issues
    }
    return respond(c, Problem.validation(fieldErrors(issues, result.data)))
  }

/** Validates the query string with the Schema (unknown parameters are ignored). */
export const query = <A, I>(schema: Schema.Schema<A, I, never>) =>
  validator("query", OpenApi.standard(schema), onInvalid()) as unknown as MiddlewareHandler

/** Validates the JSON body with the Schema (unknown fields are refused); `reparse` picks a union's member. */
export const json = <A, I>(schema: Schema.Schema<A, I, never>, reparse?: (data: unknown) => StandardSchemaV1) =>
  validator(
    "json",
    OpenApi.standard(schema, { onExcessProperty: "error" }),
    onInvalid(reparse)
  ) as unknown as MiddlewareHandler

/** The validated query or body of the request. */
export const valid = <A>(c: Context, target: "query" | "json"): A => c.req.valid(target as never) as A

const createOne = OpenApi.standard(Jobs.CreateJob, { onExcessProperty: "error" })
const createMany = OpenApi.standard(Schemas.CreateMany, { onExcessProperty: "error" })

/** The member of a create body the data meant: many jobs when it has `jobs`, else one. */
export const pickCreate = (data: unknown) =>
  typeof data === "object" && data !== null && "jobs" in data ? createMany : createOne

/** Standard Schema issues as field errors: `path` dotted, the `Expected undefined`/`null` noise of optionals gone. */
const fieldErrors = (
  issues: ReadonlyArray<StandardSchemaV1.Issue>,
  data: unknown
): ReadonlyArray<Problem.FieldError> => {
  const all = issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join("."),
    message: issue.message
  }))
  if (all.some((e) => e.path === "") && (typeof data !== "object" || data === null || Array.isArray(data))) {
    return [{ path: "", message: "must be a JSON object" }]
  }
  const seen = new Set<string>()
  return all.filter((error) => {
    // a nullable field's union also reports its null member: noise beside the real message
    if (/^Expected (undefined|null)\b/.test(error.message) && all.some((o) => o.path === error.path && o !== error)) {
      return false
    }
    const key = `${error.path}\u0000${error.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
