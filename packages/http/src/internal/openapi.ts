/**
 * Effect Schemas as Standard Schema validators that hono-openapi can also turn into OpenAPI 3.1 schemas.
 *
 * Effect's own Standard Schema validator is used to validate. For the document, Effect's `JSONSchema` is run with its
 * `openApi3.1` target and its definitions placed straight into `#/components/schemas`: the generic converter of
 * `@standard-community/standard-json` targets draft-07 and turns Effect's `$id` markers (`/schemas/unknown`) into
 * broken references, so this module registers a converter for a vendor name of its own (never changing how other
 * Effect schemas of the host are converted).
 */
import type { StandardSchemaV1 } from "@standard-schema/spec"
import type * as SchemaAST from "effect/SchemaAST"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import { loadVendor } from "hono-openapi"
import type { OpenAPIV3_1 } from "openapi-types"

const vendor = "jobloom-effect"
const astKey = Symbol.for("@jobloom/http/ast")

interface WithAst {
  readonly [astKey]: SchemaAST.AST
}

let registered = false

/** Registers the converter once per process. */
export const register = (): void => {
  if (registered) return
  registered = true
  loadVendor(vendor, {
    toOpenAPISchema: (schema, context) => {
      const ast = (schema as unknown as WithAst)[astKey]
      const definitions: Record<string, JSONSchema.JsonSchema7> = {}
      const root = JSONSchema.fromAST(ast, {
        definitions,
        definitionPath: "#/components/schemas/",
        target: "openApi3.1"
      })
      context.components.schemas = {
        ...context.components.schemas,
        ...(clean(definitions) as Record<string, OpenAPIV3_1.SchemaObject>)
      }
      return clean(root) as OpenAPIV3_1.SchemaObject
    }
  })
}

/** Drops Effect's internal `$id`/`$comment` markers, which are not references anyone can resolve. */
const clean = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(clean)
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if ((key === "$id" || key === "$comment") && typeof inner === "string" && inner.startsWith("/schemas/")) continue
    out[key] = clean(inner)
  }
  return out
}

/** A Standard Schema validator of an Effect Schema (errors: all), documentable by hono-openapi. */
export const standard = <A, I>(
  schema: Schema.Schema<A, I, never>,
  options?: SchemaAST.ParseOptions
): StandardSchemaV1<I, A> => {
  const effectStandard = Schema.standardSchemaV1(schema, options)["~standard"]
  return {
    "~standard": { version: 1, vendor, validate: (value) => effectStandard.validate(value) },
    [astKey]: schema.ast
  } as StandardSchemaV1<I, A> & WithAst
}
