import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { follow, request, start, stop, waitFor, type Running } from "../../quickstart/test/ServerProcess.js"

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
// every run gets a fresh schema of its own, dropped afterwards
const schema = `jobloom_test_${Math.random().toString(36).slice(2, 10)}`

const dropSchema = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
}).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })), Effect.scoped)

describe("postgres-workers example", () => {
  const env = { DATABASE_URL: url, JOBLOOM_PG_SCHEMA: schema }
  let apiProcess: Running
  let workers: Array<Running> = []
  let api: string

  beforeAll(async () => {
    // the API process first: it migrates the fresh schema before the workers connect
    apiProcess = start("examples/postgres-workers/src/api.ts", { ...env, PORT: "0" })
    api = (await waitFor(apiProcess, /listening: (http:\/\/\S+)/))[1]!
    workers = ["w1", "w2"].map((id) =>
      start("examples/postgres-workers/src/worker.ts", {
        ...env,
        WORKER_ID: id,
        WORKER_CONCURRENCY: "2",
        WORKER_GRACE_PERIOD: "1"
      })
    )
    await Promise.all(workers.map((worker) => waitFor(worker, /worker w\d running up to 2 jobs/)))
  })

  afterAll(async () => {
    await Promise.all([...workers, apiProcess].map((p) => stop(p, "SIGKILL")))
    await Effect.runPromise(dropSchema)
  })

  it("spreads jobs over both worker processes, each within its own concurrency", async () => {
    // four long jobs and two workers of two slots each: all four run at once only if both workers claimed two
    const { jobs } = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { jobs: Array.from({ length: 4 }, () => ({ type: "render", params: { frames: 600, msPerFrame: 100 } })) }
    })
    const running = await Promise.all(
      jobs.map((job: { id: string }) => follow(api, job.id, (j) => j.status === "RUNNING"))
    )
    const owners = running.map((job) => job.lease.workerId).sort()
    expect(owners).toEqual(["w1", "w1", "w2", "w2"])

    // a cancel made through the API process reaches the handler in whichever worker runs it
    await Promise.all(jobs.map((job: { id: string }) => request(`${api}/jobs/${job.id}/cancel`, { method: "POST" })))
    const cancelled = await Promise.all(jobs.map((job: { id: string }) => follow(api, job.id)))
    expect(cancelled.map((job) => job.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED"])
  })

  it("runs short jobs to SUCCEEDED and records which worker ran each", async () => {
    const { jobs } = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { jobs: Array.from({ length: 6 }, () => ({ type: "render", params: { frames: 2, msPerFrame: 10 } })) }
    })
    const done = await Promise.all(jobs.map((job: { id: string }) => follow(api, job.id)))
    expect(done.map((job) => job.status)).toEqual(Array(6).fill("SUCCEEDED"))
    for (const job of done) {
      const result = await request(`${api}/jobs/${job.id}/result`)
      expect(["w1", "w2"]).toContain(result.value.worker)
      expect(result.value.frames).toBe(2)
    }
  })

  it("stops every process with exit code 0 on SIGTERM, leaving no job running", async () => {
    const created = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "render", params: { frames: 1000, msPerFrame: 100 } }
    })
    await follow(api, created.id, (job) => job.status === "RUNNING")
    expect(await Promise.all(workers.map((worker) => stop(worker, "SIGTERM")))).toEqual([0, 0])
    const left = await request(`${api}/jobs?status=RUNNING,CANCELLING`)
    expect(left.items).toEqual([])
    const released = await request(`${api}/jobs/${created.id}`)
    expect(released.status).toBe("QUEUED")
    expect(await stop(apiProcess, "SIGTERM")).toBe(0)
  })
})
