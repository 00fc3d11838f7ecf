import { describe, expect, it } from "@effect/vitest"
import { Job, Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { awaitTerminal, createJob, expectProblem, json, withApi, withWorkerApi } from "./support.js"

const unknownId = "01900000-0000-7000-8000-000000000000"

describe("POST /jobs", () => {
  it("creates a CREATED job with 201, a Location and the caller's permissions", () =>
    withApi(async ({ app }) => {
      const response = await app.request("/jobs", json("POST", { type: "delay", params: { seconds: 1 }, tags: ["a"] }))
      expect(response.status).toBe(201)
      const job = await response.json()
      expect(job).toMatchObject({ type: "delay", status: "CREATED", params: { seconds: 1 }, tags: ["a"] })
      expect(job.userPermissions).toEqual(["edit", "run", "cancel", "retry", "pause", "resume", "delete"])
      expect(response.headers.get("location")).toBe(`/jobs/${job.id}`)
    }))

  it("queues at once with ?startNow=true and with Antenna's ?start_now=true", () =>
    withApi(async ({ app }) => {
      for (const query of ["startNow=true", "start_now=true"]) {
        const response = await app.request(`/jobs?${query}`, json("POST", { type: "delay", params: { seconds: 1 } }))
        expect(response.status).toBe(201)
        expect((await response.json()).status).toBe("QUEUED")
      }
    }))

  it("answers 200 with the existing job for an idempotency key a live job holds", () =>
    withApi(async ({ app }) => {
      const body = { type: "delay", params: { seconds: 1 }, idempotencyKey: "k1" }
      const first = await (await app.request("/jobs", json("POST", body))).json()
      const again = await app.request("/jobs", json("POST", body))
      expect(again.status).toBe(200)
      expect((await again.json()).id).toBe(first.id)
    }))

  it("creates many jobs sharing a batch id", () =>
    withApi(async ({ app }) => {
      const response = await app.request(
        "/jobs",
        json("POST", {
          jobs: [
            { type: "delay", params: { seconds: 1 } },
            { type: "delay", params: { seconds: 2 } }
          ]
        })
      )
      expect(response.status).toBe(201)
      const body = await response.json()
      expect(body.jobs).toHaveLength(2)
      expect(body.jobs.every((job: Job.Job) => job.batchId === body.batchId)).toBe(true)
    }))

  it("is a 400 naming each bad field of an invalid body", () =>
    withApi(async ({ app }) => {
      const response = await app.request("/jobs", json("POST", { type: 7, priority: 1.5, tags: "x", bogus: true }))
      const problem = await expectProblem(response, 400)
      const paths = (problem.errors as Array<{ path: string }>).map((e) => e.path).sort()
      expect(paths).toEqual(["bogus", "priority", "tags", "type"])
    }))

  it("is a 400 naming the bad field of one job of many", () =>
    withApi(async ({ app }) => {
      const response = await app.request("/jobs", json("POST", { jobs: [{ type: "delay" }, { type: "" }] }))
      const problem = await expectProblem(response, 400)
      expect(problem.errors).toEqual([{ path: "jobs.1.type", message: expect.any(String) }])
    }))

  it("is a 400 for an unknown job type and for params the type rejects", () =>
    withApi(async ({ app, run }) => {
      const unknown = await expectProblem(await app.request("/jobs", json("POST", { type: "nope" })), 400)
      expect(unknown).toMatchObject({ jobType: "nope", errors: [{ path: "type" }] })
      const params = await expectProblem(
        await app.request("/jobs", json("POST", { type: "three-stages", params: { items: 0 } })),
        400
      )
      expect(params.errors).toEqual([{ path: "params.items", message: expect.any(String) }])
      const page = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list()))
      expect(page.items).toHaveLength(0)
    }))

  it("is a 400 for malformed JSON and for a body that is not an object", () =>
    withApi(async ({ app }) => {
      await expectProblem(
        await app.request("/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
        400
      )
      const problem = await expectProblem(await app.request("/jobs", json("POST", [1, 2])), 400)
      expect(problem.errors).toEqual([{ path: "", message: "must be a JSON object" }])
    }))

  it("is a 415 for a body that is not JSON", () =>
    withApi(async ({ app }) => {
      await expectProblem(await app.request("/jobs", { method: "POST", body: "type=delay" }), 415)
      await expectProblem(
        await app.request("/jobs", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "type=delay"
        }),
        415
      )
    }))

  it("is a 413 that closes the connection for a body over the limit", () =>
    withApi(
      async ({ app }) => {
        const body = JSON.stringify({ type: "delay", name: "x".repeat(2000) })
        const response = await app.request("/jobs", {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": String(body.length) },
          body
        })
        await expectProblem(response, 413)
        expect(response.headers.get("connection")).toBe("close")
        // without a content-length the body is counted as it streams
        const streamed = await app.request("/jobs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new Blob([body]).stream(),
          duplex: "half"
        } as RequestInit)
        await expectProblem(streamed, 413)
      },
      { bodyLimit: 1000 }
    ))
})

describe("GET /jobs", () => {
  it("lists with filters, sort, paging and an exact total", () =>
    withApi(async ({ app, run }) => {
      for (let i = 0; i < 5; i++) await run(createJob({ type: "delay", params: { seconds: i }, tags: [`t${i % 2}`] }))
      await run(createJob({ type: "delay", params: { seconds: 9 }, owner: "ann" }, { startNow: true }))
      const first = await app.request("/jobs?status=CREATED&limit=2&withTotal=true&order=asc")
      expect(first.status).toBe(200)
      const page = await first.json()
      expect(page.items).toHaveLength(2)
      expect(page.total).toBe(5)
      expect(typeof page.nextCursor).toBe("string")
      const next = await (await app.request(`/jobs?status=CREATED&limit=2&order=asc&cursor=${page.nextCursor}`)).json()
      expect(next.items[0].createdAt >= page.items[1].createdAt).toBe(true)
      const active = await (await app.request("/jobs/?status=active&owner=ann")).json()
      expect(active.items.map((job: Job.Job) => job.status)).toEqual(["QUEUED"])
      const tagged = await (await app.request("/jobs?tag=t1&withTotal=true")).json()
      expect(tagged.total).toBe(2)
    }))

  it("is a 400 for out-of-range and unknown query values, never clamped", () =>
    withApi(async ({ app }) => {
      for (const [query, path] of [
        ["limit=0", "limit"],
        ["limit=1001", "limit"],
        ["limit=ten", "limit"],
        ["status=DONE", "status"],
        ["sort=size", "sort"],
        ["order=up", "order"],
        ["createdAfter=yesterday", "createdAfter"],
        ["withTotal=yes", "withTotal"]
      ]) {
        const problem = await expectProblem(await app.request(`/jobs?${query}`), 400)
        expect(problem.errors).toEqual([{ path, message: expect.any(String) }])
      }
    }))
})

describe("GET /jobs/stats", () => {
  it("counts every status, zeros included, as numbers", () =>
    withApi(async ({ app, run }) => {
      await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const stats = await (await app.request("/jobs/stats")).json()
      expect(stats.total).toBe(1)
      expect(Object.keys(stats.byStatus).sort()).toEqual([...Job.statuses].sort())
      expect(stats.byStatus.CREATED).toBe(1)
      expect(stats.byType.delay.CREATED).toBe(1)
    }))
})

describe("GET /jobs/{id}", () => {
  it("returns the job, with its newest log lines on ?logs=N", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const plain = await (await app.request(`/jobs/${job.id}`)).json()
      expect(plain).toMatchObject({ id: job.id, status: "CREATED" })
      expect(plain.logs).toBeUndefined()
      const withLogs = await (await app.request(`/jobs/${job.id}/?logs=5`)).json()
      expect(Array.isArray(withLogs.logs)).toBe(true)
    }))

  it("is a 404 for an unknown id", () =>
    withApi(async ({ app }) => {
      const problem = await expectProblem(await app.request(`/jobs/${unknownId}`), 404)
      expect(problem).toMatchObject({ jobId: unknownId, instance: `/jobs/${unknownId}` })
    }))
})

describe("PATCH /jobs/{id}", () => {
  it("edits a CREATED job", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const response = await app.request(`/jobs/${job.id}`, json("PATCH", { name: "renamed", priority: 5 }))
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ name: "renamed", priority: 5 })
    }))

  it("is a 409 naming the current status of a terminal job, and a 400 for an invalid patch", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      await app.request(`/jobs/${job.id}/cancel`, { method: "POST" })
      const conflict = await expectProblem(await app.request(`/jobs/${job.id}`, json("PATCH", { name: "x" })), 409)
      expect(conflict).toMatchObject({ currentStatus: "CANCELLED", jobId: job.id })
      const invalid = await expectProblem(
        await app.request(`/jobs/${job.id}`, json("PATCH", { status: "QUEUED" })),
        400
      )
      expect(invalid.errors).toEqual([{ path: "status", message: expect.any(String) }])
      await expectProblem(await app.request(`/jobs/${unknownId}`, json("PATCH", { name: "x" })), 404)
    }))
})

describe("DELETE /jobs/{id}", () => {
  it("deletes a CREATED job with 204; a QUEUED one is a 409 unless forced", () =>
    withApi(async ({ app, run }) => {
      const created = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      expect((await app.request(`/jobs/${created.id}`, { method: "DELETE" })).status).toBe(204)
      await expectProblem(await app.request(`/jobs/${created.id}`), 404)
      const queued = await run(createJob({ type: "delay", params: { seconds: 1 } }, { startNow: true }))
      const conflict = await expectProblem(await app.request(`/jobs/${queued.id}`, { method: "DELETE" }), 409)
      expect(conflict.currentStatus).toBe("QUEUED")
      expect((await app.request(`/jobs/${queued.id}?force=true`, { method: "DELETE" })).status).toBe(204)
      await expectProblem(await app.request(`/jobs/${unknownId}`, { method: "DELETE" }), 404)
    }))
})

describe("DELETE /jobs", () => {
  it("deletes by filter and refuses no filter at all unless all=true", () =>
    withApi(async ({ app, run }) => {
      await run(createJob({ type: "delay", params: { seconds: 1 } }))
      await run(createJob({ type: "three-stages", params: { items: 1 } }))
      const refused = await expectProblem(await app.request("/jobs", { method: "DELETE" }), 400)
      expect(Array.isArray(refused.errors)).toBe(true)
      const byType = await (await app.request("/jobs?type=delay", { method: "DELETE" })).json()
      expect(byType).toEqual({ deleted: 1 })
      const everything = await (await app.request("/jobs?all=true", { method: "DELETE" })).json()
      expect(everything).toEqual({ deleted: 1 })
    }))
})

describe("actions", () => {
  it("runs, pauses, resumes and cancels along the state machine", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const step = async (action: string, status: string) => {
        const response = await app.request(`/jobs/${job.id}/${action}/`, { method: "POST" })
        expect(response.status).toBe(200)
        expect((await response.json()).status).toBe(status)
      }
      await step("run", "QUEUED")
      await step("pause", "PAUSED")
      await step("resume", "QUEUED")
      await step("cancel", "CANCELLED")
      await step("retry", "QUEUED")
    }))

  it("is a 409 naming the current status for a transition not allowed", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }, { startNow: true }))
      for (const action of ["run", "retry", "resume"]) {
        const problem = await expectProblem(await app.request(`/jobs/${job.id}/${action}`, { method: "POST" }), 409)
        expect(problem).toMatchObject({ currentStatus: "QUEUED", action, jobId: job.id })
      }
    }))

  it("is a 404 for an unknown id, and ignores a JSON body but refuses any other", () =>
    withApi(async ({ app, run }) => {
      await expectProblem(await app.request(`/jobs/${unknownId}/run`, { method: "POST" }), 404)
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      await expectProblem(
        await app.request(`/jobs/${job.id}/run`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: "now"
        }),
        415
      )
      const ran = await app.request(`/jobs/${job.id}/run`, json("POST", { ignored: true }))
      expect(ran.status).toBe(200)
    }))
})

describe("GET /jobs/{id}/logs", () => {
  it("pages log lines newest first; a bad limit is a 400 and an unknown id a 404", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const page = await (await app.request(`/jobs/${job.id}/logs?limit=10`)).json()
      expect(page).toMatchObject({ items: expect.any(Array), nextCursor: null })
      await expectProblem(await app.request(`/jobs/${job.id}/logs?limit=5001`), 400)
      await expectProblem(await app.request(`/jobs/${unknownId}/logs`), 404)
    }))
})

describe("results and batches", () => {
  it("serves a finished job's result by job, by result id, compact, and the job of a result", () =>
    withWorkerApi(async ({ app }) => {
      const created = await app.request(
        "/jobs?startNow=true",
        json("POST", { type: "three-stages", params: { items: 4 } })
      )
      const job = await created.json()
      await awaitTerminal(app, job.id)
      const done = await (await app.request(`/jobs/${job.id}?logs=50`)).json()
      expect(done).toMatchObject({ status: "SUCCEEDED", resultId: expect.any(String) })
      expect(done.logs.map((line: { message: string }) => line.message)).toEqual(
        expect.arrayContaining(["fetch done", "process done", "store done"])
      )
      const result = await (await app.request(`/jobs/${job.id}/result`)).json()
      expect(result).toMatchObject({ id: done.resultId, jobId: job.id, value: { processed: 4 } })
      expect((await (await app.request(`/jobs/${job.id}/result?compact=true`)).json()).value).toEqual({ n: 4 })
      expect((await (await app.request(`/results/${done.resultId}`)).json()).value).toEqual({ processed: 4 })
      expect((await (await app.request(`/results/${done.resultId}?compact=true`)).json()).value).toEqual({ n: 4 })
      expect(await (await app.request(`/results/${done.resultId}/job`)).json()).toMatchObject({ id: job.id })
      const logs = await (await app.request(`/jobs/${job.id}/logs?limit=2`)).json()
      expect(logs.items).toHaveLength(2)
      expect(typeof logs.nextCursor).toBe("string")
      await expectProblem(await app.request(`/jobs/${job.id}/result?compact=maybe`), 400)
    }))

  it("is a 404 for a job without a result, an unknown result and an unknown batch", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
      const missing = await expectProblem(await app.request(`/jobs/${job.id}/result`), 404)
      expect(missing.jobId).toBe(job.id)
      const unknown = await expectProblem(await app.request(`/results/${unknownId}`), 404)
      expect(unknown.resultId).toBe(unknownId)
      await expectProblem(await app.request(`/results/${unknownId}/job`), 404)
      const batch = await expectProblem(await app.request(`/batches/${unknownId}`), 404)
      expect(batch.batchId).toBe(unknownId)
    }))

  it("summarizes a batch", () =>
    withApi(async ({ app }) => {
      const created = await (
        await app.request("/jobs", json("POST", { jobs: [{ type: "delay", params: { seconds: 1 } }] }))
      ).json()
      const batch = await (await app.request(`/batches/${created.batchId}`)).json()
      expect(batch).toMatchObject({ batchId: created.batchId, total: 1, state: "CREATED" })
      expect(batch.byStatus.CREATED).toBe(1)
    }))
})

describe("GET /job-types", () => {
  it("lists the registered types with stages and a params JSON Schema", () =>
    withApi(async ({ app }) => {
      const { items } = await (await app.request("/job-types")).json()
      const keys = items.map((t: { key: string }) => t.key).sort()
      expect(keys).toEqual(["delay", "three-stages"])
      const three = items.find((t: { key: string }) => t.key === "three-stages")
      expect(three.stages.map((s: { key: string }) => s.key)).toEqual(["fetch", "process", "store"])
      expect(typeof three.paramsSchema).toBe("object")
    }))
})
