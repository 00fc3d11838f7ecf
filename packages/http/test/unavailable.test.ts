// A store that cannot be reached is a 503 problem+json with one log line per request, never a 500.
import { describe, expect, it } from "@effect/vitest"
import { JobStore, MemoryJobStore } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { JobsApi } from "../src/index.js"
import { engineLayer, expectProblem, json } from "./support.js"

/** A store whose every call fails as a driver does when the database is gone (with a multi-line message). */
const downStore = Layer.map(MemoryJobStore.layer, (context) => {
  const store = Context.get(context, JobStore.JobStore)
  const error = new JobStore.JobStoreError({
    reason: "Unavailable",
    message:
      "connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"
  })
  const failing = Object.fromEntries(
    Object.entries(store).map(([key, value]) => [key, typeof value === "function" ? () => Effect.fail(error) : value])
  ) as unknown as JobStore.JobStore.Service
  return Context.make(JobStore.JobStore, failing)
})

const requests: ReadonlyArray<readonly [string, RequestInit]> = [
  ["/jobs", {}],
  ["/jobs?withTotal=true", {}],
  ["/jobs", json("POST", { type: "delay", params: { seconds: 1 } })],
  ["/jobs/stats", {}],
  ["/jobs/01900000-0000-7000-8000-000000000000", {}],
  ["/jobs/01900000-0000-7000-8000-000000000000/cancel", { method: "POST" }],
  ["/batches/b", {}],
  ["/results/r", {}],
  ["/jobs?all=true", { method: "DELETE" }]
]

describe("an unreachable store", () => {
  it("answers 503 problem+json on every route, logging one line per request", async () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const runtime = ManagedRuntime.make(
      engineLayer(Layer.empty, downStore).pipe(Layer.provideMerge(Logger.replace(Logger.defaultLogger, logger)))
    )
    try {
      const app = JobsApi.make({ runtime })
      for (const [path, init] of requests) {
        const problem = await expectProblem(await app.request(path, init), 503)
        expect(problem.detail).toBe("the job store is unavailable; try again later")
        expect(JSON.stringify(problem)).not.toContain("5432")
      }
      await Effect.runPromise(Effect.sleep("50 millis"))
      const unavailable = lines.filter((line) => line.includes("unavailable"))
      expect(unavailable).toHaveLength(requests.length)
      for (const line of unavailable) {
        expect(line).not.toContain("\n")
        expect(line).toContain("ECONNREFUSED")
      }
      expect(lines).toHaveLength(requests.length)
    } finally {
      await runtime.dispose()
    }
  })

  it("answers 503 when PostgreSQL refuses the connection", async () => {
    const runtime = ManagedRuntime.make(
      engineLayer(Layer.empty, PgJobStore.layer({ url: "postgres://postgres@127.0.0.1:1/test" })).pipe(
        Layer.provideMerge(Logger.replace(Logger.defaultLogger, Logger.none))
      )
    )
    try {
      const app = JobsApi.make({ runtime })
      await expectProblem(await app.request("/jobs"), 503)
      await expectProblem(await app.request("/jobs", json("POST", { type: "delay", params: { seconds: 1 } })), 503)
    } finally {
      await runtime.dispose().catch(() => undefined)
    }
  })
})
