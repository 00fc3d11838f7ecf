import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { createJob, withApi } from "./support.js"

/** Every route; `{id}` is filled with a real id, an unknown one or garbage. */
const routes: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/jobs"],
  ["GET", "/jobs/"],
  ["POST", "/jobs"],
  ["POST", "/jobs/"],
  ["DELETE", "/jobs"],
  ["GET", "/jobs/stats"],
  ["GET", "/jobs/{id}"],
  ["GET", "/jobs/{id}/"],
  ["PATCH", "/jobs/{id}"],
  ["DELETE", "/jobs/{id}"],
  ["POST", "/jobs/{id}/run"],
  ["POST", "/jobs/{id}/cancel"],
  ["POST", "/jobs/{id}/retry"],
  ["POST", "/jobs/{id}/pause"],
  ["POST", "/jobs/{id}/resume"],
  ["GET", "/jobs/{id}/logs"],
  ["GET", "/jobs/{id}/result"],
  ["GET", "/jobs/{id}/events"],
  ["GET", "/results/{id}"],
  ["GET", "/results/{id}/job"],
  ["GET", "/batches/{id}"],
  ["GET", "/job-types"],
  ["GET", "/openapi.json"]
]

const queryKeys = [
  "status",
  "type",
  "queue",
  "owner",
  "tag",
  "batchId",
  "q",
  "createdAfter",
  "createdBefore",
  "finishedBefore",
  "sort",
  "order",
  "limit",
  "cursor",
  "withTotal",
  "startNow",
  "start_now",
  "logs",
  "force",
  "all",
  "compact",
  "x"
]

const nasty = [
  "",
  "%",
  "%ZZ",
  "%00",
  "-1",
  "0",
  "1e3",
  "1001",
  "5001",
  "NaN",
  "true",
  "yes",
  "active,terminal",
  "QUEUED,"
]

const queryValue = fc.oneof(
  fc.constantFrom(...nasty),
  fc.integer({ min: -10, max: 10_000 }).map(String),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom("QUEUED", "active", "terminal", "asc", "desc", "priority", "2024-01-01T00:00:00Z", "false", "50")
)

const queryString = fc.oneof(
  fc.constant(""),
  fc
    .array(fc.tuple(fc.constantFrom(...queryKeys), queryValue), { maxLength: 5 })
    .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`)),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}`)
)

/** A field that is valid half the time. */
const maybe = <A>(valid: fc.Arbitrary<A>) => fc.oneof(valid, fc.jsonValue())

const almostValidJob = fc.record(
  {
    type: fc.constantFrom("delay", "delay", "three-stages", "nope", ""),
    params: fc.oneof(
      fc.record({ seconds: maybe(fc.integer({ min: -1, max: 5 })) }),
      fc.record({ items: maybe(fc.integer({ min: 0, max: 101 })) }),
      fc.jsonValue()
    ),
    name: maybe(fc.string({ maxLength: 20 })),
    priority: maybe(fc.integer({ min: -5, max: 5 })),
    tags: maybe(fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 })),
    runAt: maybe(fc.constant("2024-01-01T00:00:00Z")),
    maxAttempts: maybe(fc.integer({ min: 0, max: 5 })),
    idempotencyKey: maybe(fc.constantFrom("k1", "k2"))
  },
  { requiredKeys: ["type"] }
)

const validJob = fc.record(
  {
    type: fc.constant("delay"),
    params: fc.record({ seconds: fc.integer({ min: 0, max: 5 }) }),
    name: fc.string({ maxLength: 20 }),
    idempotencyKey: fc.constantFrom("k1", "k2")
  },
  { requiredKeys: ["type", "params"] }
)

const body = fc.oneof(
  fc.constant(undefined),
  fc.record({ type: fc.constant("application/json"), text: validJob.map((v) => JSON.stringify(v)) }),
  fc.record({ type: fc.constant("application/json"), text: fc.jsonValue().map((v) => JSON.stringify(v)) }),
  fc.record({ type: fc.constant("application/json"), text: almostValidJob.map((v) => JSON.stringify(v)) }),
  fc.record({
    type: fc.constant("application/json"),
    text: fc.array(almostValidJob, { maxLength: 3 }).map((jobs) => JSON.stringify({ jobs }))
  }),
  fc.record({ type: fc.constant("application/json"), text: fc.string({ maxLength: 40 }) }),
  fc.record({
    type: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "", "application/merge-patch+json"),
    text: fc.string({ maxLength: 40 })
  })
)

const request = fc.record({
  route: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...routes) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT"),
        fc.constantFrom(...routes.map(([, path]) => path))
      )
    }
  ),
  // an index into the live jobs (re-seeded when deleted), or garbage
  id: fc.oneof(
    { weight: 4, arbitrary: fc.nat() },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) }
  ),
  query: queryString,
  body
})

/** Every stored job, in full: any change shows. */
const snapshot = Effect.flatMap(Jobs.Jobs, (jobs) =>
  Effect.map(jobs.list({ limit: 1000, sort: "createdAt", order: "asc" }), (page) => JSON.stringify(page.items))
)

describe("any request", () => {
  it(
    "never gets a 5xx or a crash, errors are problems, and a refused request changes no stored job",
    () =>
      withApi(
        async ({ app, run }) => {
          // jobs in several statuses, made again whenever requests deleted most of them
          const seed = async () => {
            await run(createJob({ type: "delay", params: { seconds: 1 } }))
            await run(createJob({ type: "delay", params: { seconds: 1 } }, { startNow: true }))
            const paused = await run(createJob({ type: "delay", params: { seconds: 1 } }, { startNow: true }))
            await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.pause(paused.id)))
            const cancelled = await run(createJob({ type: "delay", params: { seconds: 1 } }))
            await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(cancelled.id)))
          }
          const liveIds = async () => {
            let items = (await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list({ limit: 1000 })))).items
            if (items.length < 4) {
              await seed()
              items = (await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.list({ limit: 1000 })))).items
            }
            return [
              ...items.map((job) => job.id),
              ...items.flatMap((job) => (job.batchId === null ? [] : [job.batchId]))
            ]
          }

          await fc.assert(
            fc.asyncProperty(request, async ({ route: [method, template], id, query, body }) => {
              const ids = await liveIds()
              const target = typeof id === "number" ? ids[id % ids.length]! : id
              const before = await run(snapshot)
              const headers: Record<string, string> = {}
              if (body !== undefined && body.type !== "") headers["content-type"] = body.type
              const init: RequestInit = { method, headers }
              if (body !== undefined && method !== "GET") {
                init.body = new TextEncoder().encode(body.text)
              }
              const response = await app.request(template.replace("{id}", target) + query, init)
              const contentType = response.headers.get("content-type") ?? ""
              if (contentType.includes("text/event-stream")) await response.body?.cancel()
              else await response.arrayBuffer()

              expect(response.status).toBeLessThan(500)
              if (response.status >= 400) {
                expect(contentType).toBe("application/problem+json")
                expect(await run(snapshot)).toBe(before)
              }
            }),
            { numRuns: 400 }
          )
        },
        { bodyLimit: 64 * 1024 }
      ),
    120_000
  )
})
