import { Jobloom, MemoryJobStore } from "@jobloom/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { start, stop, waitFor } from "../../quickstart/test/ServerProcess.js"
import { jobsPrefix, makeApp, type JobView } from "../src/app.js"

describe("mount-router example", () => {
  let jobloom: Jobloom.Jobloom
  let app: ReturnType<typeof makeApp>

  beforeAll(async () => {
    jobloom = await Jobloom.make({ store: MemoryJobStore.layer })
    app = makeApp(jobloom)
  })
  afterAll(() => jobloom.close())

  const call = async (token: string | null, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (token !== null) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers["content-type"] = "application/json"
    const response = await app.request(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? null : JSON.parse(text) }
  }
  const jobs = `${jobsPrefix}/jobs`
  const createAs = (token: string, owner: string) =>
    call(token, "POST", jobs, { type: "delay", params: { seconds: 60 }, owner })

  it("keeps the app's own routes: public health, authenticated /v1", async () => {
    expect(await call(null, "GET", "/health")).toEqual({ status: 200, body: { ok: true } })
    expect((await call(null, "GET", "/v1/me")).status).toBe(401)
    expect((await call(null, "GET", jobs + "?owner=vermont")).status).toBe(401)
    expect((await call("token-bob", "GET", "/v1/me")).body).toMatchObject({ name: "bob", role: "member" })
  })

  it("serves the jobs API and its docs under the app's prefix", async () => {
    const types = await call("token-carol", "GET", `${jobsPrefix}/job-types`)
    expect(types.status).toBe(200)
    expect(types.body.items.map((t: { key: string }) => t.key)).toContain("delay")
    const openapi = await call("token-carol", "GET", `${jobsPrefix}/openapi.json`)
    expect(openapi.body.info.title).toBe("Acme jobs")
    expect((await app.request(`${jobsPrefix}/docs`, { headers: { authorization: "Bearer token-carol" } })).status).toBe(
      200
    )
  })

  it("lets a member create, run and cancel their project's jobs, but not delete them", async () => {
    const created = await createAs("token-bob", "vermont")
    expect(created.status).toBe(201)
    const job: JobView = created.body
    expect(job.userPermissions).toEqual(["edit", "run", "cancel", "retry", "pause", "resume"])
    expect((await call("token-bob", "POST", `${jobs}/${job.id}/run`)).body.status).toBe("QUEUED")
    expect((await call("token-bob", "POST", `${jobs}/${job.id}/cancel`)).status).toBe(200)
    const denied = await call("token-bob", "DELETE", `${jobs}/${job.id}?force=true`)
    expect(denied.status).toBe(403)
    expect(denied.body.status).toBe(403)
    expect((await call("token-alice", "DELETE", `${jobs}/${job.id}?force=true`)).status).toBe(204)
  })

  it("hides other projects' jobs (404) and refuses to create jobs for them", async () => {
    const { body: job } = await createAs("token-dave", "costa-rica")
    await createAs("token-bob", "vermont")
    expect((await call("token-bob", "GET", `${jobs}/${job.id}`)).status).toBe(404)
    expect((await call("token-bob", "POST", `${jobs}/${job.id}/cancel`)).status).toBe(404)
    const foreign = await createAs("token-bob", "costa-rica")
    expect(foreign.status).toBe(400)
    expect(foreign.body.errors).toEqual([{ path: "owner", message: "is not one of your owners" }])
    const mine = await call("token-bob", "GET", jobs)
    expect(mine.status).toBe(200)
    expect(mine.body.items.length).toBeGreaterThan(0)
    expect(mine.body.items.every((j: JobView) => j.owner === "vermont")).toBe(true)
    const theirs = await call("token-bob", "GET", `${jobs}?owner=costa-rica&withTotal=true`)
    expect(theirs.body).toEqual({ items: [], nextCursor: null, total: 0 })
    // an admin sees everything
    const all = await call("token-alice", "GET", jobs)
    expect(all.body.items.map((j: JobView) => j.id)).toContain(job.id)
  })

  it("creates a member's job for their project when no owner is given", async () => {
    const created = await call("token-dave", "POST", jobs, { type: "delay", params: { seconds: 60 } })
    expect(created.status).toBe(201)
    expect(created.body.owner).toBe("costa-rica")
  })

  it("guards the trailing-slash forms of every collection path like the bare ones", async () => {
    await createAs("token-bob", "vermont")
    for (const path of [`${jobs}/`, `${jobs}//`, `${jobsPrefix}/jobs/stats/`, `${jobsPrefix}/job-types/`]) {
      expect((await call(null, "GET", path)).status, `GET ${path} without a token`).toBe(401)
    }
    const listed = await call("token-dave", "GET", `${jobs}/`)
    expect(listed.status).toBe(200)
    expect(listed.body.items.every((j: JobView) => j.owner === "costa-rica")).toBe(true)
    const stats = await call("token-dave", "GET", `${jobsPrefix}/jobs/stats/`)
    expect(stats.status).toBe(200)
    const daves = await call("token-dave", "GET", `${jobs}?withTotal=true`)
    expect(stats.body.total).toBe(daves.body.total)
    // the host's own rule (viewers never write) holds with the slash too
    const viewerPost = await call("token-carol", "POST", `${jobs}/`, { type: "delay", owner: "vermont" })
    expect(viewerPost).toEqual({ status: 403, body: { error: "viewers only look" } })
    const foreign = await call("token-bob", "POST", `${jobs}/`, { type: "delay", owner: "costa-rica" })
    expect(foreign.status).toBe(400)
    const bulk = await call("token-bob", "DELETE", `${jobs}/?all=true`)
    expect(bulk.status).toBe(403)
  })

  it("lets a viewer look but not act", async () => {
    const { body: job } = await createAs("token-bob", "vermont")
    const seen = await call("token-carol", "GET", `${jobs}/${job.id}`)
    expect(seen.status).toBe(200)
    expect(seen.body.userPermissions).toEqual([])
    expect((await call("token-carol", "POST", `${jobs}/${job.id}/run`)).status).toBe(403)
    expect(await call("token-carol", "POST", jobs, { type: "delay", owner: "vermont" })).toEqual({
      status: 403,
      body: { error: "viewers only look" }
    })
  })

  it("answers its own route from the same jobloom", async () => {
    const summary = await call("token-dave", "GET", "/v1/projects/costa-rica/summary")
    expect(summary.status).toBe(200)
    expect(summary.body.jobs).toBeGreaterThanOrEqual(1)
    expect((await call("token-dave", "GET", "/v1/projects/vermont/summary")).status).toBe(403)
  })

  it("runs as a server process and exits 0 on SIGTERM", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-mount-router-"))
    const server = start("examples/mount-router/src/main.ts", { PORT: "0", JOBLOOM_DB: Path.join(dir, "jobs.db") })
    try {
      const [, base] = await waitFor(server, /listening on (http:\/\/\S+),/)
      const response = await fetch(`${base}${jobsPrefix}/jobs?startNow=true`, {
        method: "POST",
        headers: { authorization: "Bearer token-bob", "content-type": "application/json" },
        body: JSON.stringify({ type: "delay", params: { seconds: 0 }, owner: "vermont" })
      })
      expect(response.status).toBe(201)
      expect(await stop(server, "SIGTERM")).toBe(0)
    } finally {
      await stop(server, "SIGKILL")
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
