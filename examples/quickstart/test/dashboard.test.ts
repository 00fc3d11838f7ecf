// The dashboard in a real headless Chromium (Debian's, driven by playwright-core), against the quickstart server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { Jobs, JobStore, MemoryJobStore } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { createAdaptorServer } from "@hono/node-server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core"
import { request, root, start, stop, waitFor, type Running } from "./ServerProcess.js"

const executablePath = "/usr/bin/chromium"
const screenshots = Path.join(root, "docs", "screenshots")
const expectedErrors = /status of (403|409)|ERR_INCOMPLETE_CHUNKED_ENCODING/

describe("the dashboard in headless Chromium", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-dashboard-"))
  let server: Running
  let browser: Browser
  let dashboard: string
  let api: string
  const contexts: Array<BrowserContext> = []
  const problems: Array<string> = []

  /** A page that records CSP violations, uncaught errors and console errors into `problems`. */
  const open = async (options: { colorScheme?: "light" | "dark"; width?: number; height?: number } = {}) => {
    const context = await browser.newContext({
      viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
      colorScheme: options.colorScheme ?? "light"
    })
    contexts.push(context)
    const page = await context.newPage()
    // injected by the browser itself, so the page's own policy does not apply to it
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        ;(window as any).__violations = [
          ...((window as any).__violations ?? []),
          `${e.violatedDirective} ${e.blockedURI}`
        ]
      })
    })
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`))
    page.on("console", (message) => {
      // the refusals the tests provoke (403, 409), and streams cut when a server stops, are expected
      if (message.type() === "error" && !expectedErrors.test(message.text())) {
        problems.push(`console: ${message.text()}`)
      }
    })
    return page
  }

  const violations = (page: Page) => page.evaluate(() => (window as any).__violations ?? [])

  const createJob = (body: unknown, startNow = true) =>
    request(`${api}/jobs${startNow ? "?startNow=true" : ""}`, { method: "POST", body })

  beforeAll(async () => {
    if (!Fs.existsSync(executablePath)) {
      throw new Error(`${executablePath} is missing: apt-get install -y chromium (.ci/run does it)`)
    }
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: Path.join(dir, "jobloom.db"),
      JOBLOOM_GRACE_PERIOD: "1",
      DATABASE_URL: undefined
    })
    dashboard = (await waitFor(server, /Dashboard:\s+(http:\/\/\S+)/))[1]!
    api = dashboard.replace(/\/dashboard$/, "")
    browser = await chromium.launch({
      executablePath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    })
  })

  afterEach(async () => {
    for (const context of contexts.splice(0)) {
      for (const page of context.pages()) expect(await violations(page)).toEqual([])
      await context.close()
    }
    expect(problems.splice(0)).toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("is served with a strict Content-Security-Policy, from files shipped in the package", async () => {
    const response = await fetch(dashboard)
    expect(response.status).toBe(200)
    const policy = response.headers.get("content-security-policy") ?? ""
    expect(policy).toContain("script-src 'self'")
    expect(policy).toContain("style-src 'self'")
    expect(policy).not.toContain("unsafe-inline")
    const html = await response.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\sstyle=/)
    expect((await fetch(`${dashboard}/assets/app.js`)).headers.get("content-type")).toContain("javascript")
    expect((await fetch(`${dashboard}/assets/..%2Fpackage.json`)).status).toBe(404)
    // the files ship with the package: when it lists its files, the dashboard folder is among them
    const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "packages/http/package.json"), "utf8"))
    if (manifest.files !== undefined) expect(manifest.files).toContain("dashboard")
  })

  it("shows a list of 50 jobs, interactive, and logs how long that took", async () => {
    await request(`${api}/jobs`, {
      method: "POST",
      body: {
        jobs: Array.from({ length: 50 }, (_, i) => ({ type: "delay", params: { seconds: 1 }, name: `budget ${i}` }))
      }
    })
    const page = await open()
    const started = Date.now()
    await page.goto(dashboard)
    await page.waitForFunction(() => document.querySelectorAll("table[data-loaded] tbody tr").length === 50)
    await page.locator("tbody tr a.job-link").first().click({ trial: true })
    const wall = Date.now() - started
    const sincePageStart = await page.evaluate(() => Math.round(performance.now()))
    console.log(
      `dashboard page-load budget: list of 50 jobs interactive ${wall} ms after goto (${sincePageStart} ms by the page's clock)`
    )
    expect(await page.locator(".counts .count").count()).toBe(11)
    expect(await page.locator(".counts .count-created b").textContent()).toBe("50")
  })

  it("creates an ml job from its params form and shows its stage bars and log lines advancing without a reload", async () => {
    const page = await open()
    await page.goto(`${dashboard}#/new?type=ml`)
    await page.locator("[data-param=images] input").fill("48")
    await page.locator("[data-param=batchSize] input").fill("2")
    await page.locator("#job-tags").fill("watched, demo")
    await page.getByRole("button", { name: "Create job" }).click()
    await page.waitForURL(/#\/jobs\//)
    const id = page.url().split("#/jobs/")[1]!
    // a reload would lose this mark
    await page.evaluate(() => ((window as any).__mark = "kept"))

    const processBar = page.locator('.stage[data-stage="process"] [role=progressbar]')
    const seen = new Set<number>()
    const lineCounts = new Set<number>()
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      seen.add(Number(await processBar.getAttribute("aria-valuenow")))
      lineCounts.add(await page.locator(".log .line").count())
      if ((await page.locator("h1 .chip").textContent()) === "SUCCEEDED") break
      await page.waitForTimeout(150)
    }
    expect(await page.locator("h1 .chip").textContent()).toBe("SUCCEEDED")
    // the bar went through values between empty and full while the page stayed loaded
    expect([...seen].filter((v) => v > 0 && v < 100).length).toBeGreaterThanOrEqual(2)
    expect(Math.max(...lineCounts)).toBeGreaterThan(Math.min(...lineCounts))
    expect(await page.evaluate(() => (window as any).__mark)).toBe("kept")
    expect(await page.locator('.stage[data-stage="process"] dt').allTextContents()).toEqual([
      "Processed",
      "Remaining",
      "Failed"
    ])
    await page.locator(".result").waitFor()
    expect(JSON.parse((await page.locator(".result").textContent())!)).toMatchObject({ captures: expect.any(Number) })
    expect(await page.locator(".log .line").first().textContent()).toBeTruthy()
    const job = await request(`${api}/jobs/${id}`)
    expect(job).toMatchObject({ type: "ml", status: "SUCCEEDED", tags: ["watched", "demo"], params: { images: 48 } })
  })

  it("cancels a running data_storage_sync job from its page with the keyboard, shows CANCELLED, and retries it", async () => {
    const job = await createJob({ type: "data_storage_sync", params: { files: 200_000 } })
    const page = await open()
    await page.goto(`${dashboard}#/jobs/${job.id}`)
    await page.locator("h1 .chip", { hasText: "RUNNING" }).waitFor()
    await page.locator('.stage[data-stage="data_storage_sync"] dd', { hasText: /^[1-9]/ }).waitFor()
    // reach the Cancel button by tabbing, as a keyboard user would
    let focused = ""
    for (let i = 0; i < 30 && focused !== "cancel"; i++) {
      await page.keyboard.press("Tab")
      focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset?.action ?? "")
    }
    expect(focused).toBe("cancel")
    await page.keyboard.press("Enter")
    await page.locator("h1 .chip", { hasText: "CANCELLED" }).waitFor()
    expect(await page.locator(".actions button").allTextContents()).toEqual(["Retry", "Delete"])
    await page.getByRole("button", { name: "Retry" }).click()
    await page.locator("h1 .chip", { hasText: /QUEUED|RUNNING/ }).waitFor()
    await page.locator("h1 .chip", { hasText: "RUNNING" }).waitFor()
    expect((await request(`${api}/jobs/${job.id}`)).status).toBe("RUNNING")
    await page.getByRole("button", { name: "Cancel" }).click()
    await page.locator("h1 .chip", { hasText: "CANCELLED" }).waitFor()
  })

  it("filters the list by status on the server", async () => {
    const page = await open()
    await page.goto(dashboard)
    await page.locator("table[data-loaded]").waitFor()
    await page.locator("select[name=status]").selectOption("CANCELLED")
    await page.waitForURL(/status=CANCELLED/)
    await page.waitForFunction(() => document.querySelector("table[data-loaded] tbody tr") !== null)
    const shown = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.status))
    const expected = await request(`${api}/jobs?status=CANCELLED`)
    expect(shown.length).toBe(expected.items.length)
    expect(new Set(shown)).toEqual(new Set(["CANCELLED"]))
    await page.locator("select[name=status]").selectOption("active")
    await page.waitForURL(/status=active/)
    await page.waitForFunction(() => document.querySelectorAll("table[data-loaded] tbody tr").length > 0)
    const active = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.status))
    expect(active.every((s) => !["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(s!))).toBe(true)
  })

  /** A small host app of its own: the jobs API over a memory store with the given options, served on a free port. */
  const withHost = async (
    options: Omit<JobsApi.Options, "runtime">,
    f: (
      base: string,
      run: <A, E>(effect: Effect.Effect<A, E, Jobs.Jobs | JobStore.JobStore>) => Promise<A>
    ) => Promise<void>
  ) => {
    const runtime = ManagedRuntime.make(Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer)))
    const host = new Hono()
    host.route("/api", JobsApi.make({ runtime, ...options }))
    const http = createAdaptorServer({ fetch: host.fetch }) as Http.Server
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    try {
      await f(`http://127.0.0.1:${(http.address() as AddressInfo).port}/api`, (effect) => runtime.runPromise(effect))
    } finally {
      http.close()
      http.closeAllConnections()
      await runtime.dispose()
    }
  }

  it("hides delete from a user whom authorize denies it, and the forged request is a 403", () =>
    withHost({ authorize: (action) => action !== "delete" }, async (base) => {
      const job = await request(`${base}/jobs`, { method: "POST", body: { type: "delay", params: { seconds: 1 } } })
      await request(`${base}/jobs/${job.id}/cancel`, { method: "POST" })
      const page = await open()
      await page.goto(`${base}/dashboard#/jobs/${job.id}`)
      await page.locator("h1 .chip", { hasText: "CANCELLED" }).waitFor()
      expect(await page.locator(".actions button").allTextContents()).toEqual(["Retry"])
      const forged = await page.evaluate(
        async (url) => (await fetch(url, { method: "DELETE" })).status,
        `${base}/jobs/${job.id}`
      )
      expect(forged).toBe(403)
      expect((await request(`${base}/jobs/${job.id}`)).status).toBe("CANCELLED")
    }))

  it("shows the API's error, naming the current status, when an action is refused", () =>
    // the page polls the job rarely here, so it does not hear of a change made past the engine (another process)
    withHost({ pollInterval: "1 hour" }, async (base, run) => {
      const job = await request(`${base}/jobs`, { method: "POST", body: { type: "delay", params: { seconds: 1 } } })
      const page = await open()
      await page.goto(`${base}/dashboard#/jobs/${job.id}`)
      await page.getByRole("button", { name: "Run" }).waitFor()
      await run(
        Effect.flatMap(JobStore.JobStore, (store) =>
          store.update({ id: job.id, from: ["CREATED"], patch: { status: "QUEUED" }, now: Date.now() })
        )
      )
      await page.getByRole("button", { name: "Run" }).click()
      await expect
        .poll(() => page.locator(".actions + .error-text").textContent())
        .toMatch(/^409 .*current status QUEUED/)
    }))

  it("fits a phone-width screen and switches theme with its toggle", async () => {
    await createJob({ type: "delay", params: { seconds: 0 }, tags: ["phone"] })
    const page = await open({ width: 390, height: 844 })
    await page.goto(dashboard)
    await page.locator("table[data-loaded] tbody tr").first().waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(await page.locator("th.wide").first().isVisible()).toBe(false)
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
    const light = await background()
    await page.getByRole("button", { name: /Theme/ }).click() // auto → light
    await page.getByRole("button", { name: /Theme/ }).click() // light → dark
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark")
    expect(await background()).not.toBe(light)
  })

  it("takes screenshots of the list and of a job's page, light and dark", async () => {
    const ml = await createJob({ type: "ml", params: { images: 400, batchSize: 4, failureRate: 0.2 }, tags: ["demo"] })
    await createJob({ type: "data_storage_sync", params: { files: 50_000 }, tags: ["nightly"] })
    await createJob({ type: "ml", params: { images: 4, failureRate: 1 }, owner: "station-7" })
    Fs.mkdirSync(screenshots, { recursive: true })
    for (const colorScheme of ["light", "dark"] as const) {
      const page = await open({ colorScheme, height: 900 })
      await page.goto(dashboard)
      await page.locator("table[data-loaded] tbody tr").first().waitFor()
      await page.waitForTimeout(1500)
      await page.screenshot({ path: Path.join(screenshots, `list-${colorScheme}.png`) })
      await page.goto(`${dashboard}#/jobs/${ml.id}`)
      await page.locator('.stage[data-stage="process"]').waitFor()
      await page.locator(".log .line").nth(5).waitFor()
      await page.screenshot({ path: Path.join(screenshots, `job-${colorScheme}.png`), fullPage: true })
    }
    for (const name of ["list-light", "list-dark", "job-light", "job-dark"]) {
      expect(Fs.statSync(Path.join(screenshots, `${name}.png`)).size).toBeGreaterThan(10_000)
    }
  })
})
