import { describe, expect, it } from "@effect/vitest"
import { Hono } from "hono"
import { Dashboard } from "../src/index.js"
import { withApi } from "./support.js"

/** The page's settings, read back from its meta tag as the browser would. */
const configOf = (html: string) => {
  const attribute = html.match(/<meta name="jobloom-config" content="([^"]*)"/)?.[1] ?? ""
  const text = attribute
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
  return JSON.parse(text.replace(/&amp;/g, "&"))
}

describe("the dashboard", () => {
  it("is served by the router at /dashboard, with or without a trailing slash, under a strict policy", () =>
    withApi(async ({ app }) => {
      const host = new Hono().route("/api/v1", app)
      for (const path of ["/api/v1/dashboard", "/api/v1/dashboard/"]) {
        const response = await host.request(path)
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toContain("text/html")
        const policy = response.headers.get("content-security-policy")
        expect(policy).toBe(Dashboard.contentSecurityPolicy)
        expect(policy).toContain("default-src 'none'")
        expect(policy).not.toContain("unsafe")
        const html = await response.text()
        // every script is a file of the page's own; no inline script or style
        expect(html).toContain('<script type="module" src="/api/v1/dashboard/assets/app.js"></script>')
        expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
        expect(html).not.toMatch(/<style|\sstyle=/)
        expect(configOf(html).api).toBe("/api/v1")
      }
    }))

  it("tells the page which statuses each action is allowed from, from the engine's own table", () =>
    withApi(async ({ app }) => {
      const config = configOf(await (await app.request("/dashboard")).text())
      expect(config.api).toBe("")
      expect(config.allowedFrom.run).toEqual(["CREATED"])
      expect(config.allowedFrom.retry).toEqual(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"])
      expect(config.allowedFrom.delete).toContain("CREATED")
      expect(config.allowedFrom.delete).not.toContain("RUNNING")
      // the pause button shows on a RUNNING job too (it becomes PAUSING), resume only on a PAUSED one
      expect(config.allowedFrom.pause).toEqual(["QUEUED", "RUNNING"])
      expect(config.allowedFrom.resume).toEqual(["PAUSED"])
      expect(config.allowedFrom.cancel).toContain("PAUSING")
    }))

  it("serves its files with their media types and revalidation, and nothing else", () =>
    withApi(async ({ app }) => {
      const script = await app.request("/dashboard/assets/app.js")
      expect(script.status).toBe(200)
      expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      expect(script.headers.get("content-security-policy")).toBe(Dashboard.contentSecurityPolicy)
      expect(await script.text()).toContain("hashchange")
      const etag = script.headers.get("etag")!
      expect((await app.request("/dashboard/assets/app.js", { headers: { "if-none-match": etag } })).status).toBe(304)
      // three style sheets, linked in the order of their cascade
      const page = await (await app.request("/dashboard")).text()
      const sheets = [...page.matchAll(/<link rel="stylesheet" href="\/dashboard\/assets\/([\w-]+\.css)"/g)].map(
        (m) => m[1]
      )
      expect(sheets).toEqual(["style.css", "table.css", "pages.css"])
      for (const sheet of sheets) {
        const css = await app.request(`/dashboard/assets/${sheet}`)
        expect(css.headers.get("content-type")).toContain("text/css")
        expect(await css.text()).toMatch(/\{[^}]+\}/)
      }
      for (const path of ["/dashboard/assets/index.html", "/dashboard/assets/nope.js", "/dashboard/assets/..%2Fsrc"]) {
        expect((await app.request(path)).status).toBe(404)
      }
    }))

  it("is left out when the router is made with dashboard: false", () =>
    withApi(
      async ({ app }) => {
        expect((await app.request("/dashboard")).status).toBe(404)
        expect((await app.request("/dashboard/assets/app.js")).status).toBe(404)
      },
      { dashboard: false }
    ))

  it("mounts on a path of its own, pointed at the API", async () => {
    const host = new Hono().route("/ui", Dashboard.make({ api: "/jobs-api/", title: "Ops <jobs>" }))
    const html = await (await host.request("/ui")).text()
    expect(configOf(html)).toMatchObject({ api: "/jobs-api", title: "Ops <jobs>" })
    expect(html).toContain("<title>Ops &lt;jobs&gt;</title>")
    expect(html).toContain('href="/ui/assets/style.css"')
    expect((await host.request("/ui/assets/list.js")).status).toBe(200)
  })
})
