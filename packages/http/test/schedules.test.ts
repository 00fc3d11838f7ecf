import { describe, expect, it } from "@effect/vitest"
import { JobSchedules, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { JobsApi } from "../src/index.js"
import { ThreeStages, withApi } from "./support.js"

/** The sub-app over an engine with the schedules service. */
const withSchedules = async (
  f: (app: ReturnType<typeof JobsApi.make>) => Promise<void>,
  options: Omit<JobsApi.Options, "runtime"> = {}
) => {
  const runtime = ManagedRuntime.make(
    JobSchedules.layer().pipe(
      Layer.provideMerge(Jobs.layer({ types: [ThreeStages] })),
      Layer.provideMerge(MemoryJobStore.layer)
    )
  )
  try {
    await f(JobsApi.make({ runtime, ...options }))
  } finally {
    await runtime.dispose()
  }
}

const send = (app: ReturnType<typeof JobsApi.make>, method: string, path: string, body?: unknown) =>
  app.request(path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
  })

describe("schedule routes", () => {
  it("create, read, list, pause, resume, replace and delete a schedule", async () => {
    await withSchedules(async (app) => {
      const created = await send(app, "POST", "/schedules", {
        key: "nightly",
        cron: "0 2 * * *",
        timeZone: "Europe/Berlin",
        type: "three-stages",
        params: { items: 3 },
        missed: { backfill: 2 }
      })
      expect(created.status).toBe(201)
      expect(created.headers.get("location")).toBe("/schedules/nightly")
      const schedule = await created.json()
      expect(schedule).toMatchObject({
        key: "nightly",
        cron: "0 2 * * *",
        timeZone: "Europe/Berlin",
        everyMs: null,
        missed: { backfill: 2 },
        paused: false,
        source: "api",
        lastRunAt: null,
        job: { type: "three-stages", params: { items: 3 }, queue: "default" }
      })
      expect(schedule.nextRunAt).toMatch(/^\d{4}-\d{2}-\d{2}T0[01]:00:00\.000Z$/)

      expect(
        (
          await send(app, "POST", "/schedules", {
            key: "nightly",
            everyMs: 60_000,
            type: "three-stages",
            params: { items: 1 }
          })
        ).status
      ).toBe(409)
      expect(await (await send(app, "GET", "/schedules/nightly")).json()).toEqual(schedule)
      expect((await (await send(app, "GET", "/schedules")).json()).items.map((s: { key: string }) => s.key)).toEqual([
        "nightly"
      ])

      const paused = await send(app, "POST", "/schedules/nightly/pause")
      expect(paused.status).toBe(200)
      expect((await paused.json()).paused).toBe(true)
      expect((await (await send(app, "POST", "/schedules/nightly/resume/")).json()).paused).toBe(false)

      const replaced = await send(app, "PUT", "/schedules/nightly", {
        everyMs: 90_000,
        type: "three-stages",
        params: { items: 5 }
      })
      expect(replaced.status).toBe(200)
      expect(await replaced.json()).toMatchObject({ everyMs: 90_000, cron: null, job: { params: { items: 5 } } })
      const fresh = await send(app, "PUT", "/schedules/other", {
        everyMs: 60_000,
        type: "three-stages",
        params: { items: 1 }
      })
      expect(fresh.status).toBe(201)

      expect((await send(app, "DELETE", "/schedules/nightly")).status).toBe(204)
      expect((await send(app, "GET", "/schedules/nightly")).status).toBe(404)
      expect((await send(app, "DELETE", "/schedules/nightly")).status).toBe(404)
      const missing = await send(app, "POST", "/schedules/nope/pause")
      expect(missing.status).toBe(404)
      expect(await missing.json()).toMatchObject({ scheduleKey: "nope", title: "Schedule not found" })
    })
  })

  it("a bad cron expression, time zone, type, params or key is a 400 naming the field", async () => {
    await withSchedules(async (app) => {
      const fields = async (body: unknown) => {
        const response = await send(app, "POST", "/schedules", body)
        expect(response.status).toBe(400)
        expect(response.headers.get("content-type")).toContain("application/problem+json")
        return ((await response.json()).errors as Array<{ path: string }>).map((e) => e.path)
      }
      const base = { key: "k", type: "three-stages", params: { items: 1 } }
      expect(await fields({ ...base, cron: "61 * * * *" })).toEqual(["cron"])
      expect(await fields({ ...base, cron: "0 * * * *", timeZone: "Mars/Olympus" })).toEqual(["timeZone"])
      expect(await fields({ ...base })).toEqual(["cron"])
      expect(await fields({ ...base, everyMs: 5 })).toEqual(["everyMs"])
      expect(await fields({ ...base, key: "a b", cron: "* * * * *" })).toEqual(["key"])
      expect(await fields({ ...base, cron: "* * * * *", type: "nope" })).toEqual(["type"])
      expect(await fields({ ...base, cron: "* * * * *", params: { items: 0 } })).toEqual(["params.items"])
      expect(await fields({ ...base, cron: "* * * * *", color: "red" })).toEqual(["color"])
      const mismatch = await send(app, "PUT", "/schedules/one", { ...base, key: "two", cron: "* * * * *" })
      expect(mismatch.status).toBe(400)
      expect((await mismatch.json()).errors).toEqual([{ path: "key", message: "must be the key of the path" }])
    })
  })

  it("show a tenant only its own schedules: another's is unlisted and a 404, and owners outside the scope are a 400", async () => {
    // the tenant is the request's `x-tenant` header, as a host's middleware would decide it
    const scope = (c: { req: { header: (name: string) => string | undefined } }) => ({
      owners: [c.req.header("x-tenant") ?? "nobody"]
    })
    await withSchedules(
      async (app) => {
        const as = (tenant: string, method: string, path: string, body?: unknown) =>
          app.request(path, {
            method,
            headers: { "x-tenant": tenant, ...(body === undefined ? {} : { "content-type": "application/json" }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
          })
        const input = { key: "a-nightly", cron: "0 2 * * *", type: "three-stages", params: { items: 1 } }
        const created = await as("a", "POST", "/schedules", input)
        expect(created.status).toBe(201)
        expect((await created.json()).job.owner).toBe("a")

        expect((await (await as("a", "GET", "/schedules")).json()).items.map((s: { key: string }) => s.key)).toEqual([
          "a-nightly"
        ])
        expect((await (await as("b", "GET", "/schedules")).json()).items).toEqual([])
        expect((await as("b", "GET", "/schedules/a-nightly")).status).toBe(404)
        expect((await as("b", "POST", "/schedules/a-nightly/pause")).status).toBe(404)
        expect((await as("b", "PUT", "/schedules/a-nightly", { ...input, key: undefined })).status).toBe(404)
        expect((await as("b", "DELETE", "/schedules/a-nightly")).status).toBe(404)
        const foreign = await as("b", "POST", "/schedules", { ...input, key: "b-as-a", owner: "a" })
        expect(foreign.status).toBe(400)
        expect((await foreign.json()).errors).toEqual([{ path: "owner", message: "is not one of your owners" }])

        // the owner's schedule is untouched by all of that
        const mine = await (await as("a", "GET", "/schedules/a-nightly")).json()
        expect(mine).toMatchObject({ key: "a-nightly", paused: false, job: { owner: "a" } })
      },
      { scope }
    )
  })

  it("are in the OpenAPI document", async () => {
    await withSchedules(async (app) => {
      const document = await (await send(app, "GET", "/openapi.json")).json()
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(["/schedules", "/schedules/{key}", "/schedules/{key}/pause", "/schedules/{key}/resume"])
      )
      expect(Object.keys(document.paths["/schedules/{key}"]).sort()).toEqual(["delete", "get", "put"])
    })
  })

  it("answer 501 when the runtime has no schedules service", async () => {
    await withApi(async ({ app }) => {
      const response = await app.request("/schedules")
      expect(response.status).toBe(501)
    })
  })
})
