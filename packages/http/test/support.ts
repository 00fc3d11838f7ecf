// Shared pieces of the HTTP tests: an engine over a fresh memory store behind the sub-app, and request helpers.
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import type { Hono } from "hono"
import { JobsApi } from "../src/index.js"

/** A job type with three stages and integer params, for tests that need more than `delay`. */
export const ThreeStages = JobType.make({
  key: "three-stages",
  name: "Three stages",
  params: Schema.Struct({ items: Schema.Int.pipe(Schema.between(1, 100)) }),
  result: Schema.Struct({ processed: Schema.Number }),
  stages: [
    { key: "fetch", name: "Fetch" },
    { key: "process", name: "Process", params: [{ key: "done", name: "Done" }] },
    { key: "store", name: "Store" }
  ],
  compact: (result) => ({ n: result.processed })
})

/** The engine and a fresh memory store, with `ThreeStages` registered (no worker). */
export const engineLayer = (handlers: Layer.Layer<never, never, JobType.JobRegistry> = Layer.empty) =>
  handlers.pipe(Layer.provideMerge(Jobs.layer({ types: [ThreeStages] })), Layer.provideMerge(MemoryJobStore.layer))

/** What the test runtime provides. */
export type Services = Jobs.Jobs | JobStore.JobStore | JobType.JobRegistry

/** Runs `f` with a fresh engine and the sub-app over it; disposes the runtime after. */
export const withApi = async <A>(
  f: (api: { app: Hono; run: <B, E>(effect: Effect.Effect<B, E, Services>) => Promise<B> }) => Promise<A>,
  options: Omit<JobsApi.Options, "runtime"> = {}
): Promise<A> => {
  const runtime = ManagedRuntime.make(engineLayer())
  try {
    const app = JobsApi.make({ runtime, ...options })
    return await f({ app, run: (effect) => runtime.runPromise(effect) })
  } finally {
    await runtime.dispose()
  }
}

/** The handler of `ThreeStages`: each stage starts, reports and completes; the result counts the items. */
export const threeStagesHandler = JobType.toLayer(ThreeStages, (params, context) =>
  Effect.gen(function* () {
    for (const key of ["fetch", "process", "store"]) {
      const stage = context.stage(key)
      yield* stage.start
      yield* context.log.info(`${key} done`)
      yield* stage.complete
    }
    return { processed: params.items }
  })
)

/** Like {@link withApi}, with a worker running `ThreeStages` and `delay` jobs. */
export const withWorkerApi = async <A>(
  f: Parameters<typeof withApi<A>>[0],
  options: Omit<JobsApi.Options, "runtime"> = {}
): Promise<A> => {
  const runtime = ManagedRuntime.make(
    Worker.layer({ flushInterval: "5 millis", pollInterval: "50 millis" }).pipe(
      Layer.provideMerge(engineLayer(threeStagesHandler))
    )
  )
  try {
    const app = JobsApi.make({ runtime, ...options })
    return await f({ app, run: (effect) => runtime.runPromise(effect) })
  } finally {
    await runtime.dispose()
  }
}

/** Waits for the job's terminal status through its event stream (which ends there). */
export const awaitTerminal = async (app: Hono, id: string, init?: RequestInit): Promise<void> => {
  const response = await app.request(`/jobs/${id}/events`, init)
  expect(response.status).toBe(200)
  await response.text()
}

/** A JSON request. */
export const json = (method: string, body?: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) })
})

/** Reads a problem+json response and checks its status and shape. */
export const expectProblem = async (response: Response, status: number) => {
  expect(response.status).toBe(status)
  expect(response.headers.get("content-type")).toBe("application/problem+json")
  const problem = (await response.json()) as Record<string, unknown>
  expect(problem).toMatchObject({ status, type: expect.any(String), title: expect.any(String) })
  expect(typeof problem.detail).toBe("string")
  return problem
}

/** Creates a job through the engine directly. */
export const createJob = (input: Jobs.CreateJob, options?: Jobs.CreateOptions) =>
  Effect.flatMap(Jobs.Jobs, (jobs) => Effect.map(jobs.create(input, options), (r) => r.job))
