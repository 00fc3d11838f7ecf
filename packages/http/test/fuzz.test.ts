import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { stores } from "./stores.js"
import { createJob, withApi } from "./support.js"

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

/** `[[[…]]]` (or `{"a":{…}}`) nested `depth` deep. */
const nested = (depth: number, object: boolean) =>
  object ? '{"a":'.repeat(depth) + "1" + "}".repeat(depth) : "[".repeat(depth) + "1" + "]".repeat(depth)

/** Strings no store keeps as given: NUL and lone surrogates, alone or inside text. */
const hostileText = fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udc00", "\udbff\u0000", "ok\ud83d")

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
  "QUEUED,",
  "a%00b",
  "%ED%A0%80",
  "%F0%9F%98%80",
  "1",
  "2001",
  "2024-13-45",
  cursorOf({ id: "x", value: 1.5 }),
  cursorOf({ id: "x", value: 1e300 }),
  cursorOf({ id: "x", value: 3e9 }),
  cursorOf({ id: "x", value: -3e9 }),
  cursorOf({ id: "\u0000", value: 1 }),
  cursorOf({ id: "x", value: "a\u0000" }),
  cursorOf({ id: "x\ud800", value: "b" }),
  cursorOf("99999999999999999999999"),
  cursorOf("1\u0000")
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
    idempotencyKey: maybe(fc.constantFrom("k1", "k2")),
    owner: maybe(fc.oneof(fc.string({ maxLength: 5 }), hostileText)),
    metadata: maybe(fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), hostileText), hostileText, { maxKeys: 2 }))
  },
  { requiredKeys: ["type"] }
)

/** A create body with one hostile string somewhere. */
const hostileJob = fc
  .tuple(fc.constantFrom("name", "owner", "queue", "idempotencyKey", "tags", "params", "metadata"), hostileText)
  .map(([field, text]) => {
    const job: Record<string, unknown> = { type: "three-stages", params: { items: 1 } }
    if (field === "tags") job.tags = ["ok", text]
    else if (field === "params") job.params = { items: 1, [text]: text }
    else if (field === "metadata") job.metadata = { [text]: text }
    else job[field] = text
    return job
  })

/** A create body whose params (or metadata) nest far too deep, or whose params carry a field the type lacks. */
const deepBody = fc
  .tuple(fc.constantFrom(65, 1_000, 20_000, 100_000), fc.boolean(), fc.constantFrom("params", "metadata", "jobs"))
  .map(([depth, object, where]) =>
    where === "params"
      ? `{"type":"three-stages","params":${nested(depth, object)}}`
      : where === "metadata"
        ? `{"type":"delay","params":{"seconds":1},"metadata":{"m":${nested(depth, object)}}}`
        : `{"jobs":[{"type":"three-stages","params":${nested(depth, object)}}]}`
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
  fc.record({ type: fc.constant("application/json"), text: hostileJob.map((v) => JSON.stringify(v)) }),
  fc.record({ type: fc.constant("application/json"), text: deepBody }),
  fc.record({
    type: fc.constant("application/json"),
    text: fc.constant(JSON.stringify({ type: "three-stages", params: { items: 1, fromat: "json" } }))
  }),
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
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom("%00", "a%00b", "%ED%A0%80", "%C0%80", "..", "%2F", "x".repeat(2000)) }
  ),
  query: queryString,
  body
})

/** Every stored job, in full: any change shows. */
const snapshot = Effect.flatMap(Jobs.Jobs, (jobs) =>
  Effect.map(jobs.list({ limit: 1000, sort: "createdAt", order: "asc" }), (page) => JSON.stringify(page.items))
)

/** Responses per status class, per store, for the issue's figures (printed once each store's run ends). */
const tally = new Map<string, Record<string, number>>()

const runs = Number(process.env.JOBLOOM_FUZZ_RUNS ?? 400)

describe.each(stores)("any request on %s", (storeName, store) => {
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

              const counts = tally.get(storeName) ?? {}
              const kind = `${Math.floor(response.status / 100)}xx`
              counts[kind] = (counts[kind] ?? 0) + 1
              tally.set(storeName, counts)
              expect(response.status).toBeLessThan(500)
              if (response.status >= 400) {
                expect(contentType).toBe("application/problem+json")
                expect(await run(snapshot)).toBe(before)
              }
            }),
            { numRuns: runs }
          )
          console.log(`fuzz ${storeName}: ${runs} requests, by status class ${JSON.stringify(tally.get(storeName))}`)
        },
        { bodyLimit: 256 * 1024 },
        store()
      ),
    600_000
  )
})
