import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Hono } from "hono"
import { ModzyApi } from "../src/index.js"
import { compatRuntime, poll } from "./itemCompatSupport.js"

const runtime = compatRuntime()
let app: Hono

beforeAll(() => {
  app = new Hono()
  app.route("/api", ModzyApi.make({ runtime, models: [{ identifier: "words", type: "words", version: "1.0.0" }] }))
})
afterAll(() => runtime.dispose())

const key = "abc123.s3cr3t"
const headers = (extra: Record<string, string> = {}) => ({
  accept: "application/json",
  authorization: `ApiKey ${key}`,
  ...extra
})
const call = async (method: string, path: string, body?: unknown, auth = key) => {
  const response = await app.request(`/api${path}`, {
    method,
    headers: {
      accept: "application/json",
      authorization: `ApiKey ${auth}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: response.status, body: (await response.json()) as any }
}
const submitText = (sources: Record<string, Record<string, string>>, extra: Record<string, unknown> = {}) =>
  call("POST", "/jobs", {
    model: { identifier: "words", version: "1.0.0" },
    explain: false,
    input: { type: "text", sources },
    ...extra
  })
const finished = (id: string) =>
  poll(
    () => call("GET", `/jobs/${id}`),
    (r) => !["SUBMITTED", "IN_PROGRESS"].includes(r.body.status)
  )

describe("Modzy router: models", () => {
  it("lists the job types as models and answers the account requirements with []", async () => {
    const models = await call("GET", "/models")
    expect(models.status).toBe(200)
    expect(models.body).toEqual([
      expect.objectContaining({ modelId: "words", latestVersion: "1.0.0", versions: ["1.0.0"] })
    ])
    expect(await call("GET", "/models/requirements/account")).toEqual({ status: 200, body: [] })
    expect((await call("GET", "/models/words")).body.name).toBe("Words")
    expect((await call("GET", "/models/nope")).status).toBe(404)
  })
})

describe("Modzy router: jobs", () => {
  it("runs a text job per source: counters, results, failures, seed 002 fields", async () => {
    const submitted = await submitText({
      a: { "input.txt": "one two three" },
      b: { "input.txt": "FAIL" },
      c: { "input.txt": "x" }
    })
    expect(submitted.status).toBe(200)
    expect(submitted.body).toMatchObject({ status: "SUBMITTED", total: 3, pending: 3, submittedBy: "abc123" })
    const id = submitted.body.jobIdentifier
    const job = await finished(id)
    expect(job.body).toMatchObject({
      jobIdentifier: id,
      submittedBy: "abc123",
      accountIdentifier: "jobloom",
      model: { identifier: "words", version: "1.0.0", name: "Words" },
      status: "COMPLETED",
      total: 3,
      pending: 0,
      completed: 2,
      failed: 1,
      timeout: null,
      user: { identifier: "abc123", accessKey: "abc123" },
      explain: false,
      imageClassificationModel: false,
      inputByteAmount: 18
    })
    expect(job.body.jobInputs).toEqual([
      { identifier: "a", status: "COMPLETED" },
      { identifier: "b", status: "FAILED" },
      { identifier: "c", status: "COMPLETED" }
    ])
    for (const field of ["createdAt", "updatedAt", "submittedAt"]) expect(typeof job.body[field]).toBe("string")
    for (const field of ["queueTime", "elapsedTime"]) expect(typeof job.body[field]).toBe("number")
    const result = await call("GET", `/results/${id}`)
    expect(result.status).toBe(200)
    expect(result.body).toMatchObject({ jobIdentifier: id, finished: true, total: 3, completed: 2, failed: 1 })
    expect(result.body.results.a["results.json"]).toEqual({ words: 3 })
    expect(result.body.results.c["results.json"]).toEqual({ words: 1 })
    expect(result.body.failures).toEqual({ b: expect.objectContaining({ error: "input b asked to fail" }) })
  })

  it("runs an embedded job and ends ERROR when every source fails", async () => {
    const data = (text: string) => `data:application/octet-stream;base64,${Buffer.from(text).toString("base64")}`
    const ok = await call("POST", "/jobs", {
      model: { identifier: "words", version: "1.0.0" },
      input: { type: "embedded", sources: { job: { "input.txt": data("four words right here") } } }
    })
    const done = await finished(ok.body.jobIdentifier)
    expect(done.body.status).toBe("COMPLETED")
    expect((await call("GET", `/results/${ok.body.jobIdentifier}`)).body.results.job["results.json"]).toEqual({
      words: 4
    })
    const bad = await submitText({ job: { "input.txt": "FAIL" } })
    expect((await finished(bad.body.jobIdentifier)).body.status).toBe("ERROR")
  })

  it("refuses unsupported input types, unknown models, bad bodies and missing keys with a message", async () => {
    const s3 = await call("POST", "/jobs", {
      model: { identifier: "words", version: "1.0.0" },
      input: { type: "aws-s3", sources: { job: { "input.txt": { bucket: "b", key: "k" } } } }
    })
    expect(s3.status).toBe(400)
    expect(s3.body.message).toContain("aws-s3")
    const model = await submitText({ a: { x: "y" } }, { model: { identifier: "nope", version: "1" } })
    expect(model).toMatchObject({ status: 400, body: { message: "model nope is not available" } })
    const sources = await call("POST", "/jobs", {
      model: { identifier: "words" },
      input: { type: "text", sources: {} }
    })
    expect(sources.body.message).toContain("input.sources")
    const response = await app.request("/api/jobs/history", { headers: { accept: "application/json" } })
    expect(response.status).toBe(401)
    expect((await response.json()).message).toContain("ApiKey")
    expect((await call("GET", "/jobs/01900000-0000-7000-8000-000000000000")).status).toBe(404)
  })

  it("keeps jobs of other accounts out of sight", async () => {
    const other = new Hono()
    other.route("/api", ModzyApi.make({ runtime, identity: () => ({ accessKey: "k2", account: "other" }) }))
    const mine = await submitText({ a: { t: "a" } })
    const theirs = await other.request(`/api/jobs/${mine.body.jobIdentifier}`)
    expect(theirs.status).toBe(404)
  })

  it("hides a job outside the request's scope: a 404 by id and results, not in the history, refused on submit", async () => {
    const scoped = new Hono()
    scoped.route(
      "/api",
      ModzyApi.make({
        runtime,
        models: [{ identifier: "words", type: "words", version: "1.0.0" }],
        identity: () => ({ accessKey: "scoped", account: "acct-scoped" }),
        // the host's scope from the request: here a header naming the one owner it may see
        scope: (c) => ({ owners: [c.req.header("x-scope") ?? ""] })
      })
    )
    const request = async (method: string, path: string, scope: string, body?: unknown) => {
      const response = await scoped.request(`/api${path}`, {
        method,
        headers: { "x-scope": scope, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      return { status: response.status, body: (await response.json()) as any }
    }
    const submission = { model: { identifier: "words" }, input: { type: "text", sources: { a: { t: "x y" } } } }
    const created = await request("POST", "/jobs", "acct-scoped", submission)
    expect(created.status).toBe(200)
    const id = created.body.jobIdentifier
    expect((await request("GET", `/jobs/${id}`, "acct-scoped")).status).toBe(200)
    expect((await request("GET", "/jobs/history", "acct-scoped")).body.map((j: any) => j.jobIdentifier)).toEqual([id])

    const outside = await request("GET", `/jobs/${id}`, "elsewhere")
    expect(outside).toEqual({ status: 404, body: expect.objectContaining({ status: "NOT_FOUND" }) })
    expect((await request("GET", `/results/${id}`, "elsewhere")).status).toBe(404)
    expect((await request("DELETE", `/jobs/${id}`, "elsewhere")).status).toBe(404)
    expect(await request("GET", "/jobs/history", "elsewhere")).toEqual({ status: 200, body: [] })
    const refused = await request("POST", "/jobs", "elsewhere", submission)
    // the engine refuses a job whose owner is outside the scope, naming the field
    expect(refused.status).toBe(400)
    expect(refused.body.message).toContain("owner")
  })

  it("a timeout becomes the job's deadline and shows as timeout", async () => {
    const job = await call("POST", "/jobs", { model: { identifier: "words", version: "1.0.0" }, timeout: 60_000 })
    expect(job.body).toMatchObject({ status: "OPEN", timeout: 60_000 })
  })

  it("open jobs take multipart chunks per source and input, then close to SUBMITTED", async () => {
    const open = await call("POST", "/jobs", { model: { identifier: "words", version: "1.0.0" }, explain: false })
    expect(open.body).toMatchObject({ status: "OPEN", total: 0 })
    const id = open.body.jobIdentifier
    const features = await call("GET", "/jobs/features")
    expect(features.body.input_chunk_maximum_size).toBe("512Ki")
    const emptyClose = await call("POST", `/jobs/${id}/close`)
    expect(emptyClose.status).toBe(400)
    for (const [source, chunk] of [
      ["s1", "hello "],
      ["s1", "big world"],
      ["s2", "FAIL"]
    ] as const) {
      const form = new FormData()
      form.append("input", new Blob([chunk]), "input")
      const response = await app.request(`/api/jobs/${id}/${source}/input.txt`, {
        method: "POST",
        headers: headers(),
        body: form
      })
      expect(response.status).toBe(200)
    }
    const closed = await call("POST", `/jobs/${id}/close`)
    expect(closed.body).toMatchObject({ status: "SUBMITTED", total: 2, inputByteAmount: 19 })
    await finished(id)
    const result = await call("GET", `/results/${id}`)
    expect(result.body.results.s1["results.json"]).toEqual({ words: 3 })
    expect(Object.keys(result.body.failures)).toEqual(["s2"])
    const late = new FormData()
    late.append("input", new Blob(["x"]), "input")
    const refused = await app.request(`/api/jobs/${id}/s3/input.txt`, {
      method: "POST",
      headers: headers(),
      body: late
    })
    expect(refused.status).toBe(400)
  })

  it("DELETE cancels and answers the job as CANCELED; a finished job cannot be cancelled", async () => {
    const open = await call("POST", "/jobs", { model: { identifier: "words", version: "1.0.0" } })
    const cancelled = await call("DELETE", `/jobs/${open.body.jobIdentifier}`)
    expect(cancelled).toMatchObject({ status: 200, body: { status: "CANCELED" } })
    const again = await call("DELETE", `/jobs/${open.body.jobIdentifier}`)
    expect(again.status).toBe(409)
    expect(typeof again.body.message).toBe("string")
  })
})

describe("Modzy router: history", () => {
  it("is a bare array filtered by status, user, accessKey, model and dates, sorted and paged", async () => {
    const owner = `hist${Date.now()}`
    const as = (method: string, path: string, body?: unknown) => call(method, path, body, `${owner}.x`)
    const first = await as("POST", "/jobs", {
      model: { identifier: "words", version: "1.0.0" },
      input: { type: "text", sources: { a: { t: "a b" } } }
    })
    const open = await as("POST", "/jobs", { model: { identifier: "words", version: "1.0.0" } })
    await finished(first.body.jobIdentifier)
    const all = await as("GET", `/jobs/history?accessKey=${owner}`)
    expect(all.status).toBe(200)
    expect(Array.isArray(all.body)).toBe(true)
    expect(all.body.map((j: any) => j.jobIdentifier)).toEqual([open.body.jobIdentifier, first.body.jobIdentifier])
    for (const item of all.body) {
      for (const field of ["jobIdentifier", "submittedBy", "status"]) expect(item[field]).toBeTruthy()
      expect(item.model).toMatchObject({ identifier: "words", version: "1.0.0", name: "Words" })
    }
    const asc = await as("GET", `/jobs/history?user=${owner}&direction=ASC&sort-by=createdAt`)
    expect(asc.body.map((j: any) => j.jobIdentifier)).toEqual([first.body.jobIdentifier, open.body.jobIdentifier])
    const pending = await as("GET", `/jobs/history?accessKey=${owner}&status=PENDING`)
    expect(pending.body.map((j: any) => j.status)).toEqual(["OPEN"])
    const terminated = await as("GET", `/jobs/history?accessKey=${owner}&status=terminated`)
    expect(terminated.body.map((j: any) => j.status)).toEqual(["COMPLETED"])
    expect((await as("GET", `/jobs/history?accessKey=${owner}&status=timedout`)).body).toEqual([])
    expect((await as("GET", `/jobs/history?accessKey=${owner}&status=completed`)).body).toHaveLength(1)
    const byStatus = await as("GET", `/jobs/history?accessKey=${owner}&sort-by=status&direction=asc`)
    expect(byStatus.body.map((j: any) => j.status)).toEqual(["COMPLETED", "OPEN"])
    const paged = await as("GET", `/jobs/history?accessKey=${owner}&page=2&per-page=1`)
    expect(paged.body.map((j: any) => j.jobIdentifier)).toEqual([first.body.jobIdentifier])
    const model = await as("GET", `/jobs/history?accessKey=${owner}&model=nope`)
    expect(model.body).toEqual([])
    const start = new Date(Date.now() - 60_000).toISOString().replace("Z", "")
    const dated = await as("GET", `/jobs/history?accessKey=${owner}&startDate=${encodeURIComponent(start)}`)
    expect(dated.body).toHaveLength(2)
    const other = await as("GET", `/jobs/history?accessKey=someone-else`)
    expect(other.body).toEqual([])
  })

  it("answers 400 with a message for an end without a start, a future start and bad values", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString()
    for (const query of [
      "endDate=2024-01-01T00:00:00.000",
      `startDate=${encodeURIComponent(future)}`,
      "startDate=yesterday",
      "status=done",
      "sort-by=color",
      "direction=up",
      "page=0",
      "per-page=5000"
    ]) {
      const answer = await call("GET", `/jobs/history?${query}`)
      expect(answer.status, query).toBe(400)
      expect(typeof answer.body.message, query).toBe("string")
    }
  })
})
