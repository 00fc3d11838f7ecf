import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { expectProblem, json, withApi } from "./support.js"

const unknownId = "01900000-0000-7000-8000-000000000000"

describe("GET /jobs/{id}/items", () => {
  it("lists the items declared at create in order, by status and in pages", () =>
    withApi(async ({ app }) => {
      const items = Array.from({ length: 5 }, (_, i) => ({ key: `s${i}`, input: { n: i } }))
      const created = await app.request("/jobs", json("POST", { type: "delay", params: { seconds: 0 }, items }))
      expect(created.status).toBe(201)
      const job = await created.json()
      expect(job.progress.items).toEqual({ total: 5, pending: 5, completed: 0, failed: 0 })
      const first = await app.request(`/jobs/${job.id}/items?limit=3`)
      expect(first.status).toBe(200)
      const page = await first.json()
      expect(page.items.map((item: { key: string }) => item.key)).toEqual(["s0", "s1", "s2"])
      expect(page.items[0]).toMatchObject({ key: "s0", status: "PENDING", input: { n: 0 }, output: null, error: null })
      const next = await (await app.request(`/jobs/${job.id}/items?limit=3&cursor=${page.nextCursor}`)).json()
      expect(next).toMatchObject({ nextCursor: null })
      expect(next.items.map((item: { key: string }) => item.key)).toEqual(["s3", "s4"])
      const none = await (await app.request(`/jobs/${job.id}/items?status=succeeded,failed`)).json()
      expect(none).toEqual({ items: [], nextCursor: null })
    }))

  it("answers 400 naming a bad status, limit or cursor, and 404 for an unknown job", () =>
    withApi(async ({ app, run }) => {
      const job = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.create({ type: "delay", params: { seconds: 0 } })))
      const status = await expectProblem(await app.request(`/jobs/${job.job.id}/items?status=DONE`), 400)
      expect(JSON.stringify(status.errors)).toContain("status")
      const limit = await expectProblem(await app.request(`/jobs/${job.job.id}/items?limit=0`), 400)
      expect(JSON.stringify(limit.errors)).toContain("limit")
      const cursor = await expectProblem(await app.request(`/jobs/${job.job.id}/items?cursor=zzz`), 400)
      expect(JSON.stringify(cursor.errors)).toContain("cursor")
      await expectProblem(await app.request(`/jobs/${unknownId}/items`), 404)
      const dup = await app.request(
        "/jobs",
        json("POST", { type: "delay", params: { seconds: 0 }, items: [{ key: "a" }, { key: "a" }] })
      )
      const problem = await expectProblem(dup, 400)
      expect(JSON.stringify(problem.errors)).toContain("duplicate item key")
    }))
})

describe("POST /jobs/{id}/retry?full", () => {
  it("keeps SUCCEEDED items on a retry and resets them all with full=true; a bad value is a 400", () =>
    withApi(async ({ app, run }) => {
      const created = await run(
        Effect.flatMap(Jobs.Jobs, (jobs) =>
          jobs.create({ type: "delay", params: { seconds: 0 }, items: [{ key: "a" }, { key: "b" }] })
        )
      )
      const id = created.job.id
      await app.request(`/jobs/${id}/cancel`, { method: "POST" })
      const retried = await (await app.request(`/jobs/${id}/retry`, { method: "POST" })).json()
      expect(retried).toMatchObject({ status: "QUEUED", progress: { items: { total: 2, pending: 2 } } })
      await app.request(`/jobs/${id}/cancel`, { method: "POST" })
      await expectProblem(await app.request(`/jobs/${id}/retry?full=yes`, { method: "POST" }), 400)
      const full = await app.request(`/jobs/${id}/retry?full=true`, { method: "POST" })
      expect(full.status).toBe(200)
      const logs = await (await app.request(`/jobs/${id}/logs`)).json()
      expect(logs.items[0].message).toContain("full rerun requested")
    }))
})

describe("OpenAPI", () => {
  it("documents the items route and the items of a create", () =>
    withApi(async ({ app }) => {
      const doc = await (await app.request("/openapi.json")).json()
      expect(doc.paths["/jobs/{id}/items"]?.get?.operationId).toBe("jobItems")
      expect(JSON.stringify(doc.components ?? doc)).toContain("NewItem")
    }))
})
