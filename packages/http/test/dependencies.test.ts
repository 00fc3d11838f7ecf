// Dependencies over HTTP: dependsOn at create (one and batch), its 400s, the list filters, stats, delete 409 / force,
// the OpenAPI document, and a dependent run by a real worker once its dependency succeeded.
import { describe, expect, it } from "@effect/vitest"
import { awaitTerminal, expectProblem, json, withApi, withWorkerApi } from "./support.js"

const delay = (extra: Record<string, unknown> = {}) => ({ type: "delay", params: { seconds: 0 }, ...extra })

describe("dependencies over HTTP", () => {
  it("a job created with dependsOn waits; the list filters it, stats count it, and it runs after its dependency", () =>
    withWorkerApi(async ({ app }) => {
      const first = await (await app.request("/jobs", json("POST", delay()))).json()
      const second = await (
        await app.request("/jobs?startNow=true", json("POST", delay({ dependsOn: [first.id, first.id] })))
      ).json()
      expect(second).toMatchObject({ status: "QUEUED", dependsOn: [first.id], waitingOn: 1, dependencyPolicy: "fail" })
      const waiting = await (await app.request("/jobs?waiting=true")).json()
      expect(waiting.items.map((j: { id: string }) => j.id)).toEqual([second.id])
      const children = await (await app.request(`/jobs?dependsOn=${first.id}`)).json()
      expect(children.items.map((j: { id: string }) => j.id)).toEqual([second.id])
      const stats = await (await app.request("/jobs/stats")).json()
      expect(stats.waiting).toBe(1)
      expect(stats.byStatus.QUEUED).toBe(1)
      expect((await app.request(`/jobs/${first.id}/run`, { method: "POST" })).status).toBe(200)
      await awaitTerminal(app, second.id)
      const done = await (await app.request(`/jobs/${second.id}`)).json()
      expect(done).toMatchObject({ status: "SUCCEEDED", waitingOn: 0 })
    }))

  it("an unknown dependency is a 400 naming dependsOn and its index, in one job and in a batch", () =>
    withApi(async ({ app }) => {
      const known = await (await app.request("/jobs", json("POST", delay()))).json()
      const one = await expectProblem(
        await app.request("/jobs", json("POST", delay({ dependsOn: [known.id, "nope"] }))),
        400
      )
      expect(one.errors).toEqual([{ path: "dependsOn[1]", message: "no such job" }])
      const many = await expectProblem(
        await app.request("/jobs", json("POST", { jobs: [delay(), delay({ dependsOn: ["nope"] })] })),
        400
      )
      expect(many.errors).toEqual([{ path: "jobs[1].dependsOn[0]", message: "no such job" }])
      const policy = await expectProblem(
        await app.request("/jobs", json("POST", delay({ dependencyPolicy: "maybe" }))),
        400
      )
      expect(new Set((policy.errors as Array<{ path: string }>).map((e) => e.path))).toEqual(
        new Set(["dependencyPolicy"])
      )
      const waiting = await expectProblem(await app.request("/jobs?waiting=maybe"), 400)
      expect((waiting.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(["waiting"])
    }))

  it("a batch's job may depend on jobs created before; a failed dependency fails it at once", () =>
    withApi(async ({ app }) => {
      const a = await (await app.request("/jobs", json("POST", delay()))).json()
      expect((await app.request(`/jobs/${a.id}/cancel`, { method: "POST" })).status).toBe(200)
      const batch = await (
        await app.request(
          "/jobs",
          json("POST", { jobs: [delay({ dependsOn: [a.id] }), delay({ dependsOn: [a.id], dependencyPolicy: "run" })] })
        )
      ).json()
      expect(
        batch.jobs.map((j: { status: string; terminalReason: string | null }) => [j.status, j.terminalReason])
      ).toEqual([
        ["FAILED", "dependency_failed"],
        ["CREATED", null]
      ])
    }))

  it("deleting a job others wait on is a 409 naming how many, unless force=true", () =>
    withApi(async ({ app }) => {
      const base = await (await app.request("/jobs", json("POST", delay()))).json()
      const waiter = await (
        await app.request("/jobs?startNow=true", json("POST", delay({ dependsOn: [base.id] })))
      ).json()
      const refused = await expectProblem(await app.request(`/jobs/${base.id}`, { method: "DELETE" }), 409)
      expect(refused).toMatchObject({ jobId: base.id, dependents: 1, action: "delete" })
      const bulk = await (await app.request("/jobs?status=CREATED", { method: "DELETE" })).json()
      expect(bulk.deleted, "bulk delete skips a job others wait on").toBe(0)
      expect((await app.request(`/jobs/${base.id}?force=true`, { method: "DELETE" })).status).toBe(204)
      const after = await (await app.request(`/jobs/${waiter.id}`)).json()
      expect(after).toMatchObject({ status: "FAILED", terminalReason: "dependency_failed" })
    }))

  it("the OpenAPI document shows the dependency fields and filters", () =>
    withApi(async ({ app }) => {
      const doc = JSON.stringify(await (await app.request("/openapi.json")).json())
      for (const name of ["dependsOn", "waitingOn", "dependencyPolicy", "dependency_failed", "waiting"]) {
        expect(doc).toContain(`"${name}"`)
      }
    }))
})
