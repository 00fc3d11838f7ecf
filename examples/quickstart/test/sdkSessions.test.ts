// Replays what Modzy's and super.AI's Python SDKs send (COMPAT §2, §3) against the quickstart's app, in process.
// With WRITE_COMPAT_DOC=1 it also writes docs/compat-modzy-superai.md: one recorded request and answer per route.
import { Jobs, type JobType } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { strFromU8, unzipSync } from "fflate"
import type { Hono } from "hono"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as ItemRouters from "../src/ItemRouters.js"
import * as Quickstart from "../src/Quickstart.js"
import { root } from "./ServerProcess.js"

const config: Quickstart.QuickstartConfig = {
  port: 0,
  host: Option.none(),
  db: ":memory:",
  databaseUrl: Option.none(),
  pgSchema: "public",
  worker: true,
  concurrency: 10,
  gracePeriod: Duration.seconds(1),
  callbackAllow: [],
  callbackAllowPrivate: false
}
const runtime = ManagedRuntime.make(Quickstart.engineLayer(config))
let app: Hono

beforeAll(async () => {
  const inner = await runtime.runPromise(Effect.runtime<Jobs.Jobs | JobType.JobRegistry>())
  app = ItemRouters.mount(Quickstart.makeApp(JobsApi.make({ runtime: inner })), inner)
})

/** One recorded exchange per route (the first seen), for the doc. */
const recorded = new Map<string, { request: string; status: number; body: string }>()

afterAll(async () => {
  await runtime.dispose()
  if (process.env.WRITE_COMPAT_DOC !== "1") return
  const lines = [
    "# Modzy and super.AI routers: one request and answer per route",
    "",
    "Recorded by `examples/quickstart/test/sdkSessions.test.ts` (`WRITE_COMPAT_DOC=1`) against the quickstart's",
    "app: the requests are those the SDKs send (COMPAT.md §2, §3). Long answers are cut at 1,500 characters.",
    ""
  ]
  for (const [route, exchange] of recorded) {
    const body = exchange.body.length > 1500 ? `${exchange.body.slice(0, 1500)} …` : exchange.body
    lines.push(
      `## ${route}`,
      "",
      "```http",
      exchange.request,
      "```",
      "",
      `→ ${exchange.status}`,
      "",
      "```json",
      body,
      "```",
      ""
    )
  }
  Fs.mkdirSync(Path.join(root, "docs"), { recursive: true })
  Fs.writeFileSync(Path.join(root, "docs", "compat-modzy-superai.md"), lines.join("\n"))
})

const pretty = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

/** Sends a request the way the SDKs do and records it under `route`. */
const send = async (
  route: string,
  method: string,
  path: string,
  options: { readonly json?: unknown; readonly headers?: Record<string, string>; readonly form?: FormData } = {}
) => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.json !== undefined) headers["content-type"] = "application/json"
  const response = await app.request(path, {
    method,
    headers,
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    ...(options.form !== undefined ? { body: options.form } : {})
  })
  const bytes = new Uint8Array(await response.arrayBuffer())
  const text = response.headers.get("content-type")?.includes("zip") ? "" : new TextDecoder().decode(bytes)
  const name = `${path.startsWith("/modzy") ? "Modzy" : "super.AI"}: ${route}`
  if (!recorded.has(name)) {
    const shown = Object.entries(headers)
      .map(([k, v]) => `${k}: ${k.toLowerCase() === "authorization" ? v.replace(/\.\S+$/, ".<secret>") : v}`)
      .join("\n")
    recorded.set(name, {
      request: `${method} ${path}\n${shown}${options.json === undefined ? "" : `\n\n${JSON.stringify(options.json)}`}${options.form === undefined ? "" : "\n\n(multipart/form-data, field input)"}`,
      status: response.status,
      body: text === "" ? `(${bytes.length} bytes of ${response.headers.get("content-type")})` : pretty(text)
    })
  }
  return { status: response.status, body: text === "" ? null : (JSON.parse(text) as any), bytes }
}

const poll = async <A>(f: () => Promise<A>, until: (a: A) => boolean): Promise<A> => {
  for (let i = 0; i < 250; i++) {
    const value = await f()
    if (until(value)) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error("never reached")
}

describe("a Modzy SDK session against the quickstart", () => {
  const modzy = { accept: "application/json", authorization: "ApiKey qs1234.verysecret" }
  const base = "/modzy"

  it("builds the client, submits text, blocks until complete, reads results and history, and cancels", async () => {
    // ApiClient(base_url="http://host/modzy"): GET {base}/models fails, so it retries under {base}/api
    expect((await app.request(`${base}/models`, { headers: modzy })).status).toBe(404)
    const models = await send("GET /models", "GET", `${base}/api/models`, { headers: modzy })
    expect(models.body.map((m: any) => m.modelId)).toEqual(["wordcount"])
    const requirements = await send(
      "GET /models/requirements/account",
      "GET",
      `${base}/api/models/requirements/account`,
      {
        headers: modzy
      }
    )
    expect(requirements.body).toEqual([])
    // jobs.submit_text("wordcount", "1.0.0", {...})
    const submitted = await send("POST /jobs (text)", "POST", `${base}/api/jobs`, {
      headers: modzy,
      json: {
        model: { identifier: "wordcount", version: "1.0.0" },
        explain: false,
        input: {
          type: "text",
          sources: { "source-1": { "input.txt": "the quick brown fox" }, "source-2": { "input.txt": "FAIL" } }
        }
      }
    })
    expect(submitted.body.status).toBe("SUBMITTED")
    const id = submitted.body.jobIdentifier
    // jobs.block_until_complete(job): polls while SUBMITTED or IN_PROGRESS
    const done = await poll(
      () => send("GET /jobs/{id}", "GET", `${base}/api/jobs/${id}`, { headers: modzy }),
      (r) => !["SUBMITTED", "IN_PROGRESS"].includes(r.body.status)
    )
    expect(done.body).toMatchObject({ status: "COMPLETED", total: 2, completed: 1, failed: 1, pending: 0 })
    // results.get(job): the partial results of Modzy
    const result = await send("GET /results/{jobId}", "GET", `${base}/api/results/${id}`, { headers: modzy })
    expect(result.body.finished).toBe(true)
    expect(result.body.results["source-1"]["results.json"]).toEqual({ words: 4 })
    expect(result.body.failures["source-2"].error).toContain("FAIL")
    // submit_embedded
    const embedded = await send("POST /jobs (embedded)", "POST", `${base}/api/jobs`, {
      headers: modzy,
      json: {
        model: { identifier: "wordcount", version: "1.0.0" },
        explain: false,
        input: {
          type: "embedded",
          sources: {
            job: { "input.txt": `data:application/octet-stream;base64,${Buffer.from("a b").toString("base64")}` }
          }
        }
      }
    })
    expect(embedded.status).toBe(200)
    // jobs.get_history(access_key=..., start_date=..., status="terminated", sort_by="createdAt", ...)
    const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 23)
    const history = await send(
      "GET /jobs/history",
      "GET",
      `${base}/api/jobs/history?accessKey=qs1234&startDate=${encodeURIComponent(start)}&status=terminated&sort-by=createdAt&direction=desc&page=1&per-page=10`,
      { headers: modzy }
    )
    expect(history.body.map((j: any) => j.jobIdentifier)).toContain(id)
    for (const job of history.body) {
      for (const field of ["jobIdentifier", "submittedBy", "status"]) expect(job[field]).toBeTruthy()
      expect(job.model).toMatchObject({ identifier: "wordcount", version: "1.0.0", name: "Word count" })
    }
    const badHistory = await send(
      "GET /jobs/history (400)",
      "GET",
      `${base}/api/jobs/history?endDate=2024-01-01T00%3A00%3A00.000`,
      {
        headers: modzy
      }
    )
    expect(badHistory.status).toBe(400)
    // submit_file: an open job, features, chunks, close
    const open = await send("POST /jobs (open)", "POST", `${base}/api/jobs`, {
      headers: modzy,
      json: { model: { identifier: "wordcount", version: "1.0.0" }, explain: false }
    })
    expect(open.body.status).toBe("OPEN")
    const features = await send("GET /jobs/features", "GET", `${base}/api/jobs/features`, { headers: modzy })
    expect(features.body.input_chunk_maximum_size).toMatch(/^\d+Ki$/)
    const form = new FormData()
    form.append("input", new Blob(["one two three"]), "input")
    const chunk = await send(
      "POST /jobs/{id}/{source}/{input}",
      "POST",
      `${base}/api/jobs/${open.body.jobIdentifier}/s1/input.txt`,
      {
        headers: modzy,
        form
      }
    )
    expect(chunk.status).toBe(200)
    const closed = await send("POST /jobs/{id}/close", "POST", `${base}/api/jobs/${open.body.jobIdentifier}/close`, {
      headers: modzy
    })
    expect(closed.body.status).toBe("SUBMITTED")
    // jobs.cancel(job) of an open job
    const another = await send("POST /jobs (open)", "POST", `${base}/api/jobs`, {
      headers: modzy,
      json: { model: { identifier: "wordcount", version: "1.0.0" }, explain: false }
    })
    const cancelled = await send("DELETE /jobs/{id}", "DELETE", `${base}/api/jobs/${another.body.jobIdentifier}`, {
      headers: modzy
    })
    expect(cancelled.body.status).toBe("CANCELED")
    const unsupported = await send("POST /jobs (aws-s3, 400)", "POST", `${base}/api/jobs`, {
      headers: modzy,
      json: { model: { identifier: "wordcount", version: "1.0.0" }, input: { type: "aws-s3", sources: { job: {} } } }
    })
    expect(unsupported.status).toBe(400)
  })
})

describe("a super.AI SDK session against the quickstart", () => {
  const key = { "API-KEY": "sk-quickstart" }
  const base = "/superai/v1"
  const appId = "123abc45-6789-01de-f2g3-45h67ijk8901"

  it("creates jobs, fetches them and their response, lists all pages, cancels, reviews, reads batches, downloads", async () => {
    // create_jobs(app_id, callback_url=None, inputs=[...])
    const created = await send("POST /apps/{appId}/jobs", "POST", `${base}/apps/${appId}/jobs`, {
      headers: key,
      json: { inputs: [{ text: "hello big world" }, { text: "FAIL" }, { text: "x" }], tags: ["qs"] }
    })
    expect(created.body.batchId).toBeTruthy()
    const one = await send("POST /apps/{appId}/jobs (one input)", "POST", `${base}/apps/${appId}/jobs`, {
      headers: key,
      json: { inputs: [{ text: "one two" }], metadata: { external: "e-1" } }
    })
    const uuid = one.body.uuid
    // fetch_job(uuid)
    const fetched = await poll(
      () => send("GET /jobs/{id}", "GET", `${base}/jobs/${uuid}`, { headers: key }),
      (r) => r.body.status === "COMPLETED"
    )
    expect(fetched.body).toMatchObject({ id: uuid, appId, metadata: { external: "e-1" } })
    // get_job_response(uuid)
    const response = await send("GET /jobs/{id}/response", "GET", `${base}/jobs/${uuid}/response`, { headers: key })
    expect(response.body.response).toEqual({ words: 2 })
    // get_all_jobs(app_id): list_jobs(page=0, 1, … size=500) while page <= pages - 1
    const all: Array<any> = []
    for (let page = 0; ; page++) {
      const listed = await send(
        "GET /apps/{appId}/jobs",
        "GET",
        `${base}/apps/${appId}/jobs?page=${page}&size=2&sortBy=id&orderBy=asc&statusIn=COMPLETED&statusIn=FAILED&statusIn=SCHEDULED&statusIn=IN_PROGRESS`,
        { headers: key }
      )
      all.push(...listed.body.jobs)
      if (page >= listed.body.pages - 1) break
    }
    expect(all.length).toBe(4)
    const failed = await poll(
      async () =>
        (await send("GET /apps/{appId}/jobs", "GET", `${base}/apps/${appId}/jobs?statusIn=FAILED`, { headers: key }))
          .body,
      (b) => b.total === 1
    )
    expect(failed.jobs[0].input).toEqual({ text: "FAIL" })
    // cancel_job of a parked job; a finished one is a 409
    const parked = await send("POST /apps/{appId}/jobs (pending)", "POST", `${base}/apps/${appId}/jobs`, {
      headers: key,
      json: { inputs: [{ text: "later" }], pending: true }
    })
    const cancelled = await send("POST /jobs/{id}/cancel", "POST", `${base}/jobs/${parked.body.uuid}/cancel`, {
      headers: key
    })
    expect(cancelled.body.status).toBe("CANCELED")
    const refused = await send("POST /jobs/{id}/cancel (409)", "POST", `${base}/jobs/${uuid}/cancel`, { headers: key })
    expect(refused.status).toBe(409)
    // review_job(uuid, response=..., correct=True)
    const reviewed = await send("PATCH /jobs/{id}/review", "PATCH", `${base}/jobs/${uuid}/review`, {
      headers: key,
      json: { response: { words: 3 }, correct: true }
    })
    expect(reviewed.body.correct).toBe(true)
    // add_tags / delete_tags
    const tagged = await send(
      "PUT /apps/{appId}/jobs/tags",
      "PUT",
      `${base}/apps/${appId}/jobs/tags?batchId=${created.body.batchId}`,
      {
        headers: key,
        json: { tags: ["reviewed"] }
      }
    )
    expect(tagged.body.count).toBe(3)
    const untagged = await send(
      "DELETE /apps/{appId}/jobs/tags",
      "DELETE",
      `${base}/apps/${appId}/jobs/tags?batchId=${created.body.batchId}`,
      {
        headers: key,
        json: { tags: ["qs"] }
      }
    )
    expect(untagged.body.count).toBe(3)
    // fetch_batches_job / fetch_batch_job
    const batches = await send("GET /apps/{appId}/batches", "GET", `${base}/apps/${appId}/batches`, { headers: key })
    expect(batches.body.batches.map((b: any) => b.batchId)).toContain(created.body.batchId)
    const batch = await send(
      "GET /apps/{appId}/batches/{batchId}",
      "GET",
      `${base}/apps/${appId}/batches/${created.body.batchId}`,
      {
        headers: key
      }
    )
    expect(batch.body).toMatchObject({ state: "PARTIAL_FAILURE", total: 3 })
    // download_jobs → get_jobs_operation until COMPLETED → generates_downloaded_jobs_url → GET the URL
    const operation = await send(
      "POST /apps/{appId}/job_responses",
      "POST",
      `${base}/apps/${appId}/job_responses?sendEmail=false&withHistory=false`,
      {
        headers: key
      }
    )
    const op = operation.body.operationId
    const status = await send("GET /operations/{appId}/{op}", "GET", `${base}/operations/${appId}/${op}`, {
      headers: key
    })
    expect(status.body.status).toBe("COMPLETED")
    const link = await send(
      "POST /operations/{appId}/{op}/download-url",
      "POST",
      `${base}/operations/${appId}/${op}/download-url?secondsTtl=60`,
      {
        headers: key
      }
    )
    const url = new URL(link.body.downloadUrl)
    const file = await send("GET {downloadUrl}", "GET", url.pathname + url.search)
    const members = unzipSync(file.bytes)
    const jobs = JSON.parse(strFromU8(members[Object.keys(members)[0]!]!))
    expect(jobs.find((j: any) => j.id === uuid).response).toEqual({ words: 3 })
    expect(jobs.length).toBe(5)
  })
})
