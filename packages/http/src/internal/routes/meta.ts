/**
 * What the router says about itself: the registered job types (`GET /job-types`), its OpenAPI document
 * (`GET /openapi.json`, one per mount prefix), the index and docs pages, and the dashboard at `/dashboard`.
 */
import type { Context, Env } from "hono"
import { generateSpecs } from "hono-openapi"
import * as Effect from "effect/Effect"
import * as Dashboard from "../../dashboard/Dashboard.js"
import { body, describe, paths, problems } from "../describe.js"
import * as Docs from "../docs.js"
import type { Router } from "../router.js"
import * as Schemas from "../schemas.js"

/** Adds the job types, the document, the docs pages and the dashboard. */
export const mount = <E extends Env>({ app, exec, guard, options }: Router<E>): void => {
  app.on(
    "GET",
    paths("/job-types"),
    describe({
      operationId: "listJobTypes",
      tags: ["job types"],
      summary: "Registered job types with their stages and params JSON Schema",
      responses: { ...body("the job types", Schemas.JobTypeList), ...problems(403) }
    }),
    async (c) => {
      await guard(c, "view")
      return c.json({ items: await exec((jobs) => Effect.sync(() => jobs.types())) })
    }
  )

  const documents = new Map<string, Promise<unknown>>()
  app.on(
    "GET",
    paths("/openapi.json"),
    describe({
      operationId: "openApi",
      tags: ["meta"],
      summary: "This OpenAPI 3.1 document",
      responses: { "200": { description: "the document", content: { "application/json": {} } } }
    }),
    async (c) => {
      const base = basePath(c, "/openapi.json")
      let document = documents.get(base)
      if (document === undefined) {
        document = generateSpecs(
          app,
          {
            documentation: {
              info: {
                title: options.info?.title ?? "jobloom",
                version: options.info?.version ?? "0.1.0",
                description: options.info?.description ?? "Jobs: create, watch, run, cancel, retry, pause and resume."
              },
              servers: [{ url: base === "" ? "/" : base }]
            },
            // every route is also registered with a trailing slash; the document lists each once
            exclude: [/.\/$/],
            excludeStaticFile: false,
            defaultValidationErrorResponse: false
          },
          c
        )
        document.catch(() => documents.delete(base))
        documents.set(base, document)
      }
      return c.json(await document)
    }
  )

  Docs.mount(app, describe, options.info?.title)

  // the dashboard page talks to this router, wherever the host mounted it
  if (options.dashboard !== false) {
    const dashboard = Dashboard.make<E>({
      api: (mount) => mount.slice(0, mount.length - "/dashboard".length),
      ...(options.info?.title === undefined ? {} : { title: options.info.title })
    })
    for (const path of paths("/dashboard")) app.route(path, dashboard)
  }
}

/** The mount prefix, from the request path and the route's own path. */
const basePath = (c: Context, suffix: string): string => {
  const path = c.req.path.replace(/\/+$/, "")
  return path.endsWith(suffix) ? path.slice(0, -suffix.length) : ""
}
