// Two tenants behind one router with a scope per request: every route of DESIGN §5, called as each tenant, shows
// no item, count or id of the other tenant.
import { describe, expect, it } from "@effect/vitest"
import { Jobs, MemoryJobStore } from "@jobloom/core"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { Hono } from "hono"
import { JobsApi } from "../src/index.js"
import * as Schemas from "../src/internal/schemas.js"
import { sseReader } from "./sse.js"
import { awaitTerminal, json, withApi, withWorkerApi } from "./support.js"

const tenants = ["tenant-a", "tenant-b"] as const
type Tenant = (typeof tenants)[number]

const scope: JobsApi.ScopeOf = (c) => {
  const tenant = c.req.header("x-tenant")
  return { owners: tenant === undefined ? [] : [tenant] }
}

const as = (tenant: Tenant, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string> | undefined), "x-tenant": tenant }
})

/** What one tenant made: every id that must never reach the other. */
interface Made {
  readonly jobIds: Array<string>
  readonly batchId: string
  readonly resultIds: Array<string>
  readonly createdId: string
  readonly keyedId: string
}

const make = async (app: Hono, tenant: Tenant): Promise<Made> => {
  const keyed = await app.request(
    "/jobs?startNow=true",
    as(tenant, json("POST", { type: "three-stages", params: { items: 2 }, idempotencyKey: "shared-key" }))
  )
  expect(keyed.status, `${tenant}: the shared idempotency key creates the tenant's own job`).toBe(201)
  const keyedJob = await keyed.json()
  expect(keyedJob.owner).toBe(tenant)
  const many = await app.request(
    "/jobs?startNow=true",
    as(
      tenant,
      json("POST", {
        jobs: [
          { type: "three-stages", params: { items: 1 } },
          { type: "three-stages", params: { items: 3 } }
        ]
      })
    )
  )
  expect(many.status).toBe(201)
  const batch = await many.json()
  const created = await (
    await app.request(
      "/jobs",
      as(
        tenant,
        json("POST", { type: "delay", params: { seconds: 60 }, tags: ["t"], runAt: "2999-01-01T00:00:00.000Z" })
      )
    )
  ).json()
  const finished = [keyedJob.id, ...batch.jobs.map((job: { id: string }) => job.id)]
  for (const id of finished) await awaitTerminal(app, id, as(tenant))
  const resultIds: Array<string> = []
  for (const id of finished) {
    const job = await (await app.request(`/jobs/${id}`, as(tenant))).json()
    expect(job.status).toBe("SUCCEEDED")
    resultIds.push(job.resultId)
  }
  return {
    jobIds: [...finished, created.id],
    batchId: batch.batchId,
    resultIds,
    createdId: created.id,
    keyedId: keyedJob.id
  }
}

/** Every id or name of `other` that must not appear in a response to `tenant`. */
const secretsOf = (other: Tenant, made: Made) => [other, made.batchId, ...made.jobIds, ...made.resultIds]

const parse = (text: string): any => {
  try {
    return JSON.parse(text)
  } catch {
    return null // an event stream or the docs page
  }
}

const expectClean = (text: string, secrets: ReadonlyArray<string>, what: string) => {
  for (const secret of secrets) expect(text.includes(secret), `${what} leaks ${secret}`).toBe(false)
}

describe("a scope per request", () => {
  it("shows no item, count or id of another tenant on any route", () =>
    withWorkerApi(
      async ({ app }) => {
        const made = { "tenant-a": await make(app, "tenant-a"), "tenant-b": await make(app, "tenant-b") }
        expect(made["tenant-a"].keyedId).not.toBe(made["tenant-b"].keyedId)
        for (const tenant of tenants) {
          const other: Tenant = tenant === "tenant-a" ? "tenant-b" : "tenant-a"
          const mine = made[tenant]
          const theirs = made[other]
          const secrets = secretsOf(other, theirs)
          const call = async (path: string, init: RequestInit = {}) => {
            const response = await app.request(path, as(tenant, init))
            const text = await response.text()
            // an id the caller sent may be echoed back (a 404's `jobId`, `instance`): that tells nothing new
            const sent = `${path} ${typeof init.body === "string" ? init.body : ""}`
            expectClean(
              text,
              secrets.filter((secret) => !sent.includes(secret)),
              `${tenant}: ${init.method ?? "GET"} ${path}`
            )
            return { status: response.status, text, body: parse(text) }
          }

          // collections: only the tenant's own jobs, and counts of them only
          const list = await call("/jobs?withTotal=true&limit=1000")
          expect(list.body.items.map((job: { id: string }) => job.id).sort()).toEqual([...mine.jobIds].sort())
          expect(list.body.total).toBe(mine.jobIds.length)
          for (const query of [`owner=${other}`, `batchId=${theirs.batchId}`, "tag=t", "q=three", "status=SUCCEEDED"]) {
            const filtered = await call(`/jobs?${query}&withTotal=true`)
            expect(filtered.status).toBe(200)
            expect(filtered.body.items.every((job: { owner: string }) => job.owner === tenant)).toBe(true)
          }
          expect((await call(`/jobs/?owner=${other}&withTotal=true`)).body.total).toBe(0)
          const stats = await call("/jobs/stats")
          expect(stats.body.total).toBe(mine.jobIds.length)
          expect(stats.body.byStatus.SUCCEEDED).toBe(3)
          expect((await call(`/jobs/stats?owner=${other}`)).body.total).toBe(0)
          expect((await call(`/batches/${mine.batchId}`)).body.total).toBe(2)
          expect((await call(`/batches/${theirs.batchId}`)).status).toBe(404)
          expect((await call("/job-types")).status).toBe(200)
          expect((await call("/openapi.json")).status).toBe(200)
          expect((await call("/docs")).status).toBe(200)

          // results by id and their jobs
          expect((await call(`/results/${mine.resultIds[0]}`)).status).toBe(200)
          expect((await call(`/results/${mine.resultIds[0]}/job`)).body.owner).toBe(tenant)
          for (const resultId of theirs.resultIds) {
            expect((await call(`/results/${resultId}`)).status).toBe(404)
            expect((await call(`/results/${resultId}/job`)).status).toBe(404)
            expect((await call(`/results/${resultId}?compact=true`)).status).toBe(404)
          }

          // every per-job route on the other tenant's jobs is a 404, never a 403
          for (const id of theirs.jobIds) {
            expect((await call(`/jobs/${id}`)).status).toBe(404)
            expect((await call(`/jobs/${id}?logs=5`)).status).toBe(404)
            expect((await call(`/jobs/${id}`, json("PATCH", { name: "mine now" }))).status).toBe(404)
            for (const action of Schemas.Action.literals.filter((a) =>
              ["run", "cancel", "retry", "pause", "resume"].includes(a)
            )) {
              expect((await call(`/jobs/${id}/${action}`, { method: "POST" })).status, action).toBe(404)
            }
            expect((await call(`/jobs/${id}/logs`)).status).toBe(404)
            expect((await call(`/jobs/${id}/result`)).status).toBe(404)
            expect((await call(`/jobs/${id}/events`)).status).toBe(404)
            expect((await call(`/jobs/${id}?force=true`, { method: "DELETE" })).status).toBe(404)
          }

          // and on the tenant's own jobs they work
          expect((await call(`/jobs/${mine.createdId}`, json("PATCH", { name: `${tenant} job` }))).status).toBe(200)
          expect((await call(`/jobs/${mine.createdId}/logs`)).status).toBe(200)
          expect((await call(`/jobs/${mine.keyedId}/result`)).status).toBe(200)
          expect((await call(`/jobs/${mine.keyedId}/events`)).status).toBe(200)
          for (const action of ["run", "pause", "resume", "cancel", "retry"]) {
            expect((await call(`/jobs/${mine.createdId}/${action}`, { method: "POST" })).status, action).toBe(200)
          }
          expect((await call(`/jobs/${mine.createdId}/cancel`, { method: "POST" })).status).toBe(200)

          // the shared key returns the tenant's own holder, also inside a batch
          const again = await call(
            "/jobs",
            json("POST", {
              type: "delay",
              params: { seconds: 60 },
              runAt: "2999-01-01T00:00:00.000Z",
              idempotencyKey: "shared-live"
            })
          )
          const holder = await call(
            "/jobs",
            json("POST", {
              type: "delay",
              params: { seconds: 60 },
              runAt: "2999-01-01T00:00:00.000Z",
              idempotencyKey: "shared-live"
            })
          )
          expect(holder.status).toBe(200)
          expect(holder.body.id).toBe(again.body.id)
          const batched = await call(
            "/jobs",
            json("POST", {
              jobs: [
                {
                  type: "delay",
                  params: { seconds: 60 },
                  runAt: "2999-01-01T00:00:00.000Z",
                  idempotencyKey: "shared-live"
                }
              ]
            })
          )
          expect(batched.body.jobs[0].id).toBe(again.body.id)
          mine.jobIds.push(again.body.id)

          // a job for the other tenant cannot be created
          const foreign = await call("/jobs", json("POST", { type: "delay", params: { seconds: 1 }, owner: other }))
          expect(foreign.status).toBe(400)
          expect(foreign.body.errors).toEqual([{ path: "owner", message: "is not one of your owners" }])

          // and the tenant deletes one of its own jobs (its id stays a secret of this tenant: the other still 404s)
          expect((await call(`/jobs/${mine.keyedId}`, { method: "DELETE" })).status).toBe(204)
          expect((await call(`/jobs/${mine.keyedId}`)).status).toBe(404)
        }

        // bulk delete reaches only the caller's jobs
        const before = (await (await app.request("/jobs/stats", as("tenant-b"))).json()).total
        const none = await app.request("/jobs?owner=tenant-b", as("tenant-a", { method: "DELETE" }))
        expect(await none.json()).toEqual({ deleted: 0 })
        const deleted = await (await app.request("/jobs?all=true", as("tenant-a", { method: "DELETE" }))).json()
        expect(deleted.deleted).toBeGreaterThan(0)
        expect((await (await app.request("/jobs/stats", as("tenant-b"))).json()).total).toBe(before)
        for (const id of made["tenant-b"].jobIds.filter((id) => id !== made["tenant-b"].keyedId)) {
          expect((await app.request(`/jobs/${id}`, as("tenant-b"))).status).toBe(200)
        }
      },
      { scope }
    ))

  it("the many-job event stream carries only the tenant's jobs, its snapshot too", () =>
    withApi(
      async ({ app }) => {
        const create = async (tenant: Tenant, name: string) => {
          const response = await app.request(
            "/jobs",
            as(tenant, json("POST", { type: "delay", params: { seconds: 1 }, name }))
          )
          return (await response.json()).id as string
        }
        const before = { a: await create("tenant-a", "a-before"), b: await create("tenant-b", "b-before") }
        const response = await app.request("/events", as("tenant-a"))
        expect(response.status).toBe(200)
        const events = sseReader(response)
        const snapshot = await events.next()
        expect(snapshot?.event).toBe("snapshot")
        expect(snapshot?.data.items.map((job: { id: string }) => job.id)).toEqual([before.a])
        const theirs = await create("tenant-b", "b-after")
        await app.request(`/jobs/${before.b}/run`, as("tenant-b", { method: "POST" }))
        const mine = await create("tenant-a", "a-after")
        const seen = await events.until((event) => event.event === "created" && event.data.id === mine)
        const text = JSON.stringify(seen)
        for (const secret of [theirs, before.b, "tenant-b"]) expect(text).not.toContain(secret)
        await events.cancel()
      },
      { scope }
    ))

  it("with global idempotency keys, a key held outside the scope is a 409 that names no job", async () => {
    const runtime = ManagedRuntime.make(
      Jobs.layer({ idempotencyKeys: "global" }).pipe(Layer.provideMerge(MemoryJobStore.layer))
    )
    try {
      const app = JobsApi.make({ runtime, scope })
      const body = { type: "delay", params: { seconds: 60 }, idempotencyKey: "global-key" }
      const first = await app.request("/jobs", as("tenant-a", json("POST", body)))
      expect(first.status).toBe(201)
      const held = await first.json()
      const again = await app.request("/jobs", as("tenant-a", json("POST", body)))
      expect((await again.json()).id).toBe(held.id)
      for (const init of [json("POST", body), json("POST", { jobs: [body] })]) {
        const refused = await app.request("/jobs", as("tenant-b", init))
        expect(refused.status).toBe(409)
        const text = await refused.text()
        expect(text).not.toContain(held.id)
        expect(text).not.toContain("tenant-a")
        expect(JSON.parse(text).errors).toEqual([{ path: "idempotencyKey", message: "is held by another job" }])
      }
      const stats = await (await app.request("/jobs/stats", as("tenant-b"))).json()
      expect(stats.total).toBe(0)
    } finally {
      await runtime.dispose()
    }
  })
})
