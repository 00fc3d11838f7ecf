import { describe, expect, it } from "@effect/vitest"
import { Job } from "@jobloom/core"
import { createJob, expectProblem, json, withApi, withWorkerApi } from "./support.js"
import { sseReader, type SseEvent } from "./sse.js"

const post = { method: "POST" } as const
const ofJob = (id: string) => (e: SseEvent) => e.data?.jobId === id || e.data?.id === id

describe("GET /events", () => {
  it("sends a snapshot of the matching jobs, then the events of matching jobs only", () =>
    withApi(async ({ app, run }) => {
      const old = await run(createJob({ type: "delay", params: { seconds: 5 }, tags: ["blue"] }))
      const other = await run(createJob({ type: "delay", params: { seconds: 5 }, tags: ["red"] }))
      const response = await app.request("/events?tag=blue&status=active")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      const stream = sseReader(response)
      const snapshot = await stream.next()
      expect(snapshot?.event).toBe("snapshot")
      expect(snapshot?.data.items.map((j: Job.Job) => j.id)).toEqual([old.id])
      expect(snapshot?.data.items[0].userPermissions).toContain("delete")
      expect(snapshot?.data.nextCursor).toBeNull()

      // changes to the other job come first in time, and must never appear
      expect((await app.request(`/jobs/${other.id}/run`, post)).status).toBe(200)
      const created = await app.request(
        "/jobs",
        json("POST", { type: "delay", params: { seconds: 5 }, tags: ["blue"] })
      )
      const fresh = (await created.json()) as Job.Job
      expect((await app.request(`/jobs/${old.id}/run`, post)).status).toBe(200)
      expect((await app.request(`/jobs/${old.id}/cancel`, post)).status).toBe(200)
      expect((await app.request(`/jobs/${fresh.id}?force=true`, { method: "DELETE" })).status).toBe(204)

      const events = await stream.until((e) => e.event === "deleted")
      expect(events.filter(ofJob(other.id))).toEqual([])
      expect(events.map((e) => [e.event, e.data.jobId ?? e.data.id, e.data.status])).toEqual([
        ["created", fresh.id, "CREATED"],
        ["status", old.id, "QUEUED"],
        ["status", old.id, "CANCELLED"],
        // status=active: a terminal status takes the job out of the filter
        ["left", old.id, undefined],
        ["deleted", fresh.id, undefined]
      ])
      expect(events[0]!.data.userPermissions).toEqual(expect.any(Array))
      const ids = events.map((e) => Number(e.id))
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      expect(ids[0]).toBeGreaterThan(Number(snapshot!.id))
      await stream.cancel()
    }))

  it("sends the whole job when a status brings it into the filter", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 5 } }))
      const stream = sseReader(await app.request("/events?status=QUEUED,PAUSED"))
      expect((await stream.next())?.data.items).toEqual([])
      expect((await app.request(`/jobs/${job.id}/run`, post)).status).toBe(200)
      expect((await app.request(`/jobs/${job.id}/pause`, post)).status).toBe(200)
      const events = await stream.until((e) => e.event === "status")
      expect(events.map((e) => e.event)).toEqual(["entered", "status"])
      expect(events[0]!.data).toMatchObject({ id: job.id, status: "QUEUED", type: "delay" })
      expect(events[0]!.data.userPermissions).toContain("pause")
      expect(events[1]!.data).toMatchObject({ jobId: job.id, status: "PAUSED" })
      await stream.cancel()
    }))

  it("streams the progress and, when asked, the log lines of running jobs", () =>
    withWorkerApi(async ({ app }) => {
      const stream = sseReader(await app.request("/events?type=three-stages&logs=true"))
      expect((await stream.next())?.event).toBe("snapshot")
      const created = await app.request(
        "/jobs?startNow=true",
        json("POST", { type: "three-stages", params: { items: 2 } })
      )
      const job = (await created.json()) as Job.Job
      const events = await stream.until((e) => e.event === "status" && Job.isTerminal(e.data.status))
      expect(events.filter((e) => !ofJob(job.id)(e))).toEqual([])
      expect(events.filter((e) => e.event === "status").map((e) => e.data.status)).toEqual(["RUNNING", "SUCCEEDED"])
      expect(events.some((e) => e.event === "progress" && e.data.progress.stages.length === 3)).toBe(true)
      expect(events.filter((e) => e.event === "log").map((e) => e.data.message)).toEqual(
        expect.arrayContaining(["fetch done", "process done", "store done"])
      )
      await stream.cancel()
    }))

  it("leaves log lines out unless logs=true", () =>
    withWorkerApi(async ({ app }) => {
      const stream = sseReader(await app.request("/events?type=three-stages"))
      expect((await stream.next())?.event).toBe("snapshot")
      await app.request("/jobs?startNow=true", json("POST", { type: "three-stages", params: { items: 2 } }))
      const events = await stream.until((e) => e.event === "status" && Job.isTerminal(e.data.status))
      expect(events.filter((e) => e.event === "log")).toEqual([])
      expect(events.filter((e) => e.event === "progress").length).toBeGreaterThan(0)
      await stream.cancel()
    }))

  it("streams only the jobs authorize lets the caller view", () =>
    withApi(
      async ({ app, run }) => {
        const hidden = await run(createJob({ type: "delay", params: { seconds: 5 }, owner: "secret" }))
        const seen = await run(createJob({ type: "delay", params: { seconds: 5 }, owner: "public" }))
        const stream = sseReader(await app.request("/events"))
        expect((await stream.next())?.data.items.map((j: Job.Job) => j.id)).toEqual([seen.id])
        await run(createJob({ type: "delay", params: { seconds: 5 }, owner: "secret" }))
        expect((await app.request(`/jobs/${seen.id}/run`, post)).status).toBe(200)
        const events = await stream.until((e) => e.event === "status")
        expect(events.map((e) => [e.event, e.data.jobId])).toEqual([["status", seen.id]])
        expect(hidden.id).not.toBe(seen.id)
        await stream.cancel()
      },
      { authorize: (action, job) => action !== "view" || job?.owner !== "secret" }
    ))

  it("gives a reconnecting client a fresh snapshot", () =>
    withApi(async ({ app, run }) => {
      const first = sseReader(await app.request("/events"))
      expect((await first.next())?.data.items).toEqual([])
      await first.cancel()
      const job = await run(createJob({ type: "delay", params: { seconds: 5 } }))
      const again = sseReader(await app.request("/events", { headers: { "last-event-id": "1" } }))
      const snapshot = await again.next()
      expect(snapshot).toMatchObject({ event: "snapshot", id: "1" })
      expect(snapshot!.data.items.map((j: Job.Job) => j.id)).toEqual([job.id])
      await again.cancel()
    }))

  it("pages its snapshot like the list: sort, order, limit and a cursor for the rest", () =>
    withApi(async ({ app, run }) => {
      for (const name of ["b", "a", "c"]) await run(createJob({ type: "delay", params: { seconds: 1 }, name }))
      const stream = sseReader(await app.request("/events?sort=name&order=asc&limit=2"))
      const snapshot = await stream.next()
      expect(snapshot!.data.items.map((j: Job.Job) => j.name)).toEqual(["a", "b"])
      const rest = await app.request(`/jobs?sort=name&order=asc&limit=2&cursor=${snapshot!.data.nextCursor}`)
      expect(((await rest.json()) as { items: Array<Job.Job> }).items.map((j) => j.name)).toEqual(["c"])
      await stream.cancel()
    }))

  it("answers a bad filter with a 400 naming the field, before any stream", () =>
    withApi(async ({ app }) => {
      const problem = await expectProblem(await app.request("/events?status=DONE"), 400)
      expect(problem.errors).toEqual([expect.objectContaining({ path: "status" })])
      await expectProblem(await app.request("/events?limit=0"), 400)
    }))

  it("is a 403 when authorize denies view", () =>
    withApi(
      async ({ app }) => {
        await expectProblem(await app.request("/events"), 403)
      },
      { authorize: (action) => action !== "view" }
    ))

  it("is documented in the OpenAPI document", () =>
    withApi(async ({ app }) => {
      const document = (await (await app.request("/openapi.json")).json()) as any
      const route = document.paths["/events"].get
      expect(route.operationId).toBe("events")
      expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(["200", "400", "403"]))
      expect(route.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(["status", "type", "queue", "owner", "tag", "batchId", "logs"])
      )
    }))
})
