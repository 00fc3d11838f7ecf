import { describe, expect, it } from "@effect/vitest"
import { Job, JobStore, JobType, Jobs, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Queue from "effect/Queue"
import type { Hono } from "hono"
import { JobsApi } from "../src/index.js"
import { type SseEvent, sseReader } from "./sse.js"
import { createJob, engineLayer, expectProblem, ThreeStages, withApi } from "./support.js"

const stageStatuses = (event: SseEvent) =>
  (event.data.progress as Job.Progress).stages.map((stage) => `${stage.key}:${stage.status}`).join(" ")

describe("GET /jobs/{id}/events", () => {
  it("streams a snapshot, then ordered progress of three stages, logs and the terminal status, then ends", async () => {
    // the handler waits for the test before each stage, so every stage's progress is its own event
    const gate = Effect.runSync(Queue.unbounded<void>())
    const handler = JobType.toLayer(ThreeStages, (params, context) =>
      Effect.gen(function* () {
        for (const key of ["fetch", "process", "store"]) {
          yield* Queue.take(gate)
          const stage = context.stage(key)
          yield* stage.start
          yield* stage.progress(0.5)
          yield* context.log.info(`${key} halfway`)
          yield* stage.complete
        }
        return { processed: params.items }
      })
    )
    const runtime = ManagedRuntime.make(
      Worker.layer({ flushInterval: "5 millis", pollInterval: "50 millis" }).pipe(
        Layer.provideMerge(engineLayer(handler))
      )
    )
    try {
      const app: Hono = JobsApi.make({ runtime })
      const job = await runtime.runPromise(createJob({ type: "three-stages", params: { items: 3 } }))
      const response = await app.request(`/jobs/${job.id}/events`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      const stream = sseReader(response)

      // the job is queued after the response started: the subscription made before it sees every change
      expect((await app.request(`/jobs/${job.id}/run`, { method: "POST" })).status).toBe(200)

      const events = await stream.until((e) => e.event === "status" && e.data.status === "RUNNING")
      Effect.runSync(Queue.offer(gate, undefined))
      events.push(
        ...(await stream.until((e) => e.event === "progress" && stageStatuses(e).includes("fetch:SUCCEEDED")))
      )
      Effect.runSync(Queue.offer(gate, undefined))
      events.push(
        ...(await stream.until((e) => e.event === "progress" && stageStatuses(e).includes("process:SUCCEEDED")))
      )
      Effect.runSync(Queue.offer(gate, undefined))
      events.push(...(await stream.until((e) => e.event === "status" && Job.isTerminal(e.data.status))))
      expect(await stream.next()).toBeUndefined()

      expect(events[0]!.event).toBe("snapshot")
      expect(events[0]!.data).toMatchObject({ id: job.id, status: "CREATED", userPermissions: expect.any(Array) })
      const ids = events.map((e) => Number(e.id))
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      expect(new Set(ids).size).toBe(ids.length)

      const statuses = events.filter((e) => e.event === "status").map((e) => e.data.status)
      expect(statuses).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"])
      expect(events.at(-1)).toMatchObject({ event: "status", data: { status: "SUCCEEDED", terminalReason: null } })

      const progress = events.filter((e) => e.event === "progress").map((e) => e.data.progress as Job.Progress)
      // stages complete in their declared order, and no stage's progress ever goes back
      const completedAt = (key: string) =>
        progress.findIndex((p) => p.stages.find((s) => s.key === key)?.status === "SUCCEEDED")
      expect(completedAt("fetch")).toBeGreaterThanOrEqual(0)
      expect(completedAt("fetch")).toBeLessThan(completedAt("process"))
      expect(completedAt("process")).toBeLessThan(completedAt("store"))
      for (const key of ["fetch", "process", "store"]) {
        const values = progress.map((p) => p.stages.find((s) => s.key === key)!.progress)
        expect(values).toEqual([...values].sort((a, b) => a - b))
      }
      expect(progress.at(-1)!.summary.progress).toBe(1)
      // the final progress came before the terminal status, which is the last word
      expect(progress.at(-1)!.stages.map((s) => s.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"])

      const logs = events.filter((e) => e.event === "log").map((e) => e.data.message as string)
      const ours = logs.filter((m) => m.endsWith("halfway"))
      expect(ours).toEqual(["fetch halfway", "process halfway", "store halfway"])
      // the engine's start and success lines are streamed live, once each, first and last, though neither is stored
      expect(logs.filter((m) => m.startsWith("attempt "))).toEqual([
        expect.stringMatching(/^attempt 1\/[0-9]+ started on worker /),
        expect.stringMatching(/^attempt 1\/[0-9]+ succeeded$/)
      ])
      const attemptLines = logs.slice(logs.indexOf("queued by request") + 1)
      expect(attemptLines[0]).toMatch(/ started on worker /)
      expect(attemptLines.at(-1)).toMatch(/ succeeded$/)
    } finally {
      await runtime.dispose()
    }
  })

  it("gives a reconnecting client with Last-Event-ID a fresh snapshot first", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 5 } }))
      const first = sseReader(await app.request(`/jobs/${job.id}/events`))
      const snapshot = await first.next()
      expect(snapshot).toMatchObject({ event: "snapshot", data: { status: "CREATED" } })
      await first.cancel()
      await app.request(`/jobs/${job.id}/run`, { method: "POST" })
      const again = sseReader(await app.request(`/jobs/${job.id}/events`, { headers: { "last-event-id": "1" } }))
      expect(await again.next()).toMatchObject({ event: "snapshot", data: { id: job.id, status: "QUEUED" } })
      await app.request(`/jobs/${job.id}/cancel`, { method: "POST" })
      expect(await again.next()).toMatchObject({
        event: "status",
        data: { status: "CANCELLED", terminalReason: "user" }
      })
      expect(await again.next()).toBeUndefined()
    }))

  it("sends changes made past the engine's events (another process) by polling the job", () =>
    withApi(
      async ({ app, run }) => {
        const job = await run(createJob({ type: "delay", params: { seconds: 5 } }))
        const stream = sseReader(await app.request(`/jobs/${job.id}/events`))
        expect(await stream.next()).toMatchObject({ event: "snapshot" })
        // write straight to the store, as another process would: no in-process event is published
        await run(
          Effect.flatMap(JobStore.JobStore, (store) =>
            store.update({
              id: job.id,
              from: ["CREATED"],
              patch: { status: "CANCELLED", terminalReason: "user", finishedAt: Date.now() },
              now: Date.now()
            })
          )
        )
        const events = await stream.until((e) => e.event === "status")
        expect(events.at(-1)!.data).toMatchObject({ status: "CANCELLED", terminalReason: "user" })
        expect(await stream.next()).toBeUndefined()
      },
      { pollInterval: "20 millis" }
    ))

  it("ends after the snapshot of a job that is already terminal", () =>
    withApi(async ({ app, run }) => {
      const job = await run(createJob({ type: "delay", params: { seconds: 5 } }))
      await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(job.id)))
      const stream = sseReader(await app.request(`/jobs/${job.id}/events`))
      expect(await stream.next()).toMatchObject({ event: "snapshot", data: { status: "CANCELLED" } })
      expect(await stream.next()).toBeUndefined()
    }))

  it("is a 404 problem, before any stream, for an unknown job", () =>
    withApi(async ({ app }) => {
      await expectProblem(await app.request("/jobs/01900000-0000-7000-8000-000000000000/events"), 404)
    }))
})
