/**
 * The reference pages of the router: `GET {prefix}` (a small index linking the docs, the OpenAPI document and the
 * jobs), and `GET {prefix}/docs`, a Swagger UI page whose scripts and styles are served by the router itself from the
 * installed `swagger-ui-dist` (pinned), so the docs render with no internet access and no CDN.
 */
import type { Context, Env, Hono, MiddlewareHandler } from "hono"
import type { DescribeRouteOptions } from "hono-openapi"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Path from "node:path"

/** The viewer's files the docs page loads, served under `{prefix}/docs/assets/`. */
export const assets: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8"
}

/** The router's `describeRoute`, so the pages appear in its OpenAPI document. */
export type Describe<E extends Env> = (spec: DescribeRouteOptions) => MiddlewareHandler<E>

const meta = (operationId: string, summary: string, type: string): DescribeRouteOptions => ({
  operationId,
  tags: ["meta"],
  summary,
  responses: { "200": { description: type === "text/html" ? "an HTML page" : "links", content: { [type]: {} } } }
})

const viewerDir = (() => {
  let dir: string | undefined
  return () => (dir ??= Path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json")))
})()

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** The prefix the router is mounted at, from the request path and the route's own path. */
const prefixOf = (c: Context, suffix: string): string => {
  const path = c.req.path.replace(/\/+$/, "")
  return suffix === "" ? path : path.endsWith(suffix) ? path.slice(0, -suffix.length) : ""
}

const docsPage = (title: string, prefix: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="stylesheet" href="${escape(prefix)}/docs/assets/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="${escape(prefix)}/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(`${prefix}/openapi.json`).replace(/</g, "\\u003c")},
  dom_id: "#docs",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false
})
</script>
</body>
</html>
`

/** Adds the index, the docs page and the viewer's assets to the router. */
export const mount = <E extends Env>(app: Hono<E>, describe: Describe<E>, title = "jobloom API"): void => {
  const options = { title }
  app.get(
    "/",
    describe(meta("index", "Links to the docs, the OpenAPI document and the jobs", "application/json")),
    (c) => {
      const prefix = prefixOf(c, "")
      const links = {
        name: options.title,
        docs: `${prefix}/docs`,
        openapi: `${prefix}/openapi.json`,
        jobs: `${prefix}/jobs`,
        jobTypes: `${prefix}/job-types`
      }
      if (!(c.req.header("accept") ?? "").includes("text/html")) return c.json(links)
      const items = Object.entries(links)
        .filter(([key]) => key !== "name")
        .map(([key, href]) => `<li><a href="${escape(href)}">${escape(key)}</a>: ${escape(href)}</li>`)
        .join("\n")
      return c.html(
        `<!doctype html>\n<title>${escape(options.title)}</title>\n<h1>${escape(options.title)}</h1>\n<ul>\n${items}\n</ul>\n`
      )
    }
  )

  for (const path of ["/docs", "/docs/"]) {
    app.get(path, describe(meta("docs", "A rendered reference of this API", "text/html")), (c) =>
      c.html(docsPage(options.title, prefixOf(c, "/docs")))
    )
  }

  app.get("/docs/assets/:file", async (c) => {
    const file = c.req.param("file")
    const type = assets[file]
    if (type === undefined) return c.notFound()
    const body = await Fs.readFile(Path.join(viewerDir(), file))
    return c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=86400" })
  })
}
