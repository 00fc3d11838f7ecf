import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { unzipSync, strFromU8 } from "fflate"
import { Hono } from "hono"
import { SuperaiApi } from "../src/index.js"
import { compatRuntime, poll } from "./itemCompatSupport.js"

const runtime = compatRuntime()
const delivered: Array<{ url: string; body: any }> = []
let app: Hono

beforeAll(() => {
  app = new Hono()
  app.route(
    "/v1",
    SuperaiApi.make({
      runtime,
      jobType: "words",
      callbacks: {
        batchUrl: "https://hooks.example/batches",
        deliver: async (url, body) => void delivered.push({ url, body })
      }
    })
  )
})
afterAll(() => runtime.dispose())

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await app.request(`/v1${path}`, {
    method,
    headers: { "API-KEY": "key-1", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : (JSON.parse(text) as any) }
}
const appId = () => `app-${Math.random().toString(36).slice(2)}`
const finished = (id: string) =>
  poll(
    () => call("GET", `/jobs/${id}`),
    (r) => r.body.completed !== null
  )

describe("super.AI router: create, fetch, response", () => {
  it("creates one job per input in one batch, with the uuid when there was one input", async () => {
    const app1 = appId()
    const one = await call("POST", `/apps/${app1}/jobs`, {
      callbackUrl: "https://hooks.example/jobs",
      inputs: [{ text: "one two" }],
      metadata: { external: "e1" },
      tags: ["t1"]
    })
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({
      message: "1 job submitted",
      batchId: expect.any(String),
      uuid: expect.any(String)
    })
    const job = await finished(one.body.uuid)
    expect(job.body).toEqual({
      id: one.body.uuid,
      uuid: one.body.uuid,
      created: expect.any(String),
      completed: expect.any(String),
      callbackUrl: "https://hooks.example/jobs",
      appId: app1,
      status: "COMPLETED",
      input: { text: "one two" },
      metadata: { external: "e1" },
      tags: ["t1"],
      correct: null,
      jobType: "DEFAULT",
      batchId: one.body.batchId
    })
    expect("response" in job.body).toBe(false)
    const response = await call("GET", `/jobs/${one.body.uuid}/response`)
    expect(response.body).toMatchObject({ status: "COMPLETED", response: { words: 2 } })
    const many = await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "a" }, { text: "b c" }, { text: "d" }] })
    expect(many.body.uuid).toBeUndefined()
    const list = await call("GET", `/apps/${app1}/jobs?batchId=${many.body.batchId}&size=10`)
    expect(list.body.total).toBe(3)
  })

  it("a FAIL input ends FAILED; a pending job is parked as PENDING until released or cancelled", async () => {
    const app1 = appId()
    const bad = await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "FAIL" }] })
    const failed = await finished(bad.body.uuid)
    expect(failed.body.status).toBe("FAILED")
    const parked = await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "x y z" }], pending: true })
    expect((await call("GET", `/jobs/${parked.body.uuid}`)).body.status).toBe("PENDING")
    const released = await call("POST", `/jobs/${parked.body.uuid}/release`)
    expect(released.status).toBe(200)
    expect((await finished(parked.body.uuid)).body.status).toBe("COMPLETED")
    const other = await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "x" }], pending: true })
    const cancelled = await call("POST", `/jobs/${other.body.uuid}/cancel`)
    expect(cancelled.body).toMatchObject({ status: "CANCELED", completed: expect.any(String) })
    const again = await call("POST", `/jobs/${other.body.uuid}/cancel`)
    expect(again.status).toBe(409)
    expect(again.body.message).toContain("CANCELED")
  })

  it("refuses bad bodies with a message, a missing key with 401 (never Token is expired.), unknown ids with 404", async () => {
    for (const body of [
      {},
      { inputs: [] },
      { inputs: ["x"] },
      { inputs: [{}], callbackUrl: "ftp://x" },
      { inputsFileUrl: "https://x/f.csv" }
    ]) {
      const answer = await call("POST", `/apps/${appId()}/jobs`, body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(typeof answer.body.message).toBe("string")
    }
    const response = await app.request("/v1/jobs/01900000-0000-7000-8000-000000000000")
    expect(response.status).toBe(401)
    expect((await response.json()).message).not.toBe("Token is expired.")
    expect((await call("GET", "/jobs/01900000-0000-7000-8000-000000000000")).status).toBe(404)
    expect((await call("GET", `/apps/${appId()}/jobs?statusIn=DONE`)).status).toBe(400)
    expect((await call("GET", `/apps/${appId()}/jobs?page=-1`)).status).toBe(400)
  })
})

describe("super.AI router: scope", () => {
  it("hides a job outside the request's scope: a 404 by id, not listed or counted, no batch", async () => {
    const scoped = new Hono()
    scoped.route(
      "/v1",
      SuperaiApi.make({
        runtime,
        jobType: "words",
        callbacks: { enabled: false },
        // the host's scope from the request: here a header naming the one owner (app) it may see
        scope: (c) => ({ owners: [c.req.header("x-scope") ?? ""] })
      })
    )
    const request = async (method: string, path: string, scope: string, body?: unknown) => {
      const response = await scoped.request(`/v1${path}`, {
        method,
        headers: {
          "API-KEY": "key-1",
          "x-scope": scope,
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      return { status: response.status, body: (await response.json()) as any }
    }
    const app = appId()
    const created = await request("POST", `/apps/${app}/jobs`, app, { inputs: [{ text: "a b" }] })
    expect(created.status).toBe(200)
    const id = created.body.uuid
    expect((await request("GET", `/jobs/${id}`, app)).status).toBe(200)
    const listed = await request("GET", `/apps/${app}/jobs`, app)
    expect([listed.body.total, listed.body.jobs.map((j: any) => j.id)]).toEqual([1, [id]])

    expect(await request("GET", `/jobs/${id}`, "elsewhere")).toEqual({
      status: 404,
      body: { message: `job ${id} not found` }
    })
    expect((await request("GET", `/jobs/${id}/response`, "elsewhere")).status).toBe(404)
    expect((await request("POST", `/jobs/${id}/cancel`, "elsewhere")).status).toBe(404)
    const hidden = await request("GET", `/apps/${app}/jobs`, "elsewhere")
    expect([hidden.status, hidden.body.total, hidden.body.jobs]).toEqual([200, 0, []])
    expect((await request("GET", `/apps/${app}/batches/${created.body.batchId}`, "elsewhere")).status).toBe(404)
    const refused = await request("POST", `/apps/${app}/jobs`, "elsewhere", { inputs: [{ text: "c" }] })
    // the engine refuses a job whose owner is outside the scope, naming the field
    expect(refused.status).toBe(400)
    expect(refused.body.message).toContain("owner")
  })
})

describe("super.AI router: list, review, tags, batches", () => {
  it("lists with the envelope, 0-based pages, repeated statusIn, tags, correct and dates", async () => {
    const app1 = appId()
    await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "a" }, { text: "b" }, { text: "FAIL" }], tags: ["x"] })
    await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "c" }], pending: true, tags: ["y"] })
    await poll(
      () => call("GET", `/apps/${app1}/jobs?statusIn=COMPLETED&statusIn=FAILED`),
      (r) => r.body.total === 3
    )
    const first = await call("GET", `/apps/${app1}/jobs?page=0&size=3&sortBy=id&orderBy=asc`)
    expect(first.body).toMatchObject({ total: 4, pageSize: 3, pageNumber: 0, pages: 2 })
    expect(first.body.jobs).toHaveLength(3)
    const second = await call("GET", `/apps/${app1}/jobs?page=1&size=3&sortBy=id&orderBy=asc`)
    expect(second.body.jobs.map((j: any) => j.status)).toEqual(["PENDING"])
    const failed = await call("GET", `/apps/${app1}/jobs?statusIn=FAILED`)
    expect(failed.body.jobs.map((j: any) => j.input)).toEqual([{ text: "FAIL" }])
    expect((await call("GET", `/apps/${app1}/jobs?tags=y`)).body.total).toBe(1)
    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 19) + "Z"
    expect((await call("GET", `/apps/${app1}/jobs?createdStartDate=${since}`)).body.total).toBe(4)
    expect((await call("GET", `/apps/${app1}/jobs?completedStartDate=${since}`)).body.total).toBe(3)
    const done = first.body.jobs.find((j: any) => j.status === "COMPLETED")
    const reviewed = await call("PATCH", `/jobs/${done.id}/review`, { correct: false, response: { words: 9 } })
    expect(reviewed.body).toMatchObject({ correct: false, metadata: null })
    expect((await call("GET", `/jobs/${done.id}/response`)).body.response).toEqual({ words: 9 })
    expect((await call("GET", `/apps/${app1}/jobs?correct=false`)).body.total).toBe(1)
    const pending = second.body.jobs[0]
    expect((await call("PATCH", `/jobs/${pending.id}/review`, { correct: true })).status).toBe(409)
    const other = await call("GET", `/apps/${appId()}/jobs`)
    expect(other.body).toEqual({ jobs: [], total: 0, pageSize: 10, pageNumber: 0, pages: 0 })
  })

  it("adds tags with PUT and removes them with a DELETE carrying a JSON body", async () => {
    const app1 = appId()
    const created = await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "a" }, { text: "b" }], tags: ["keep"] })
    const put = await call("PUT", `/apps/${app1}/jobs/tags?batchId=${created.body.batchId}`, { tags: ["new"] })
    expect(put.body.count).toBe(2)
    expect((await call("GET", `/apps/${app1}/jobs?tags=new`)).body.total).toBe(2)
    const removed = await call("DELETE", `/apps/${app1}/jobs/tags`, { tags: ["keep"] })
    expect(removed.body.count).toBe(2)
    const jobs = (await call("GET", `/apps/${app1}/jobs`)).body.jobs
    expect(jobs.map((j: any) => j.tags)).toEqual([["new"], ["new"]])
    expect((await call("PUT", `/apps/${app1}/jobs/tags`, { tags: [] })).status).toBe(400)
  })

  it("shows batches with their state, and sends job and batch callbacks in super.AI's shape", async () => {
    const app1 = appId()
    const created = await call("POST", `/apps/${app1}/jobs`, {
      inputs: [{ text: "a" }, { text: "FAIL" }],
      callbackUrl: "https://hooks.example/jobs"
    })
    const batchId = created.body.batchId
    const batch = await poll(
      () => call("GET", `/apps/${app1}/batches/${batchId}`),
      (r) => r.body.state !== "RUNNING"
    )
    expect(batch.body).toMatchObject({ batchId, appId: app1, state: "PARTIAL_FAILURE", total: 2 })
    expect(batch.body.statusCounts).toEqual({ COMPLETED: 1, FAILED: 1 })
    const batches = await call("GET", `/apps/${app1}/batches`)
    expect(batches.body.batches.map((b: any) => b.batchId)).toEqual([batchId])
    expect((await call("GET", `/apps/${app1}/batches/nope`)).status).toBe(404)
    const sent = await poll(
      async () => delivered.filter((d) => d.body.appId === app1 || d.body.uuid !== undefined),
      (list) => list.some((d) => d.body.entityId === batchId) && list.filter((d) => d.url.endsWith("/jobs")).length >= 2
    )
    expect(sent.find((d) => d.body.entityId === batchId)).toEqual({
      url: "https://hooks.example/batches",
      body: { version: "2", entityType: "batch", entityId: batchId, state: "PARTIAL_FAILURE", appId: app1 }
    })
    const jobCallback = sent.find((d) => d.url.endsWith("/jobs") && d.body.state === "FAILED")
    expect(jobCallback?.body).toEqual({
      id: expect.any(String),
      uuid: expect.any(String),
      state: "FAILED",
      action: "RESOLVED"
    })
  })
})

describe("super.AI router: bulk download", () => {
  it("starts an operation, reports it COMPLETED, and serves a zip whose first member lists the jobs with outputs", async () => {
    const app1 = appId()
    await call("POST", `/apps/${app1}/jobs`, { inputs: [{ text: "a b" }, { text: "c" }] })
    await poll(
      () => call("GET", `/apps/${app1}/jobs?statusIn=COMPLETED`),
      (r) => r.body.total === 2
    )
    const started = await call("POST", `/apps/${app1}/job_responses?sendEmail=false&withHistory=false`)
    const op = started.body.operationId
    expect(typeof op).toBe("string")
    expect((await call("GET", `/operations/${app1}/${op}`)).body).toMatchObject({ id: op, status: "COMPLETED" })
    const link = await call("POST", `/operations/${app1}/${op}/download-url?secondsTtl=60`)
    const url = new URL(link.body.downloadUrl)
    const download = await app.request(url.pathname + url.search)
    expect(download.status).toBe(200)
    expect(download.headers.get("content-type")).toBe("application/zip")
    const files = unzipSync(new Uint8Array(await download.arrayBuffer()))
    const first = Object.keys(files)[0]!
    const jobs = JSON.parse(strFromU8(files[first]!))
    expect(jobs.map((j: any) => j.response.words).sort()).toEqual([1, 2])
    expect(jobs[0]).toMatchObject({ appId: app1, status: "COMPLETED" })
    expect((await app.request(`${url.pathname}?token=wrong`)).status).toBe(404)
    expect((await call("GET", `/operations/${app1}/nope`)).status).toBe(404)
  })
})
