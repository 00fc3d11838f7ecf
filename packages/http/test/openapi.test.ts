import { describe, expect, it } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Hono } from "hono"
import { JobsApi } from "../src/index.js"
import { engineLayer, withApi } from "./support.js"
import * as ManagedRuntime from "effect/ManagedRuntime"

/** Every route of DESIGN §5 (the dashboard has its own issue). */
const routes = [
  "get /jobs",
  "post /jobs",
  "delete /jobs",
  "get /jobs/stats",
  "get /jobs/{id}",
  "patch /jobs/{id}",
  "delete /jobs/{id}",
  "post /jobs/{id}/run",
  "post /jobs/{id}/cancel",
  "post /jobs/{id}/retry",
  "post /jobs/{id}/pause",
  "post /jobs/{id}/resume",
  "get /jobs/{id}/items",
  "get /jobs/{id}/logs",
  "get /jobs/{id}/result",
  "get /jobs/{id}/events",
  "get /events",
  "get /results/{resultId}",
  "get /results/{resultId}/job",
  "get /batches/{batchId}",
  "get /schedules",
  "post /schedules",
  "get /schedules/{key}",
  "put /schedules/{key}",
  "delete /schedules/{key}",
  "post /schedules/{key}/pause",
  "post /schedules/{key}/resume",
  "get /job-types",
  "get /openapi.json",
  "get /docs",
  "get /"
]

type Document = {
  openapi: string
  servers: Array<{ url: string }>
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string; in: string; schema?: unknown }>; responses: object }>
  >
  components: { schemas: Record<string, unknown> }
}

/** Every `$ref` in the document, with where it was found. */
const refs = (value: unknown, at = "#"): Array<[string, string]> => {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`))
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "$ref" && typeof inner === "string" ? [[at, inner] as [string, string]] : refs(inner, `${at}/${key}`)
  )
}

const resolves = (document: unknown, ref: string): boolean => {
  if (!ref.startsWith("#/")) return false
  let node: unknown = document
  for (const part of ref.slice(2).split("/")) {
    const key = part.replaceAll("~1", "/").replaceAll("~0", "~")
    if (node === null || typeof node !== "object" || !(key in node)) return false
    node = (node as Record<string, unknown>)[key]
  }
  return true
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document listing every route once, with resolvable references", () =>
    withApi(async ({ app }) => {
      const response = await app.request("/openapi.json")
      expect(response.status).toBe(200)
      const document = (await response.json()) as Document
      expect(document.openapi).toMatch(/^3\.1\./)

      const validator = new Validator()
      const result = await validator.validate(document as never)
      expect(result.errors ?? []).toEqual([])
      expect(result.valid).toBe(true)
      expect(validator.version).toBe("3.1")

      const listed = Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method} ${path}`)
      )
      expect(listed.sort()).toEqual([...routes].sort())

      const broken = refs(document).filter(([, ref]) => !resolves(document, ref))
      expect(broken).toEqual([])
    }))

  it("documents query parameters, bodies and problem responses from the Schemas", () =>
    withApi(async ({ app }) => {
      const document = (await (await app.request("/openapi.json")).json()) as Document
      const list = document.paths["/jobs"]!.get!
      const names = (list.parameters ?? []).map((p) => `${p.in}:${p.name}`)
      for (const name of ["status", "type", "queue", "owner", "tag", "batchId", "q", "limit", "cursor", "withTotal"]) {
        expect(names).toContain(`query:${name}`)
      }
      const create = document.paths["/jobs"]!.post! as unknown as {
        parameters: Array<{ name: string }>
        requestBody: { content: Record<string, unknown> }
        responses: Record<string, { content?: Record<string, unknown> }>
      }
      expect(create.parameters.map((p) => p.name).sort()).toEqual(["startNow", "start_now"])
      expect(Object.keys(create.requestBody.content)).toEqual(["application/json"])
      expect(Object.keys(create.responses["400"]!.content!)).toEqual(["application/problem+json"])
      expect(Object.keys(document.components.schemas)).toEqual(
        expect.arrayContaining(["CreateJob", "CreateMany", "JobView", "Problem", "UpdateJob"])
      )
      const limit = (list.parameters ?? []).find((p) => p.name === "limit")
      expect(limit?.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 })
    }))

  it("names the mount prefix as its server, and renders a reference at /docs", async () => {
    const runtime = ManagedRuntime.make(engineLayer())
    try {
      const host = new Hono().route("/api/v1", JobsApi.make({ runtime }))
      const document = (await (await host.request("/api/v1/openapi.json")).json()) as Document
      expect(document.servers).toEqual([{ url: "/api/v1" }])
      const docs = await host.request("/api/v1/docs")
      expect(docs.status).toBe(200)
      expect(docs.headers.get("content-type")).toContain("text/html")
      expect(await docs.text()).toContain("/api/v1/openapi.json")
    } finally {
      await runtime.dispose()
    }
  })
})
