// Pausing a running job over HTTP: `POST /jobs/{id}/pause` on a job a remote worker runs, the heartbeat's
// `stop: "pause"`, the worker's last checkpoint and its settle, `resume`, and the next claim carrying the checkpoint.
import { JobType, Jobs, MemoryJobStore, RemoteWorker } from "@jobloom/core"
import { describe, expect, it } from "@effect/vitest"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { Hono } from "hono"
import { JobsApi, WorkersApi } from "../src/index.js"
import { expectProblem, ThreeStages } from "./support.js"

const withBoth = async (
  f: (call: (path: string, body?: unknown) => Promise<{ status: number; body: any }>) => Promise<void>
) => {
  const runtime = ManagedRuntime.make(
    RemoteWorker.layer({ flushInterval: "10 millis", pollInterval: "5 seconds" }).pipe(
      Layer.provideMerge(Jobs.layer({ types: [ThreeStages, Checkpointed] })),
      Layer.provideMerge(MemoryJobStore.layer)
    )
  )
  const host = new Hono()
  host.route("/api", JobsApi.make({ runtime }))
  host.route("/api", WorkersApi.make({ runtime }))
  const call = async (path: string, body?: unknown) => {
    const response = await host.request(`/api${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    })
    if (response.status === 409) {
      const problem = await expectProblem(response, 409)
      return { status: 409, body: problem }
    }
    const text = await response.text()
    return { status: response.status, body: text === "" ? null : JSON.parse(text) }
  }
  try {
    await f(call)
  } finally {
    await runtime.dispose()
  }
}

const claimBody = { workerId: "py-1", types: ["three-stages"] }

/** A type whose checkpoints have a Schema: a remote worker's checkpoint is checked by it. */
const Checkpointed = JobType.make({
  key: "checkpointed",
  checkpoint: Schema.Struct({ done: Schema.Array(Schema.String) })
})

const enqueue = async (call: (path: string, body?: unknown) => Promise<{ status: number; body: any }>) => {
  const created = await call("/jobs?startNow=true", { type: "three-stages", params: { items: 3 } })
  expect(created.status).toBe(201)
  return created.body.id as string
}

describe("pausing a running job over HTTP", () => {
  it("pauses a remote worker's job: PAUSING, stop pause, checkpoint, PAUSED without spending the attempt, resume", () =>
    withBoth(async (call) => {
      const id = await enqueue(call)
      const claim = await call("/workers/claim", claimBody)
      const { token } = claim.body.jobs[0]
      expect(claim.body.jobs[0].job).toMatchObject({ id, attempt: 1, checkpoint: null })
      await call(`/workers/jobs/${id}/progress`, {
        token,
        stages: [{ key: "fetch", status: "SUCCEEDED", progress: 1 }]
      })

      const pausing = await call(`/jobs/${id}/pause`, {})
      expect(pausing).toMatchObject({ status: 200, body: { id, status: "PAUSING" } })
      for (const action of ["pause", "resume"]) {
        const refused = await call(`/jobs/${id}/${action}`, {})
        expect(refused.status, `${action} of a PAUSING job`).toBe(409)
        expect(refused.body.detail).toContain("PAUSING")
      }
      const beat = await call(`/workers/jobs/${id}/heartbeat`, { token })
      expect(beat.body).toMatchObject({ status: "PAUSING", stop: "pause" })
      const saved = await call(`/workers/jobs/${id}/progress`, { token, checkpoint: { done: ["a"] } })
      expect(saved.status).toBe(204)
      const settled = await call(`/workers/jobs/${id}/fail`, { token, message: "paused as told" })
      expect(settled.body).toMatchObject({ status: "PAUSED" })

      const paused = await call(`/jobs/${id}`)
      expect(paused.body).toMatchObject({ status: "PAUSED", attempt: 0, checkpoint: { done: ["a"] }, lastError: null })
      expect(paused.body.progress.stages[0]).toMatchObject({ key: "fetch", status: "SUCCEEDED" })
      expect((await call(`/jobs/${id}/pause`, {})).status, "pause of a PAUSED job").toBe(409)

      const resumed = await call(`/jobs/${id}/resume`, {})
      expect(resumed.body).toMatchObject({ status: "QUEUED" })
      const again = await call("/workers/claim", claimBody)
      expect(again.body.jobs[0].job, "the next claim carries the checkpoint and the SUCCEEDED stage").toMatchObject({
        id,
        attempt: 1,
        checkpoint: { done: ["a"] }
      })
      const next = again.body.jobs[0].token
      const done = await call(`/workers/jobs/${id}/succeed`, { token: next, result: { processed: 3 } })
      expect(done.body).toMatchObject({ status: "SUCCEEDED" })
    }))

  it("edge rules: a late success stands; a failure before the worker heard of the pause spends the attempt", () =>
    withBoth(async (call) => {
      const late = await enqueue(call)
      const failing = await enqueue(call)
      const claim = await call("/workers/claim", { ...claimBody, limit: 2 })
      const tokens = new Map<string, string>(claim.body.jobs.map((c: any) => [c.job.id, c.token]))
      await call(`/jobs/${late}/pause`, {})
      await call(`/jobs/${failing}/pause`, {})
      const succeeded = await call(`/workers/jobs/${late}/succeed`, {
        token: tokens.get(late),
        result: { processed: 3 }
      })
      expect(succeeded.body, "the work was done before the pause reached it").toMatchObject({ status: "SUCCEEDED" })
      const failed = await call(`/workers/jobs/${failing}/fail`, { token: tokens.get(failing), message: "GPU lost" })
      expect(failed.body).toMatchObject({ status: "PAUSED" })
      const job = await call(`/jobs/${failing}`)
      expect(job.body, "PAUSED with the attempt spent and the error kept").toMatchObject({
        status: "PAUSED",
        attempt: 1,
        lastError: { message: "GPU lost" }
      })
    }))

  it("a cancel overtakes a pause: the worker's settle ends the job CANCELLED", () =>
    withBoth(async (call) => {
      const id = await enqueue(call)
      const claim = await call("/workers/claim", claimBody)
      const { token } = claim.body.jobs[0]
      await call(`/jobs/${id}/pause`, {})
      expect((await call(`/workers/jobs/${id}/heartbeat`, { token })).body.stop).toBe("pause")
      expect((await call(`/jobs/${id}/cancel`, {})).body.status).toBe("CANCELLING")
      expect((await call(`/workers/jobs/${id}/heartbeat`, { token })).body.stop).toBe("cancel")
      const settled = await call(`/workers/jobs/${id}/fail`, { token, message: "stopped" })
      expect(settled.body).toMatchObject({ status: "CANCELLED" })
    }))

  it("refuses a checkpoint the type's Schema refuses (400 naming checkpoint), keeping the last good one", () =>
    withBoth(async (call) => {
      const created = await call("/jobs?startNow=true", { type: "checkpointed" })
      const id = created.body.id as string
      const claim = await call("/workers/claim", { workerId: "py-1", types: ["checkpointed"] })
      const { token } = claim.body.jobs[0]
      expect((await call(`/workers/jobs/${id}/progress`, { token, checkpoint: { done: ["a"] } })).status).toBe(204)
      const bad = await call(`/workers/jobs/${id}/progress`, { token, checkpoint: { done: 1 } })
      expect(bad.status).toBe(400)
      expect(JSON.stringify(bad.body)).toContain("checkpoint")
      await call(`/jobs/${id}/pause`, {})
      expect((await call(`/workers/jobs/${id}/fail`, { token, message: "paused" })).body.status).toBe("PAUSED")
      expect((await call(`/jobs/${id}`)).body.checkpoint).toEqual({ done: ["a"] })
    }))

  it("documents PAUSING, the checkpoint and the pause stop in both OpenAPI documents", () =>
    withBoth(async (call) => {
      const jobsDoc = JSON.stringify((await call("/openapi.json")).body)
      expect(jobsDoc).toContain('"PAUSING"')
      expect(jobsDoc).toContain("checkpoint")
      expect(jobsDoc).toContain("PAUSING until its handler is interrupted")
      const workersDoc = JSON.stringify((await call("/workers/openapi.json")).body)
      expect(workersDoc).toContain('"pause"')
      expect(workersDoc).toContain("checkpoint")
    }))
})
