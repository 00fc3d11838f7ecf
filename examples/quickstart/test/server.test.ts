import { PgClient } from "@effect/sql-pg"
import { Jobs } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { follow, request, start, stop, waitFor, type Running } from "./ServerProcess.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-quickstart-"))
// a directory that does not exist yet: the server creates it, as it does ./data on a fresh clone
const db = Path.join(dir, "data", "jobloom.db")

/** Opens the server's SQLite file after it has exited and reads jobs through the engine. */
const readJobs = <A>(f: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(Jobs.Jobs, f).pipe(
      Effect.provide(Jobs.layer().pipe(Layer.provide(SqliteJobStore.layer({ filename: db })))),
      Effect.scoped
    )
  )

describe("quickstart server", () => {
  let server: Running
  let api: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: db,
      JOBLOOM_GRACE_PERIOD: "1",
      DATABASE_URL: undefined
    })
    const [, url] = await waitFor(server, /API:\s+(http:\/\/\S+)/)
    api = url!
    await waitFor(server, /Docs:\s+http:\/\/\S+\/api\/docs/)
  })

  afterAll(async () => {
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("prints the API and docs URLs, listening on every interface", () => {
    expect(api).toMatch(/^http:\/\/localhost:\d+\/api$/)
    expect(server.output()).toMatch(/listening on every interface, port \d+/)
  })

  it("serves the docs and lists the three job types", async () => {
    const response = await fetch(`${api}/docs`)
    expect(response.status).toBe(200)
    const types = await request(`${api}/job-types`)
    expect(types.items.map((t: { key: string }) => t.key).sort()).toEqual([
      "data_storage_sync",
      "delay",
      "ml",
      "wordcount"
    ])
  })

  it("runs an ml job created with startNow to SUCCEEDED, with Antenna's stages and params", async () => {
    const created = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "ml", params: { failureRate: 0 } }
    })
    expect(created.status).toBe("QUEUED")
    // declared up front: a new job already shows its stages
    expect(created.progress.stages.map((s: { key: string }) => s.key)).toEqual(["collect", "process", "results"])
    expect(created.params).toEqual({
      images: 20,
      batchSize: 4,
      delay: 0,
      limit: null,
      shuffle: true,
      failureRate: 0
    })

    const job = await follow(api, created.id)
    expect(job.status).toBe("SUCCEEDED")
    expect(job.terminalReason).toBeNull()
    expect(job.progress.summary).toEqual({ status: "SUCCEEDED", progress: 1 })
    expect(job.progress.items).toEqual({ total: 20, pending: 0, completed: 20, failed: 0 })
    const [collect, process, results] = job.progress.stages
    expect(collect).toEqual({
      key: "collect",
      name: "Collect",
      status: "SUCCEEDED",
      progress: 1,
      params: [{ key: "total_images", name: "Total Images", category: "default", value: 20 }]
    })
    expect(process).toEqual({
      key: "process",
      name: "Process",
      status: "SUCCEEDED",
      progress: 1,
      params: [
        { key: "processed", name: "Processed", category: "default", value: 20 },
        { key: "remaining", name: "Remaining", category: "default", value: 0 },
        { key: "failed", name: "Failed", category: "default", value: 0 }
      ]
    })
    expect(results.key).toBe("results")
    expect(results.status).toBe("SUCCEEDED")
    expect(results.params.map((p: { name: string }) => p.name)).toEqual(["Captures", "Detections", "Classifications"])
    expect(results.params[0].value).toBe(20)

    const result = await request(`${api}/jobs/${created.id}/result`)
    expect(result.value).toEqual({
      captures: 20,
      detections: results.params[1].value,
      classifications: results.params[2].value,
      failed: 0
    })
  })

  it("fails an ml job whose images all fail with terminalReason threshold, without retrying", async () => {
    const created = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "ml", params: { images: 8, failureRate: 1 } }
    })
    const job = await follow(api, created.id)
    expect(job.status).toBe("FAILED")
    expect(job.terminalReason).toBe("threshold")
    expect(job.attempt).toBe(1)
    expect(job.progress.items).toEqual({ total: 8, pending: 0, completed: 0, failed: 8 })
    const logs = await request(`${api}/jobs/${created.id}/logs?limit=1000`)
    const errors = logs.items.filter((l: { level: string; message: string }) => l.message.startsWith("image img-"))
    expect(errors).toHaveLength(8)
    expect(errors.every((l: { level: string }) => l.level === "error")).toBe(true)
  })

  it("rejects invalid ml params with a 400 naming the field", async () => {
    const problem = await request(
      `${api}/jobs`,
      { method: "POST", body: { type: "ml", params: { batchSize: 0 } } },
      [400]
    )
    expect(JSON.stringify(problem)).toContain("batchSize")
  })

  it("exits 0 on SIGTERM, releasing a running job for the next start", async () => {
    const created = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "delay", params: { seconds: 120 } }
    })
    await follow(api, created.id, (job) => job.status === "RUNNING")

    expect(await stop(server, "SIGTERM")).toBe(0)

    const left = await readJobs((jobs) => jobs.list({ statuses: ["RUNNING", "CANCELLING"] }))
    expect(left.items).toEqual([])
    const released = await readJobs((jobs) => jobs.get(created.id))
    expect(released.status).toBe("QUEUED")
    // a graceful shutdown gives the attempt back
    expect(released.attempt).toBe(0)
  })
})

describe("quickstart server with DATABASE_URL", () => {
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  // a fresh schema of its own, dropped afterwards
  const schema = `jobloom_test_${Math.random().toString(36).slice(2, 10)}`
  let server: Running
  let api: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      DATABASE_URL: url,
      JOBLOOM_PG_SCHEMA: schema,
      JOBLOOM_GRACE_PERIOD: "1"
    })
    api = (await waitFor(server, /API:\s+(http:\/\/\S+)/))[1]!
  })

  afterAll(async () => {
    await stop(server, "SIGKILL")
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* PgClient.PgClient
        yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })), Effect.scoped)
    )
  })

  it("uses PostgreSQL instead of SQLite and runs the same jobs", async () => {
    expect(server.output()).toContain(`PostgreSQL, schema ${schema}`)
    const created = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "data_storage_sync", params: { files: 1500 } }
    })
    const job = await follow(api, created.id)
    expect(job.status).toBe("SUCCEEDED")
    expect(job.progress.stages.map((s: { key: string; status: string }) => [s.key, s.status])).toEqual([
      ["data_storage_sync", "SUCCEEDED"],
      ["update_deployment_cache", "SUCCEEDED"]
    ])
    expect(job.progress.stages[0].params).toEqual([
      { key: "total_files", name: "Total files", category: "default", value: 1500 }
    ])
    expect(await stop(server, "SIGTERM")).toBe(0)
  })
})
