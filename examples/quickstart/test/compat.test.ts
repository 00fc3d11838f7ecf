import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { AntennaJobDetails, McritClient } from "./clients.js"
import seed000 from "./fixtures/antenna-seed-000.json" with { type: "json" }
import seed001 from "./fixtures/antenna-seed-001.json" with { type: "json" }
import { request, start, stop, waitFor, type Running } from "./ServerProcess.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-compat-"))

/** Every key path of a JSON value: nested objects, and the items of arrays (as `[]`). */
const keyPaths = (value: unknown, prefix = ""): Array<string> => {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => keyPaths(item, `${prefix}[]`)))]
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([key, v]) => [`${prefix}.${key}`, ...keyPaths(v, `${prefix}.${key}`)])
}

/** The key paths of a seed, with nested shapes compared only where the seed has them (a null there has none). */
const shape = (value: unknown) => new Set(keyPaths(value))

const poll = async <A>(read: () => Promise<A>, done: (a: A) => boolean): Promise<A> => {
  for (let i = 0; i < 600; i++) {
    const value = await read()
    if (done(value)) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("gave up waiting")
}

describe("quickstart compat routers", () => {
  let server: Running
  let base: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: Path.join(dir, "jobloom.db"),
      JOBLOOM_GRACE_PERIOD: "1",
      DATABASE_URL: undefined
    })
    const [, url] = await waitFor(server, /Antenna:\s+(http:\/\/\S+)\/api\/v2\/jobs/)
    base = url!
    await waitFor(server, /MCRIT:\s+http:\/\/\S+\/mcrit\/jobs/)
  })

  afterAll(async () => {
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  const antenna = (path: string, init?: RequestInit) => fetch(`${base}/api/v2${path}`, init)
  const post = (path: string, body: unknown) =>
    antenna(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  const finished = (id: number) =>
    poll(
      async () => (await antenna(`/jobs/${id}/`)).json(),
      (job) => ["SUCCESS", "FAILURE", "REVOKED"].includes(job.status)
    )

  it("an ml job made as the UI makes it reads through the Antenna router in seed 000's shape, key for key", async () => {
    // the UI's create body; the quickstart has no projects, pipelines or collections, so their ids are kept as given
    const created = await post("/jobs/?start_now", {
      delay: 0,
      name: "Starred - Other models test",
      project_id: 18,
      pipeline_id: 2,
      source_image_collection_id: 11,
      params: { failureRate: 0 }
    })
    expect(created.status).toBe(201)
    const job = await finished((await created.json()).id)
    expect(job.status).toBe("SUCCESS")
    expect(Object.keys(job)).toEqual(Object.keys(seed000))
    const expected = shape(seed000)
    const actual = shape(job)
    expect([...expected].filter((path) => !actual.has(path))).toEqual([])
    expect([...actual].filter((path) => !expected.has(path))).toEqual([])
    expect(job.progress.stages.map((s: any) => s.key)).toEqual(seed000.progress.stages.map((s) => s.key))
    expect(job.job_type).toEqual(seed000.job_type)
  })

  it("a data_storage_sync job reads through the Antenna router in seed 001's shape, key for key", async () => {
    const created = await post("/jobs/?start_now=1", {
      name: "Sync captures for deployment 250",
      project_id: 88,
      deployment_id: 250,
      job_type_key: "data_storage_sync",
      params: { files: 1500 }
    })
    const job = await finished((await created.json()).id)
    expect(job.status).toBe("SUCCESS")
    expect(Object.keys(job)).toEqual(Object.keys(seed001))
    const expected = shape(seed001)
    const actual = shape(job)
    expect([...expected].filter((path) => !actual.has(path))).toEqual([])
    expect([...actual].filter((path) => !expected.has(path))).toEqual([])
    expect(job.progress.logs).toEqual(job.logs.stdout)
  })

  it("Antenna's UI models read every job of the list and the details, and their action gates open as they should", async () => {
    const list = await (await antenna("/jobs")).json()
    expect(list.user_permissions).toEqual(["create"])
    const filtered = await (
      await antenna("/jobs/?project_id=18&ordering=-created_at&limit=20&offset=0&status=SUCCESS&job_type_key=ml")
    ).json()
    expect(filtered.count).toBe(1)
    for (const raw of [...list.results, ...filtered.results]) {
      const job = new AntennaJobDetails(raw)
      expect(job.status.known).toBe(true)
      expect(job.type.label).toBeDefined()
      expect(job.times.every((t) => t === undefined || Number.isFinite(t))).toBe(true)
      expect(() => [job.project, job.pipeline, job.deployment, job.sourceImages, job.progress]).not.toThrow()
    }
    const detail = new AntennaJobDetails(await (await antenna(`/jobs/${filtered.results[0].id}/`)).json())
    expect(detail.stages.map((s) => s.fields.map((f) => f.key))).toEqual([
      ["total_images"],
      ["processed", "remaining", "failed"],
      ["captures", "detections", "classifications"]
    ])
    expect(detail.logs.stdout.length).toBeGreaterThan(0)
    expect(detail.canRetry && detail.canDelete && !detail.canQueue && !detail.canCancel).toBe(true)

    // queue, cancel, retry and delete as the UI does: no body, success is any 2xx
    const made = await (await post("/jobs/", { delay: 0, name: "later", project_id: 18, params: { delay: 30 } })).json()
    const fresh = new AntennaJobDetails(made)
    expect(fresh.canQueue).toBe(true)
    expect((await antenna(`/jobs/${made.id}/run/`, { method: "POST" })).ok).toBe(true)
    const queued = new AntennaJobDetails(await (await antenna(`/jobs/${made.id}/`)).json())
    expect(queued.canCancel).toBe(true)
    expect((await antenna(`/jobs/${made.id}/cancel/`, { method: "POST" })).ok).toBe(true)
    const stopped = await finished(made.id)
    expect(new AntennaJobDetails(stopped).canRetry).toBe(true)
    expect((await antenna(`/jobs/${made.id}/retry/`, { method: "POST" })).ok).toBe(true)
    expect((await antenna(`/jobs/${made.id}/`, { method: "DELETE" })).status).toBe(204)
    expect((await antenna(`/jobs/${made.id}/`)).status).toBe(404)
  })

  it("a McritClient session works: list, count, get, stats, awaitResult, results, delete by criteria", async () => {
    const client = new McritClient(`${base}/mcrit`)
    // MCRIT spawns jobs through domain routes; here the native API stands in for them
    const spawned = await request(`${base}/api/jobs?startNow=true`, {
      method: "POST",
      body: { type: "data_storage_sync", params: { files: 10 } }
    })
    const jobId = spawned.number.toString(16).padStart(24, "0")

    const queue = await client.getQueueData()
    expect(queue!.length).toBeGreaterThanOrEqual(3)
    for (const job of queue!) {
      expect(() => [
        job.job_id,
        job.created_at,
        job.is_failed,
        job.is_terminated,
        job.result,
        job.parameters
      ]).not.toThrow()
    }
    expect(await client.getJobCount()).toBe(queue!.length)
    expect((await client.getQueueData({ method: "data_storage_sync", ascending: true, limit: 1 }))![0]!.method).toBe(
      "data_storage_sync"
    )
    expect(await client.getJobCount('data_storage_sync({"files":10')).toBe(1)

    const result = await client.awaitResult(jobId)
    expect(result).toEqual({ files: 10 })
    const job = (await client.getJobData(jobId))!
    expect(job.is_finished && !job.is_failed && !job.is_terminated).toBe(true)
    expect(job.duration).toBeGreaterThanOrEqual(0)
    expect(await client.getResultForJob(jobId)).toEqual({ files: 10 })
    expect((await client.getJobForResult(job.result!))!.job_id).toBe(jobId)

    const stats = await client.getQueueStatistics(true)
    expect(stats.data_storage_sync.finished).toBeGreaterThanOrEqual(2)
    expect(stats.total_jobs).toBeGreaterThanOrEqual(3)

    expect(await client.getJobData("0".repeat(23) + "f")).toBeUndefined()
    await expect(client.awaitResult("0".repeat(23) + "f")).rejects.toThrow("JobTerminatedError")

    const before = (await client.getJobCount())!
    const gone = await client.deleteQueueData({
      method: "data_storage_sync",
      createdBefore: new Date(Date.now() + 60_000)
    })
    expect(gone.num_deleted).toBeGreaterThanOrEqual(2)
    expect(await client.getJobCount()).toBe(before - gone.num_deleted)
    expect(await client.getJobData(jobId)).toBeUndefined()
    const remaining = (await client.getQueueData())![0]!
    expect(await client.deleteJob(remaining.job_id)).toEqual({ num_deleted: 1 })
  })
})
