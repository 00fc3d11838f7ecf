/**
 * The dashboard (DESIGN §7): a web page to watch and steer jobs, served by the router at `{prefix}/dashboard`, or on
 * a path of its own with `host.route("/ui", Dashboard.make({ api: "/api" }))`.
 *
 * Nothing to build for the host: the page is plain ES modules and CSS shipped in the package's `dashboard/` folder,
 * read relative to this module and served under a strict Content-Security-Policy (no inline script or style, every
 * request to the page's own origin). The page talks to the jobs API only, so what it shows and allows is what the
 * API's `authorize` hook decides.
 *
 * @since 0.1.0
 */
import { JobState } from "@jobloom/core"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"

/** Options of {@link make}. */
export interface Options {
  /**
   * Where the jobs API is mounted, as the browser reaches it (`"/api"`), or how to find it from the path the
   * dashboard is served at.
   */
  readonly api: string | ((mount: string) => string)
  /** The page's title; default "jobloom". */
  readonly title?: string
}

/** The Content-Security-Policy of every dashboard response: the page's own scripts, styles and API only. */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const folder = new URL("../../dashboard/", import.meta.url)

const mediaTypes: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  html: "text/html; charset=utf-8"
}

/** The files the page is made of; nothing else in the folder is served. */
const assetName = /^[a-z][a-z0-9-]*\.(js|css|svg)$/

interface Asset {
  readonly body: string
  readonly etag: string
}

const assets = new Map<string, Promise<Asset | undefined>>()

/** Reads a file of the folder once; undefined when there is no such file. */
const asset = (name: string): Promise<Asset | undefined> => {
  let found = assets.get(name)
  if (found === undefined) {
    found = readFile(new URL(name, folder), "utf8").then(
      (body) => ({ body, etag: `"${createHash("sha1").update(body).digest("base64url")}"` }),
      () => undefined
    )
    assets.set(name, found)
  }
  return found
}

/** The statuses each action is allowed from (the engine's own table), for the page to offer only what can work. */
const allowedFrom = Object.fromEntries(JobState.actions.map((action) => [action, JobState.from(action)]))

const secure = (c: Context) => {
  c.header("content-security-policy", contentSecurityPolicy)
  c.header("x-content-type-options", "nosniff")
  c.header("referrer-policy", "no-referrer")
  c.header("x-frame-options", "DENY")
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!)

/** Builds the dashboard's sub-app: the page at its root, its files under `assets/`. */
export const make = <E extends Env = any>(options: Options): Hono<E> => {
  const app = new Hono<E>({ strict: false })
  const title = options.title ?? "jobloom"

  app.get("/", async (c) => {
    const template = await asset("index.html")
    if (template === undefined) return c.text("the dashboard's files are missing from the package", 500)
    const mount = c.req.path.replace(/\/+$/, "")
    const api = typeof options.api === "string" ? options.api : options.api(mount)
    // handed to the page in an attribute: no inline script for the policy to refuse
    const config = JSON.stringify({ api: api.replace(/\/+$/, ""), title, allowedFrom })
    const html = template.body
      .replaceAll("{{title}}", escapeHtml(title))
      .replaceAll("{{assets}}", escapeHtml(`${mount}/assets`))
      .replace("{{config}}", escapeHtml(config))
    secure(c)
    c.header("cache-control", "no-cache")
    return c.html(html)
  })

  app.get("/assets/:name", async (c) => {
    const name = c.req.param("name")
    const found = assetName.test(name) ? await asset(name) : undefined
    secure(c)
    if (found === undefined) return c.text("not found", 404)
    c.header("etag", found.etag)
    c.header("cache-control", "no-cache")
    if (c.req.header("if-none-match") === found.etag) return c.body(null, 304)
    c.header("content-type", mediaTypes[name.slice(name.lastIndexOf(".") + 1)]!)
    return c.body(found.body)
  })

  return app
}
