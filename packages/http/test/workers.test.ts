// The worker routes through `app.request`: one job's life, stale tokens, bad fields, authorization, long-poll.
import { Jobs, RemoteWorker, MemoryJobStore } from "@jobloom/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import { WorkersApi } from "../src/index.js"
import { ThreeStages } from "./support.js"

type Services = Jobs.Jobs | RemoteWorker.RemoteWorker

const withWorkers = async (
  f: (api: {
    call: (path: string, body?: unknown) => Promise<{ status: number; body: any; type: string | null }>
    run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  }) => Promise<void>,
  options: Omit<WorkersApi.Options, "runtime"> = {}
) => {
  const runtime = ManagedRuntime.make(
    RemoteWorker.layer({ flushInterval: "10 millis", pollInterval: "5 seconds" }).pipe(
      Layer.provideMerge(Jobs.layer({ types: [ThreeStages] })),
      Layer.provideMerge(MemoryJobStore.layer)
    )
  )
  const host = new Hono()
  host.route("/api", WorkersApi.make({ runtime, ...options }))
  const call = async (path: string, body?: unknown) => {
    const response = await host.request(`/api${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    })
    const text = await response.text()
    return {
      status: response.status,
      body: text === "" ? null : JSON.parse(text),
      type: response.headers.get("content-type")
    }
  }
  try {
    await f({ call, run: (effect) => runtime.runPromise(effect) })
  } finally {
    await runtime.dispose()
  }
}

const enqueue = (items = 2) =>
  Effect.flatMap(Jobs.Jobs, (jobs) => jobs.enqueue({ type: "three-stages", params: { items } }))
const get = (id: string) => Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(id))
const claimBody = { workerId: "py-1", types: ["three-stages"] }

describe("WorkersApi", () => {
  it("runs one job's life: claim, heartbeat, progress, items, logs, succeed", () =>
    withWorkers(async ({ call, run }) => {
      const job = await run(enqueue())
      const claim = await call("/workers/claim", { ...claimBody, limit: 10 })
      expect(claim.status).toBe(200)
      expect(claim.body.jobs).toHaveLength(1)
      const { heartbeatMs, token } = claim.body.jobs[0]
      expect(claim.body.jobs[0].job).toMatchObject({ id: job.id, status: "RUNNING", attempt: 1 })
      expect(heartbeatMs).toBe(10_000)
      const beat = await call(`/workers/jobs/${job.id}/heartbeat`, { token })
      expect(beat).toMatchObject({ status: 200, body: { status: "RUNNING", stop: null } })
      const progress = await call(`/workers/jobs/${job.id}/progress`, {
        token,
        stages: [
          { key: "fetch", status: "SUCCEEDED", progress: 1 },
          { key: "process", progress: 0.5, params: { done: 1 } }
        ]
      })
      expect(progress.status).toBe(204)
      expect(
        (await call(`/workers/jobs/${job.id}/items`, { token, items: [{ key: "a", status: "SUCCEEDED", output: 1 }] }))
          .status
      ).toBe(204)
      expect(
        (await call(`/workers/jobs/${job.id}/logs`, { token, lines: [{ level: "warn", message: "slow GPU" }] })).status
      ).toBe(204)
      const done = await call(`/workers/jobs/${job.id}/succeed`, { token, result: { processed: 2 } })
      expect(done).toMatchObject({ status: 200, body: { status: "SUCCEEDED" } })
      const stored = await run(get(job.id))
      expect(stored.status).toBe("SUCCEEDED")
      expect(stored.progress.items).toMatchObject({ total: 1, completed: 1 })
      const logs = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.logs(job.id)))
      expect(logs.items.map((line) => line.message)).toContain("slow GPU")
      const result = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.result(job.id)))
      expect(result.value).toEqual({ processed: 2 })
    }))

  it("answers 409 with the current status for a stale token, and 404 for an unknown job", () =>
    withWorkers(async ({ call, run }) => {
      const job = await run(enqueue())
      const { token } = (await call("/workers/claim", claimBody)).body.jobs[0]
      const stale = await call(`/workers/jobs/${job.id}/succeed`, { token: "stale", result: { processed: 1 } })
      expect(stale.status).toBe(409)
      expect(stale.type).toBe("application/problem+json")
      expect(stale.body).toMatchObject({ jobId: job.id, currentStatus: "RUNNING" })
      expect((await run(get(job.id))).status).toBe("RUNNING")
      await call(`/workers/jobs/${job.id}/fail`, { token, message: "boom", retryable: false })
      const late = await call(`/workers/jobs/${job.id}/heartbeat`, { token })
      expect(late).toMatchObject({ status: 409, body: { currentStatus: "FAILED" } })
      const unknown = await call(`/workers/jobs/nope/heartbeat`, { token })
      expect(unknown).toMatchObject({ status: 404, body: { jobId: "nope" } })
    }))

  it("answers 400 naming each bad field", () =>
    withWorkers(async ({ call, run }) => {
      const claim = await call("/workers/claim", { workerId: "py", types: ["three-stages"], limit: 0, waitMs: 31_000 })
      expect(claim.status).toBe(400)
      expect(claim.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["limit", "waitMs"])
      const unknownType = await call("/workers/claim", { workerId: "py", types: ["nope"] })
      expect(unknownType).toMatchObject({ status: 400, body: { errors: [{ path: "type" }] } })
      const job = await run(enqueue())
      const { token } = (await call("/workers/claim", claimBody)).body.jobs[0]
      const progress = await call(`/workers/jobs/${job.id}/progress`, {
        token,
        stages: [{ key: "fetch", progress: 2 }]
      })
      expect(progress.status).toBe(400)
      expect(progress.body.errors[0].path).toBe("stages.0.progress")
      const noToken = await call(`/workers/jobs/${job.id}/heartbeat`, {})
      expect(noToken.body.errors[0].path).toBe("token")
      const badResult = await call(`/workers/jobs/${job.id}/succeed`, { token, result: { processed: "two" } })
      expect(badResult).toMatchObject({ status: 400, body: { errors: [{ path: "result" }] } })
      expect((await run(get(job.id))).status).toBe("RUNNING")
    }))

  it("asks the authorize hook for `work`, and refuses a narrower scope", async () => {
    const asked: Array<string> = []
    await withWorkers(
      async ({ call }) => {
        expect((await call("/workers/claim", claimBody)).status).toBe(403)
        expect((await call("/workers/jobs/x/heartbeat", { token: "t" })).status).toBe(403)
      },
      {
        authorize: (action) => {
          asked.push(action)
          return action !== "work"
        }
      }
    )
    expect(asked).toEqual(["work", "work"])
    await withWorkers(
      async ({ call }) => {
        const refused = await call("/workers/claim", claimBody)
        expect(refused).toMatchObject({ status: 403, body: { action: "work" } })
      },
      { scope: () => ({ owners: ["tenant-a"] }) }
    )
  })

  it("a long-poll claim returns as soon as a job is created", () =>
    withWorkers(async ({ call, run }) => {
      const waiting = call("/workers/claim", { ...claimBody, waitMs: 20_000 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const createdAt = Date.now()
      const job = await run(enqueue())
      const claimed = await waiting
      // the fallback poll is 5 s here: only the store's signal answers this fast
      expect(Date.now() - createdAt).toBeLessThan(1000)
      expect(claimed.body.jobs.map((c: { job: { id: string } }) => c.job.id)).toEqual([job.id])
    }))

  it("answers a cancel at the next heartbeat; the worker's settle makes it CANCELLED", () =>
    withWorkers(async ({ call, run }) => {
      const job = await run(enqueue())
      const { token } = (await call("/workers/claim", claimBody)).body.jobs[0]
      await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(job.id)))
      expect((await call(`/workers/jobs/${job.id}/heartbeat`, { token })).body).toMatchObject({
        status: "CANCELLING",
        stop: "cancel"
      })
      expect((await call(`/workers/jobs/${job.id}/fail`, { token, message: "cancelled" })).body.status).toBe(
        "CANCELLED"
      )
    }))

  it("documents every worker route in its own OpenAPI document", () =>
    withWorkers(async ({ call }) => {
      const document = await call("/workers/openapi.json")
      expect(document.status).toBe(200)
      expect(document.body.openapi).toMatch(/^3\.1/)
      expect(document.body.servers).toEqual([{ url: "/api" }])
      expect(Object.keys(document.body.paths).sort()).toEqual([
        "/workers/claim",
        "/workers/jobs/{id}/fail",
        "/workers/jobs/{id}/heartbeat",
        "/workers/jobs/{id}/items",
        "/workers/jobs/{id}/logs",
        "/workers/jobs/{id}/progress",
        "/workers/jobs/{id}/succeed",
        "/workers/openapi.json"
      ])
      expect(document.body.paths["/workers/jobs/{id}/succeed"].post.responses["409"]).toBeDefined()
      expect(document.body.components.schemas.ClaimRequest).toBeDefined()
    }))
})
