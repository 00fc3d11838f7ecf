import { describe, expect, it } from "@effect/vitest"
import { expectProblem, json, withApi } from "./support.js"

describe("job numbers in the native API", () => {
  it("shows each created job's store-assigned number, increasing, and lists by ?number=", () =>
    withApi(async ({ app }) => {
      const created = []
      for (let i = 0; i < 3; i++) {
        const response = await app.request("/jobs", json("POST", { type: "delay", params: { seconds: 1 } }))
        created.push(await response.json())
      }
      const numbers = created.map((job) => job.number)
      expect(numbers.every((n) => Number.isInteger(n) && n >= 1)).toBe(true)
      expect([...numbers].sort((a, b) => a - b)).toEqual(numbers)
      expect(new Set(numbers).size).toBe(3)

      const one = await (await app.request(`/jobs?number=${numbers[1]}`)).json()
      expect(one.items.map((job: { id: string }) => job.id)).toEqual([created[1].id])
      const two = await (await app.request(`/jobs?number=${numbers[0]},${numbers[2]}&order=asc`)).json()
      expect(two.items.map((job: { id: string }) => job.id)).toEqual([created[0].id, created[2].id])
      const detail = await (await app.request(`/jobs/${created[2].id}`)).json()
      expect(detail.number).toBe(numbers[2])
    }))

  it("refuses a number filter that is not a list of positive integers with a 400 naming the field", () =>
    withApi(async ({ app }) => {
      for (const bad of ["abc", "0", "-1", "1.5", "1,,2"]) {
        const problem = await expectProblem(await app.request(`/jobs?number=${bad}`), 400)
        expect(problem.errors).toEqual([expect.objectContaining({ path: "number" })])
      }
    }))

  it("documents number on the job and as a list filter in the OpenAPI document", () =>
    withApi(async ({ app }) => {
      const document = await (await app.request("/openapi.json")).json()
      const list = document.paths["/jobs"].get
      expect(list.parameters.map((p: { name: string }) => p.name)).toContain("number")
      expect(JSON.stringify(document.components.schemas)).toContain('"number":{"type":"integer"')
    }))
})
