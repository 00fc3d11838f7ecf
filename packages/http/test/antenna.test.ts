import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { call, origin, settled, withCompat } from "./compatSupport.js"
import { json } from "./support.js"

type Job = Record<string, any>

const create = async (app: Parameters<typeof call>[0], body: Record<string, unknown>, query = "") => {
  const response = await call(app, `/api/v2/jobs/${query}`, json("POST", body))
  expect(response.status).toBe(201)
  return (await response.json()) as Job
}

const threeStages = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  project_id: 18,
  job_type_key: "three-stages",
  params: { items: 3 },
  ...extra
})

const isoMicros = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

describe("Antenna: list", () => {
  it("answers {count, next, previous, results, user_permissions} with and without a trailing slash", () =>
    withCompat(async ({ app }) => {
      await create(app, threeStages("a"))
      for (const path of ["/api/v2/jobs", "/api/v2/jobs/"]) {
        const response = await call(app, path)
        expect(response.status).toBe(200)
        const page = await response.json()
        expect(Object.keys(page)).toEqual(["count", "next", "previous", "results", "user_permissions"])
        expect(page).toMatchObject({ count: 1, next: null, previous: null, user_permissions: ["create"] })
        expect(page.results[0]).toMatchObject({ id: 1, name: "a", status: "CREATED" })
      }
    }))

  it("pages by limit and offset (default 10) with absolute next and previous URLs", () =>
    withCompat(async ({ app }) => {
      for (let i = 0; i < 12; i++) await create(app, threeStages(`job ${i}`))
      const first = await (await call(app, "/api/v2/jobs/")).json()
      expect(first.results).toHaveLength(10)
      expect(first.next).toBe(`${origin}/api/v2/jobs/?limit=10&offset=10`)
      const page = await (await call(app, "/api/v2/jobs/?project_id=18&limit=5&offset=5")).json()
      expect(page.count).toBe(12)
      expect(page.results.map((j: Job) => j.name)).toEqual(["job 6", "job 5", "job 4", "job 3", "job 2"])
      expect(page.next).toBe(`${origin}/api/v2/jobs/?project_id=18&limit=5&offset=10`)
      expect(page.previous).toBe(`${origin}/api/v2/jobs/?project_id=18&limit=5`)
      const last = await (await call(app, "/api/v2/jobs/?limit=5&offset=10")).json()
      expect(last.results).toHaveLength(2)
      expect(last.next).toBeNull()
      expect(last.previous).toBe(`${origin}/api/v2/jobs/?limit=5&offset=5`)
    }))

  it("filters by status code, job_type_key, project, pipeline, search and incomplete_only", () =>
    withCompat(
      async ({ app, run }) => {
        const done = await create(app, threeStages("sync A", { pipeline_id: 2 }), "?start_now")
        await settled(run, (await run(listByNumber(done.id))).id)
        await create(app, threeStages("other", { project_id: 19, pipeline_id: 3 }))
        await create(app, { name: "wait", project_id: 18, job_type_key: "delay", delay: 60 })
        const names = async (query: string) =>
          ((await (await call(app, `/api/v2/jobs/?${query}`)).json()).results as Array<Job>).map((j) => j.name).sort()
        expect(await names("status=SUCCESS")).toEqual(["sync A"])
        expect(await names("status=CREATED")).toEqual(["other", "wait"])
        expect(await names("job_type_key=delay")).toEqual(["wait"])
        expect(await names("project_id=19")).toEqual(["other"])
        expect(await names("project=18")).toEqual(["sync A", "wait"])
        expect(await names("pipeline=2")).toEqual(["sync A"])
        expect(await names("search=SYNC")).toEqual(["sync A"])
        expect(await names("incomplete_only")).toEqual(["other", "wait"])
        const bad = await call(app, "/api/v2/jobs/?status=DONE")
        expect(bad.status).toBe(400)
        expect(await bad.json()).toEqual({
          status: ["Select a valid choice. DONE is not one of the available choices."]
        })
      },
      { worker: true }
    ))

  it("orders by -created_at by default, by any offered field, and ignores unknown fields as DRF does", () =>
    withCompat(async ({ app }) => {
      for (const name of ["b", "c", "a"]) await create(app, threeStages(name))
      await call(app, "/api/v2/jobs/2/run/", { method: "POST" })
      const names = async (query: string) =>
        ((await (await call(app, `/api/v2/jobs/?${query}`)).json()).results as Array<Job>).map((j) => j.name)
      expect(await names("")).toEqual(["a", "c", "b"])
      expect(await names("ordering=created_at")).toEqual(["b", "c", "a"])
      expect(await names("ordering=name")).toEqual(["a", "b", "c"])
      expect(await names("ordering=-name")).toEqual(["c", "b", "a"])
      expect(await names("ordering=status")).toEqual(["b", "a", "c"])
      expect(await names("ordering=-bogus")).toEqual(["a", "c", "b"])
    }))
})

const listByNumber = (number: number) =>
  Effect.flatMap(Jobs.Jobs, (jobs) => Effect.map(jobs.list({ numbers: [number] }), (page) => page.items[0]!))

describe("Antenna: create", () => {
  it("creates a CREATED job (201) from the UI's body; ?start_now (valueless), =1 and =true queue it", () =>
    withCompat(async ({ app }) => {
      const job = await create(app, threeStages("new", { delay: 0, source_image_collection_id: 11 }))
      expect(job).toMatchObject({ id: 1, status: "CREATED", details: `${origin}/api/v2/jobs/1/` })
      expect(job.project).toEqual({
        id: 18,
        name: null,
        details: `${origin}/api/v2/projects/18/`,
        user_permissions: []
      })
      expect(job.source_image_collection).toMatchObject({
        id: 11,
        details: `${origin}/api/v2/captures/collections/11/`
      })
      for (const query of ["?start_now", "?start_now=1", "?start_now=true"]) {
        expect((await create(app, threeStages("now"), query)).status).toBe("PENDING")
      }
      expect((await create(app, threeStages("later"), "?start_now=false")).status).toBe("CREATED")
    }))

  it("defaults job_type_key to ml and answers DRF field errors for missing or bad fields", () =>
    withCompat(async ({ app }) => {
      const noMl = await call(app, "/api/v2/jobs/", json("POST", { name: "x", project_id: 1 }))
      expect(noMl.status).toBe(400)
      expect(await noMl.json()).toEqual({ job_type_key: ['"ml" is not a valid choice.'] })
      const missing = await call(app, "/api/v2/jobs/", json("POST", { delay: -1, job_type_key: "delay" }))
      expect(await missing.json()).toEqual({
        name: ["This field is required."],
        project_id: ["This field is required."],
        delay: ["A valid integer is required."]
      })
      const params = await call(app, "/api/v2/jobs/", json("POST", threeStages("x", { params: { items: 0 } })))
      expect(params.status).toBe(400)
      expect(Object.keys(await params.json())).toEqual(["params.items"])
      const notJson = await call(app, "/api/v2/jobs/", {
        method: "POST",
        body: "{",
        headers: { "content-type": "application/json" }
      })
      expect(notJson.status).toBe(400)
      expect((await notJson.json()).detail).toMatch(/^JSON parse error/)
    }))

  it("puts Antenna's delay into the built-in delay type's seconds", () =>
    withCompat(async ({ app, run }) => {
      const job = await create(app, { name: "wait", project_id: 1, job_type_key: "delay", delay: 7 })
      expect(job.delay).toBe(7)
      expect((await run(listByNumber(job.id))).params).toEqual({ seconds: 7 })
    }))
})

describe("Antenna: one job", () => {
  it("shows a finished job with Celery codes, stages, microsecond Z times, duration and logs newest first", () =>
    withCompat(
      async ({ app, run }) => {
        const created = await create(app, threeStages("three"), "?start_now")
        await settled(run, (await run(listByNumber(created.id))).id)
        const job = await (await call(app, `/api/v2/jobs/${created.id}/`)).json()
        expect(job.status).toBe("SUCCESS")
        expect(job.progress.summary).toEqual({ status: "SUCCESS", progress: 1 })
        expect(job.progress.stages.map((s: Job) => [s.key, s.status, s.progress])).toEqual([
          ["fetch", "SUCCESS", 1],
          ["process", "SUCCESS", 1],
          ["store", "SUCCESS", 1]
        ])
        for (const key of ["created_at", "updated_at", "started_at", "finished_at"]) expect(job[key]).toMatch(isoMicros)
        expect(job.duration).toMatch(/^\d+(\.\d+)?$/)
        expect(job.job_type).toEqual({ name: "Three stages", key: "three-stages" })
        expect(job.result).toEqual(expect.any(String))
        const lines: Array<string> = job.logs.stdout
        expect(lines.length).toBeGreaterThanOrEqual(3)
        for (const line of lines) expect(line).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] (INFO|WARNING|ERROR) /)
        const order = ["store done", "process done", "fetch done"].map((m) => lines.findIndex((l) => l.endsWith(m)))
        expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!))).toBe(true)
        expect(new Set(lines).size).toBe(lines.length)
        expect(job.logs.stderr).toEqual([])
        const two = await (await call(app, `/api/v2/jobs/${created.id}?logs_limit=2`)).json()
        expect(two.logs.stdout).toEqual(lines.slice(0, 2))
        const tooMany = await call(app, `/api/v2/jobs/${created.id}/?logs_limit=5001`)
        expect(tooMany.status).toBe(400)
        expect(await tooMany.json()).toEqual({ logs_limit: ["Ensure this value is less than or equal to 5000."] })
      },
      { worker: true }
    ))

  it("puts a failed job's error lines in stderr and its error in progress.errors", () =>
    withCompat(
      async ({ app, run }) => {
        const created = await create(app, { name: "b", project_id: 1, job_type_key: "broken" }, "?start_now")
        await settled(run, (await run(listByNumber(created.id))).id)
        const job = await (await call(app, `/api/v2/jobs/${created.id}/`)).json()
        expect(job.status).toBe("FAILURE")
        expect(job.logs.stderr).toContain("the disk is on fire")
        expect(job.progress.errors).toEqual(["broken on purpose"])
      },
      { worker: true }
    ))

  it("answers an unknown or non-integer id with a DRF 404", () =>
    withCompat(async ({ app }) => {
      for (const path of ["/api/v2/jobs/99/", "/api/v2/jobs/abc", "/api/v2/jobs/99/run/"]) {
        const response = await call(app, path, path.endsWith("run/") ? { method: "POST" } : undefined)
        expect(response.status).toBe(404)
        expect(await response.json()).toEqual({ detail: "Not found." })
      }
    }))

  it("answers HEAD and OPTIONS as DRF does, with Allow, and refuses other methods with 405", () =>
    withCompat(async ({ app }) => {
      await create(app, threeStages("h"))
      const head = await call(app, "/api/v2/jobs/1/", { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(await head.text()).toBe("")
      expect(head.headers.get("allow")).toBe("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
      const options = await call(app, "/api/v2/jobs/1/", { method: "OPTIONS" })
      expect(options.status).toBe(200)
      expect(await options.json()).toMatchObject({
        name: "Job Instance",
        actions: { PUT: { name: { required: true } } }
      })
      const list = await call(app, "/api/v2/jobs", { method: "OPTIONS" })
      expect(list.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS")
      expect(await list.json()).toMatchObject({
        name: "Job List",
        actions: { POST: { project_id: { required: true } } }
      })
      const refused = await call(app, "/api/v2/jobs/1/", { method: "POST" })
      expect(refused.status).toBe(405)
      expect(await refused.json()).toEqual({ detail: 'Method "POST" not allowed.' })
    }))
})

describe("Antenna: actions and edits", () => {
  it("runs, cancels and retries (200 with the job); an action the status refuses is a 409 detail", () =>
    withCompat(async ({ app }) => {
      await create(app, threeStages("a"))
      const ran = await call(app, "/api/v2/jobs/1/run/", { method: "POST" })
      expect(ran.status).toBe(200)
      expect((await ran.json()).status).toBe("PENDING")
      const again = await call(app, "/api/v2/jobs/1/run", { method: "POST" })
      expect(again.status).toBe(409)
      expect(await again.json()).toEqual({ detail: "Cannot run job #1: it is PENDING." })
      expect((await (await call(app, "/api/v2/jobs/1/cancel/", { method: "POST" })).json()).status).toBe("REVOKED")
      expect((await (await call(app, "/api/v2/jobs/1/retry/", { method: "POST" })).json()).status).toBe("PENDING")
    }))

  it("edits with PATCH and PUT while the job may be edited, else a 409; PUT needs its required fields", () =>
    withCompat(async ({ app }) => {
      await create(app, threeStages("old"))
      const patched = await call(app, "/api/v2/jobs/1/", json("PATCH", { name: "new", pipeline_id: 5 }))
      expect(patched.status).toBe(200)
      expect(await patched.json()).toMatchObject({ name: "new", pipeline: { id: 5 } })
      const incomplete = await call(app, "/api/v2/jobs/1/", json("PUT", { delay: 1 }))
      expect(incomplete.status).toBe(400)
      expect(await incomplete.json()).toEqual({
        name: ["This field is required."],
        project_id: ["This field is required."]
      })
      const moved = await call(app, "/api/v2/jobs/1/", json("PATCH", { project_id: 99 }))
      expect(await moved.json()).toEqual({ project_id: ["A job's project cannot be changed."] })
      const put = await call(app, "/api/v2/jobs/1/", json("PUT", { name: "put", project_id: 18 }))
      expect((await put.json()).name).toBe("put")
      await call(app, "/api/v2/jobs/1/cancel/", { method: "POST" })
      const late = await call(app, "/api/v2/jobs/1/", json("PATCH", { name: "late" }))
      expect(late.status).toBe(409)
      expect(await late.json()).toEqual({ detail: "Cannot edit job #1: it is REVOKED." })
    }))

  it("deletes with 204, after which the job is a 404", () =>
    withCompat(async ({ app }) => {
      await create(app, threeStages("gone"), "?start_now")
      const deleted = await call(app, "/api/v2/jobs/1/", { method: "DELETE" })
      expect(deleted.status).toBe(204)
      expect(await deleted.text()).toBe("")
      expect((await call(app, "/api/v2/jobs/1/")).status).toBe(404)
    }))
})

describe("Antenna: permissions and scope", () => {
  it("fills user_permissions from authorize, per job and on the list, and refuses with a 403 detail", () =>
    withCompat(
      async ({ app }) => {
        const refused = await call(app, "/api/v2/jobs/", json("POST", threeStages("x")))
        expect(refused.status).toBe(403)
        expect(await refused.json()).toEqual({ detail: "You do not have permission to perform this action." })
      },
      { authorize: (action) => action === "view" }
    ).then(() =>
      withCompat(
        async ({ app }) => {
          await create(app, threeStages("x"))
          const page = await (await call(app, "/api/v2/jobs")).json()
          expect(page.user_permissions).toEqual(["create"])
          expect(page.results[0].user_permissions).toEqual(["update", "run"])
          expect((await call(app, "/api/v2/jobs/1/", { method: "DELETE" })).status).toBe(403)
        },
        { authorize: (action) => action !== "delete" && action !== "edit" }
      )
    ))

  it("hides jobs outside the caller's scope: not listed, not counted, a 404 by id, refused on create", () =>
    withCompat(
      async ({ app, run }) => {
        const make = (name: string, owner: string) =>
          run(
            Effect.flatMap(Jobs.Jobs, (jobs) =>
              jobs.create({ type: "three-stages", name, owner, params: { items: 1 } })
            )
          )
        await make("mine", "18")
        const theirs = await make("theirs", "19")
        await make("also mine", "20")
        const page = await (await call(app, "/api/v2/jobs/?ordering=name")).json()
        expect(page.count).toBe(2)
        expect(page.results.map((j: Job) => j.name)).toEqual(["also mine", "mine"])
        expect((await call(app, `/api/v2/jobs/${theirs.job.number}/`)).status).toBe(404)
        expect((await (await call(app, "/api/v2/jobs/?project_id=19")).json()).count).toBe(0)
        const other = await call(app, "/api/v2/jobs/", json("POST", threeStages("theirs", { project_id: 19 })))
        expect(other.status).toBe(400)
        expect(await other.json()).toEqual({ project_id: ['Invalid pk "19" - object does not exist.'] })
      },
      { scope: () => ({ owners: ["18", "20"] }) }
    ))
})

describe("Antenna: OpenAPI", () => {
  it("serves its own OpenAPI document listing every route", () =>
    withCompat(async ({ app }) => {
      const document = await (await call(app, "/api/v2/openapi.json")).json()
      expect(document.servers).toEqual([{ url: "/api/v2" }])
      expect(Object.keys(document.paths)).toEqual([
        "/jobs/",
        "/jobs/{id}/",
        "/jobs/{id}/run/",
        "/jobs/{id}/cancel/",
        "/jobs/{id}/retry/"
      ])
    }))
})
