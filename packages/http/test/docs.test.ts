import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createAdaptorServer } from "@hono/node-server"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { chromium, type Browser } from "playwright-core"
import { JobsApi } from "../src/index.js"
import { engineLayer } from "./support.js"

const runtime = ManagedRuntime.make(engineLayer())
const host = new Hono().route("/api/v1", JobsApi.make({ runtime }))
afterAll(() => runtime.dispose())

describe("GET {prefix}: the index", () => {
  it("answers links to the docs, the OpenAPI document and the jobs (JSON by default)", async () => {
    const response = await host.request("/api/v1")
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      docs: "/api/v1/docs",
      openapi: "/api/v1/openapi.json",
      jobs: "/api/v1/jobs",
      jobTypes: "/api/v1/job-types"
    })
  })

  it("answers a browser with an HTML page of the same links", async () => {
    const response = await host.request("/api/v1", { headers: { accept: "text/html,application/xhtml+xml" } })
    expect(response.headers.get("content-type")).toContain("text/html")
    const html = await response.text()
    expect(html).toContain('<a href="/api/v1/docs">docs</a>')
    expect(html).toContain('<a href="/api/v1/openapi.json">openapi</a>')
  })
})

describe("GET {prefix}/docs", () => {
  it("loads its viewer from the router, never from another origin", async () => {
    const html = await (await host.request("/api/v1/docs")).text()
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(sources).toEqual(["/api/v1/docs/assets/swagger-ui.css", "/api/v1/docs/assets/swagger-ui-bundle.js"])
    expect(html).not.toMatch(/https?:\/\//)
  })

  it("serves the viewer's files from the installed package, and nothing else", async () => {
    const script = await host.request("/api/v1/docs/assets/swagger-ui-bundle.js")
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toContain("text/javascript")
    expect((await script.text()).length).toBeGreaterThan(100_000)
    const css = await host.request("/api/v1/docs/assets/swagger-ui.css")
    expect(css.headers.get("content-type")).toContain("text/css")
    expect((await host.request("/api/v1/docs/assets/..%2Fpackage.json")).status).toBe(404)
    expect((await host.request("/api/v1/docs/assets/index.html")).status).toBe(404)
  })
})

// Debian's Chromium through playwright-core (no browser download); `.ci/run` installs it when missing
describe("the docs page in headless Chromium with the network blocked", () => {
  let server: Http.Server
  let base: string
  let browser: Browser

  beforeAll(async () => {
    server = createAdaptorServer({ fetch: host.fetch }) as Http.Server
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await chromium.launch({
      executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
  })

  it("renders every route of the API", async () => {
    const context = await browser.newContext()
    const blocked: Array<string> = []
    // everything but the jobloom server is cut off, as on a machine without internet
    await context.route("**/*", (route) => {
      const url = route.request().url()
      if (url.startsWith(base)) return route.continue()
      blocked.push(url)
      return route.abort("internetdisconnected")
    })
    const page = await context.newPage()
    await page.goto(`${base}/api/v1/docs`)
    await page.waitForSelector(".opblock-summary-path", { timeout: 30_000 })
    const paths = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.textContent ?? ""))
    for (const path of ["/jobs", "/jobs/{id}", "/jobs/{id}/cancel", "/jobs/{id}/events", "/job-types"]) {
      expect(paths.map((p) => p.replace(/\u200b/g, ""))).toContain(path)
    }
    expect(await page.title()).toBe("jobloom API")
    expect(blocked).toEqual([])
    await context.close()
  }, 60_000)
})
