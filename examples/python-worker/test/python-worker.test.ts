// The reference Python worker against a real quickstart process whose `ml` jobs are left to remote workers: a job
// created over HTTP is processed to SUCCEEDED, a cancel stops it within one heartbeat, a pause stops it after its last
// checkpoint and a resume goes on from there, a killed worker's job is back in the queue within the lease, and a stale
// token is refused.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn, type ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { follow, request, root, start, stop, waitFor, type Running } from "../../quickstart/test/ServerProcess.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-python-worker-"))
const script = fileURLToPath(new URL("../worker.py", import.meta.url))
/** The lease of a remote claim in this test (the worker heartbeats every third of it). */
const leaseSeconds = 2
const heartbeatMs = (leaseSeconds * 1000) / 3

/** Starts the Python worker; its output is kept for the assertions. */
const startWorker = (api: string, workerId: string) => {
  const child: ChildProcess = spawn("python3", [script, "--api", api, "--worker-id", workerId, "--wait-ms", "5000"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" }
  })
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  return { child, output: () => output, exited } satisfies Running
}

/** The `sh` block of the README's "Workers in any language" section, as a reader would paste it. */
const curlBlock = (): string => {
  const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
  const section = readme.split(/^## Workers in any language$/m)[1]?.split(/^## /m)[0] ?? ""
  const block = section.match(/```sh\n([\s\S]*?)```/)?.[1]
  if (block === undefined) throw new Error("README has no sh block under ## Workers in any language")
  return block
}

const bash = (script: string) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const child = spawn("bash", ["-e", "-c", script], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout!.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    child.stderr!.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    child.once("exit", (code) => resolve({ code, output }))
  })

const until = async (check: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`not ${what} within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("Python reference worker", () => {
  let server: Running
  let worker: Running | undefined
  let api: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: Path.join(dir, "jobloom.db"),
      JOBLOOM_GRACE_PERIOD: "1",
      JOBLOOM_REMOTE_TYPES: "ml",
      JOBLOOM_REMOTE_LEASE: String(leaseSeconds),
      DATABASE_URL: undefined
    })
    const [, url] = await waitFor(server, /API:\s+(http:\/\/\S+)/)
    api = url!
    await waitFor(server, /Workers:\s+http:\/\/\S+\/api\/workers\/openapi\.json/)
  })

  afterAll(async () => {
    if (worker !== undefined) await stop(worker, "SIGKILL")
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  // first, before the Python worker runs: the README's curl worker must be the one to claim its job
  it("the README's curl sequence runs one job's life as pasted (only the port differs)", async () => {
    const block = curlBlock()
    expect(block).toContain("API=http://localhost:3000/api")
    const { code, output } = await bash(block.replaceAll("http://localhost:3000/api", api))
    expect(code, output).toBe(0)
    expect(output).toMatch(/"status":"RUNNING","stop":null,"leaseExpiresAt":"/)
    expect(output).toContain('{"status":"SUCCEEDED"}')
    expect(output).toMatch(/"status":409,.*"currentStatus":"SUCCEEDED"/)
    const jobs = await request(`${api}/jobs?type=ml&limit=1`)
    expect(jobs.items[0]).toMatchObject({
      status: "SUCCEEDED",
      progress: { items: { total: 2, completed: 1, failed: 1 } }
    })
    const logs = await request(`${api}/jobs/${jobs.items[0].id}/logs`)
    expect(logs.items.map((line: { message: string }) => line.message)).toContain("model loaded")
  })

  describe("serving ml jobs", () => {
    beforeAll(async () => {
      worker = startWorker(api, "py-test")
      await waitFor(worker, /serving ml jobs/, 15_000)
    })

    const create = (params: Record<string, unknown>) =>
      request(`${api}/jobs?startNow=true`, { method: "POST", body: { type: "ml", params } })

    it("processes an ml job created over HTTP to SUCCEEDED, with its stages, items, logs and result", async () => {
      const job = await create({ images: 8, batchSize: 4, failureRate: 0 })
      const done = await follow(api, job.id)
      expect(done.status).toBe("SUCCEEDED")
      expect(done.progress.summary.progress).toBe(1)
      expect(done.progress.stages.map((s: { status: string }) => s.status)).toEqual([
        "SUCCEEDED",
        "SUCCEEDED",
        "SUCCEEDED"
      ])
      expect(done.progress.items).toMatchObject({ total: 8, completed: 8, failed: 0 })
      const result = await request(`${api}/jobs/${job.id}/result`)
      expect(result.value).toMatchObject({ captures: 8, failed: 0 })
      const logs = await request(`${api}/jobs/${job.id}/logs`)
      const messages = logs.items.map((line: { message: string }) => line.message).reverse()
      expect(messages[0]).toBe("attempt 1/3 started on worker remote:py-test")
      expect(messages).toContain("Found 8 out of 8 images to process")
      expect(messages.at(-1)).toBe("attempt 1/3 succeeded")
      expect(worker!.output()).toContain(`settled ${job.id}: SUCCEEDED`)
    })

    it("refuses a call with a stale token (409) and changes nothing", async () => {
      const job = await create({ images: 4, delay: 30, failureRate: 0 })
      await follow(api, job.id, (j) => j.status === "RUNNING", 10_000)
      const response = await fetch(`${api}/workers/jobs/${job.id}/succeed`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          token: "a-token-of-another-claim",
          result: { captures: 0, detections: 0, classifications: 0, failed: 0 }
        })
      })
      expect(response.status).toBe(409)
      expect(await response.json()).toMatchObject({ jobId: job.id, currentStatus: "RUNNING" })
      expect((await request(`${api}/jobs/${job.id}`)).status).toBe("RUNNING")
      // leave the worker free for the next test
      await request(`${api}/jobs/${job.id}/cancel`, { method: "POST" })
      await follow(api, job.id, undefined, 10_000)
    })

    it("stops a cancelled job within one heartbeat", async () => {
      const job = await create({ images: 4, delay: 30, failureRate: 0 })
      await follow(api, job.id, (j) => j.status === "RUNNING", 10_000)
      const cancelledAt = Date.now()
      await request(`${api}/jobs/${job.id}/cancel`, { method: "POST" })
      await until(() => worker!.output().includes(`cancelled ${job.id}: CANCELLED`), 10_000, "cancelled")
      // one heartbeat interval, plus the round trips of the heartbeat and the settle
      expect(Date.now() - cancelledAt).toBeLessThan(heartbeatMs + 700)
      const cancelled = await request(`${api}/jobs/${job.id}`)
      expect(cancelled).toMatchObject({ status: "CANCELLED", terminalReason: "user" })
    })

    it("pauses a job: the worker stops after its last checkpoint, PAUSED without spending the attempt; resumed, it goes on", async () => {
      const images = 80
      const job = await create({ images, batchSize: 4, failureRate: 0 })
      await follow(api, job.id, (j) => (j.checkpoint?.batches ?? 0) >= 1 || j.status !== "RUNNING", 10_000)
      expect((await request(`${api}/jobs/${job.id}/pause`, { method: "POST" })).status).toBe("PAUSING")
      await until(() => worker!.output().includes(`paused ${job.id}: PAUSED`), 10_000, "paused")
      const paused = await request(`${api}/jobs/${job.id}`)
      expect(paused).toMatchObject({ status: "PAUSED", attempt: 0, lastError: null })
      const { batches, processed } = paused.checkpoint
      expect(processed).toBe(batches * 4)
      expect(processed).toBeLessThan(images)
      await request(`${api}/jobs/${job.id}/resume`, { method: "POST" })
      const done = await follow(api, job.id, undefined, 20_000)
      expect(done).toMatchObject({ status: "SUCCEEDED", attempt: 1 })
      expect(done.checkpoint).toMatchObject({ batches: images / 4, processed: images })
      const result = await request(`${api}/jobs/${job.id}/result`)
      expect(result.value).toMatchObject({ captures: images, failed: 0 })
      const logs = await request(`${api}/jobs/${job.id}/logs?limit=5000`)
      expect(logs.items.map((line: { message: string }) => line.message)).toContain(
        `Resuming after ${batches} batches (${processed} images): ${images - processed} images to go`
      )
    })

    it("returns a killed worker's job to QUEUED within the lease", async () => {
      const job = await create({ images: 4, delay: 30, failureRate: 0 })
      const running = await follow(api, job.id, (j) => j.status === "RUNNING", 10_000)
      expect(running.lease.workerId).toBe("remote:py-test")
      // let a heartbeat renew the lease first, so the lease runs from the last one the worker sent
      await new Promise((resolve) => setTimeout(resolve, heartbeatMs + 100))
      worker!.child.kill("SIGKILL")
      await worker!.exited
      const killedAt = Date.now()
      const queued = await follow(api, job.id, (j) => j.status === "QUEUED", 10_000)
      // the lease (renewed at most one heartbeat ago) plus the rescuer's 1 s round
      expect(Date.now() - killedAt).toBeLessThan(leaseSeconds * 1000 + 1500)
      expect(queued.attempt).toBe(1)
      expect(queued.lease).toBeNull()
    })
  })
})
