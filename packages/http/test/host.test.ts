import { describe, expect, it } from "@effect/vitest"
import { Jobloom, MemoryJobStore } from "@jobloom/core"
import type { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import { JobsApi } from "../src/index.js"
import { engineLayer, expectProblem, json } from "./support.js"

interface HostEnv {
  Variables: { user: { readonly name: string; readonly admin: boolean } }
}

/** A host with its own auth middleware, routes and error handler; the router mounted under /api/v1. */
const makeHost = (runtime: JobsApi.Options["runtime"]) => {
  const host = new Hono<HostEnv>()
  host.onError((_, c) => c.text("host error handler", 500))
  host.get("/health", (c) => c.text("ok"))
  host.use("*", async (c, next) => {
    const name = c.req.header("x-user")
    if (name === undefined) return c.json({ error: "log in first" }, 401)
    c.set("user", { name, admin: name === "root" })
    await next()
  })
  host.route(
    "/api/v1",
    JobsApi.make<HostEnv>({
      runtime,
      bodyLimit: 10_000,
      authorize: (action, _job, c) => {
        // a bug in the host's hook, met only on mallory's pause request
        if (c.get("user").name === "mallory" && c.req.path.endsWith("/pause")) throw new Error("db password is hunter2")
        if (c.get("user").name === "guest") return false
        return action !== "delete" || c.get("user").admin
      }
    })
  )
  host.get("/api/v1/host-route", (c) => c.text("served by the host"))
  return host
}

const as = (user: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), "x-user": user }
})

describe("mounted in a host app", () => {
  it("runs behind the host's auth, at its prefix, next to the host's own routes", async () => {
    const runtime = ManagedRuntime.make(engineLayer())
    try {
      const host = makeHost(runtime)
      expect(await (await host.request("/health")).text()).toBe("ok")
      expect((await host.request("/api/v1/jobs")).status).toBe(401)
      expect(await (await host.request("/api/v1/host-route", as("alice"))).text()).toBe("served by the host")
      const created = await host.request(
        "/api/v1/jobs",
        as("alice", json("POST", { type: "delay", params: { seconds: 1 } }))
      )
      expect(created.status).toBe(201)
      const job = await created.json()
      expect(created.headers.get("location")).toBe(`/api/v1/jobs/${job.id}`)
      // the host's router is strict, yet the trailing slash stays optional
      expect((await host.request(`/api/v1/jobs/${job.id}/`, as("alice"))).status).toBe(200)
      expect((await host.request("/api/v1/jobs/", as("alice"))).status).toBe(200)
      expect((await host.request(`/api/v1/jobs/${job.id}/events`)).status).toBe(401)
    } finally {
      await runtime.dispose()
    }
  })

  it("lets the hook deny delete to a non-admin with a 403, and shows it in userPermissions", async () => {
    const runtime = ManagedRuntime.make(engineLayer())
    try {
      const host = makeHost(runtime)
      const body = json("POST", { type: "delay", params: { seconds: 1 } })
      const job = await (await host.request("/api/v1/jobs", as("alice", body))).json()
      expect(job.userPermissions).not.toContain("delete")
      expect(job.userPermissions).toContain("cancel")

      const denied = await expectProblem(
        await host.request(`/api/v1/jobs/${job.id}`, as("alice", { method: "DELETE" })),
        403
      )
      expect(denied).toMatchObject({ action: "delete", jobId: job.id, instance: `/api/v1/jobs/${job.id}` })
      expect((await host.request(`/api/v1/jobs/${job.id}`, as("alice"))).status).toBe(200)
      await expectProblem(await host.request("/api/v1/jobs?all=true", as("alice", { method: "DELETE" })), 403)

      // a caller who may not view gets a 403 before anything is read or streamed
      await expectProblem(await host.request("/api/v1/jobs", as("guest")), 403)
      await expectProblem(await host.request(`/api/v1/jobs/${job.id}`, as("guest")), 403)
      await expectProblem(await host.request(`/api/v1/jobs/${job.id}/events`, as("guest")), 403)

      const asRoot = await (await host.request(`/api/v1/jobs/${job.id}`, as("root"))).json()
      expect(asRoot.userPermissions).toContain("delete")
      expect((await host.request(`/api/v1/jobs/${job.id}`, as("root", { method: "DELETE" }))).status).toBe(204)
      await expectProblem(await host.request(`/api/v1/jobs/${job.id}`, as("root")), 404)
    } finally {
      await runtime.dispose()
    }
  })

  it("answers its own errors as problems, a defect as a 500 that leaks nothing, a big body as a 413", async () => {
    const runtime = ManagedRuntime.make(engineLayer())
    try {
      const host = makeHost(runtime)
      const body = json("POST", { type: "delay", params: { seconds: 1 } })
      const job = await (await host.request("/api/v1/jobs?startNow=true", as("mallory", body))).json()
      const defect = await host.request(`/api/v1/jobs/${job.id}/pause`, as("mallory", { method: "POST" }))
      const problem = await expectProblem(defect, 500)
      expect(JSON.stringify(problem)).not.toContain("hunter2")
      expect(problem.detail).toBe("an unexpected error occurred")

      await expectProblem(await host.request("/api/v1/jobs/unknown", as("alice")), 404)
      const big = json("POST", { type: "delay", name: "x".repeat(20_000) })
      const tooLarge = await host.request("/api/v1/jobs", as("alice", big))
      await expectProblem(tooLarge, 413)
      expect(tooLarge.headers.get("connection")).toBe("close")
    } finally {
      await runtime.dispose()
    }
  })

  it("runs on the Promise facade's runtime", async () => {
    const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker: false })
    try {
      const host = new Hono().route("/api", JobsApi.make({ runtime: jobloom.runtime }))
      const created = await host.request("/api/jobs", json("POST", { type: "delay", params: { seconds: 1 } }))
      expect(created.status).toBe(201)
      const { id } = await created.json()
      expect((await jobloom.get(id)).status).toBe("CREATED")
    } finally {
      await jobloom.close()
    }
  })

  it.scoped("runs on an Effect host's own Runtime", () =>
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<Jobs.Jobs>()
      const host = new Hono().route("/jobs-api", JobsApi.make({ runtime }))
      const response = yield* Effect.promise(async () =>
        host.request("/jobs-api/jobs?start_now=true", json("POST", { type: "delay", params: { seconds: 0 } }))
      )
      expect(response.status).toBe(201)
      expect((yield* Effect.promise(() => response.json())).status).toBe("QUEUED")
    }).pipe(Effect.provide(engineLayer()))
  )
})
