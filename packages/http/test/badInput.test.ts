// Odd input is a 400 naming the field (or a 404 for an id), alike on every store, and never a 500.
import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { stores } from "./stores.js"
import { createJob, expectProblem, json, withApi } from "./support.js"

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

/** `[[[…]]]` nested `depth` deep around `inner`. */
const nested = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth)

const fieldsOf = (problem: Record<string, unknown>) => (problem.errors as Array<{ path: string }>).map((e) => e.path)

for (const [name, store] of stores) {
  describe(`odd input on ${name}`, () => {
    it("a NUL or a lone surrogate in a query filter is a 400 naming the parameter", () =>
      withApi(
        async ({ app }) => {
          for (const field of ["owner", "q", "tag", "batchId", "type", "queue"]) {
            for (const value of ["a%00b", "%00"]) {
              const problem = await expectProblem(await app.request(`/jobs?${field}=${value}`), 400)
              expect(fieldsOf(problem), `${field}=${value}`).toEqual([field])
            }
          }
          const stats = await expectProblem(await app.request("/jobs/stats?owner=%00"), 400)
          expect(fieldsOf(stats)).toEqual(["owner"])
          const bulk = await expectProblem(await app.request("/jobs?type=a%00", { method: "DELETE" }), 400)
          expect(fieldsOf(bulk)).toEqual(["type"])
        },
        {},
        store()
      ))

    it("an id with a NUL or a lone surrogate is a 404 on every per-job route", () =>
      withApi(
        async ({ app }) => {
          for (const id of ["%00", "a%00b", "%ED%A0%80"]) {
            for (const [method, path] of [
              ["GET", `/jobs/${id}`],
              ["PATCH", `/jobs/${id}`],
              ["DELETE", `/jobs/${id}`],
              ["POST", `/jobs/${id}/run`],
              ["POST", `/jobs/${id}/cancel`],
              ["GET", `/jobs/${id}/logs`],
              ["GET", `/jobs/${id}/result`],
              ["GET", `/jobs/${id}/events`],
              ["GET", `/results/${id}`],
              ["GET", `/results/${id}/job`],
              ["GET", `/batches/${id}`]
            ] as const) {
              const init = method === "PATCH" ? json("PATCH", { name: "x" }) : { method }
              const response = await app.request(path, init)
              expect(response.status, `${method} ${path}`).toBe(404)
              await response.arrayBuffer()
            }
          }
        },
        {},
        store()
      ))

    it("a NUL or a lone surrogate in any body string is a 400 naming the field, and nothing is stored", () =>
      withApi(
        async ({ app, run }) => {
          const cases: ReadonlyArray<readonly [string, string]> = [
            ['{"type":"delay","params":{"seconds":1},"name":"a\\u0000b"}', "name"],
            ['{"type":"delay","params":{"seconds":1},"name":"\\ud800"}', "name"],
            ['{"type":"delay","params":{"seconds":1},"tags":["ok","\\udc00x"]}', "tags[1]"],
            ['{"type":"delay","params":{"seconds":1},"owner":"\\ud800"}', "owner"],
            ['{"type":"delay","params":{"seconds":1},"owner":"o\\u0000"}', "owner"],
            ['{"type":"delay","params":{"seconds":1},"metadata":{"k":"\\u0000"}}', "metadata.k"],
            ['{"type":"delay","params":{"seconds":1},"metadata":{"\\ud800":1}}', "metadata.\ud800"],
            ['{"type":"delay","params":{"seconds":1},"idempotencyKey":"\\ud800"}', "idempotencyKey"],
            ['{"type":"three-stages","params":{"items":1,"note":"\\u0000"}}', "params.note"],
            ['{"jobs":[{"type":"delay","params":{"seconds":1},"name":"\\ud800"}]}', "jobs[0].name"]
          ]
          for (const [body, field] of cases) {
            const response = await app.request("/jobs", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body
            })
            const problem = await expectProblem(response, 400)
            expect(fieldsOf(problem), body).toEqual([field])
          }
          const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
          const patch = await app.request(`/jobs/${job.id}`, {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: '{"name":"\\ud800"}'
          })
          expect(fieldsOf(await expectProblem(patch, 400))).toEqual(["name"])
          const page = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list({ withTotal: true })))
          expect(page.total).toBe(1)
          expect(page.items[0]?.name).toBe(job.name)
        },
        {},
        store()
      ))

    it("a hand-made cursor is a 400 naming cursor", () =>
      withApi(
        async ({ app, run }) => {
          const hostile = [
            ["createdAt", cursor({ id: "x", value: 1.5 })],
            ["createdAt", cursor({ id: "x", value: 1e300 })],
            ["priority", cursor({ id: "x", value: 3e9 })],
            ["priority", cursor({ id: "x", value: -3e9 })],
            ["name", cursor({ id: "x", value: "a\u0000" })],
            ["name", cursor({ id: "x\ud800", value: "a" })],
            ["createdAt", cursor({ id: "\u0000", value: 1 })],
            ["createdAt", cursor([1, 2])],
            ["createdAt", "not-base64-json"]
          ] as const
          for (const [sort, text] of hostile) {
            const problem = await expectProblem(await app.request(`/jobs?sort=${sort}&cursor=${text}`), 400)
            expect(fieldsOf(problem), `${sort} ${text}`).toEqual(["cursor"])
          }
          const job = await run(createJob({ type: "delay", params: { seconds: 1 } }))
          const logs = await app.request(`/jobs/${job.id}/logs?cursor=${cursor("99999999999999999999999")}`)
          expect(fieldsOf(await expectProblem(logs, 400))).toEqual(["cursor"])
        },
        {},
        store()
      ))

    it("params nested deeper than 64 levels are a 400 naming the field, without a stack overflow", () =>
      withApi(
        async ({ app }) => {
          for (const depth of [65, 10_000, 100_000]) {
            for (const [body, field] of [
              [`{"type":"three-stages","params":${nested(depth)}}`, "params"],
              [`{"type":"three-stages","params":{"items":1,"x":${nested(depth)}}}`, "params"],
              [`{"type":"delay","params":{"seconds":1},"metadata":{"m":${nested(depth)}}}`, "metadata"],
              [`{"jobs":[{"type":"delay","params":${nested(depth)}}]}`, "jobs[0].params"]
            ] as const) {
              const response = await app.request("/jobs", {
                method: "POST",
                headers: { "content-type": "application/json" },
                body
              })
              const problem = await expectProblem(response, 400)
              expect(fieldsOf(problem), `${field} at depth ${depth}`).toEqual([field])
            }
          }
          // 64 levels are fine where the type takes any JSON (metadata values)
          const ok = await app.request(
            "/jobs",
            json("POST", { type: "delay", params: { seconds: 1 }, metadata: { m: JSON.parse(nested(63)) } })
          )
          expect(ok.status).toBe(201)
        },
        { bodyLimit: 1024 * 1024 },
        store()
      ))

    it("a field the type's params Schema does not declare is a 400 naming it", () =>
      withApi(
        async ({ app }) => {
          const response = await app.request(
            "/jobs",
            json("POST", { type: "three-stages", params: { items: 1, fromat: "json" } })
          )
          const problem = await expectProblem(response, 400)
          expect(fieldsOf(problem)).toEqual(["params.fromat"])
        },
        {},
        store()
      ))

    it("a filter date that is not ISO 8601 is a 400 naming the parameter", () =>
      withApi(
        async ({ app }) => {
          for (const field of ["createdAfter", "createdBefore", "finishedBefore"]) {
            for (const value of ["1", "2001", "tomorrow", "May 1 2024", "2024-13-45"]) {
              const problem = await expectProblem(await app.request(`/jobs?${field}=${encodeURIComponent(value)}`), 400)
              expect(fieldsOf(problem), `${field}=${value}`).toEqual([field])
            }
            for (const value of ["2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123+02:00"]) {
              const response = await app.request(`/jobs?${field}=${encodeURIComponent(value)}`)
              expect(response.status, `${field}=${value}`).toBe(200)
              await response.arrayBuffer()
            }
          }
          const runAt = await app.request("/jobs", json("POST", { type: "delay", params: { seconds: 1 }, runAt: "1" }))
          expect(fieldsOf(await expectProblem(runAt, 400))).toEqual(["runAt"])
        },
        {},
        store()
      ))

    it("a callback URL with credentials is a 400 naming callbackUrl", () =>
      withApi(
        async ({ app }) => {
          const response = await app.request(
            "/jobs",
            json("POST", { type: "delay", params: { seconds: 1 }, callbackUrl: "https://me:secret@example.com/hook" })
          )
          const problem = await expectProblem(response, 400)
          expect(fieldsOf(problem)).toEqual(["callbackUrl"])
        },
        {},
        store()
      ))
  })
}
