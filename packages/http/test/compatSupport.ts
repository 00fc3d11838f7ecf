// The compat routers' tests: a host app with Antenna at /api/v2 and MCRIT at /mcrit over one engine (with a worker
// when asked), the job types of support.ts plus one that returns nothing and one that always fails.
import { JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { Hono } from "hono"
import type * as Shared from "../src/compat/shared.js"
import { AntennaApi, McritApi } from "../src/index.js"
import { type Services, ThreeStages, threeStagesHandler } from "./support.js"

/** A type whose handler returns nothing (MCRIT: a finished job still has a result id). */
export const Nothing = JobType.make({ key: "nothing", name: "Nothing", params: Schema.Struct({}), result: Schema.Void })

/** A type whose handler logs an error and fails for good. */
export const Broken = JobType.make({ key: "broken", name: "Broken", params: Schema.Struct({}) })

const handlers = Layer.mergeAll(
  threeStagesHandler,
  JobType.toLayer(Nothing, () => Effect.void),
  JobType.toLayer(Broken, (_params, context) =>
    Effect.zipRight(
      context.log.error("the disk is on fire"),
      Effect.fail(new JobType.JobFailure({ message: "broken on purpose", retryable: false }))
    )
  )
)

const engine = handlers.pipe(
  Layer.provideMerge(Jobs.layer({ types: [ThreeStages, Nothing, Broken] })),
  Layer.provideMerge(MemoryJobStore.layer)
)

/** Runs `f` with a host app mounting both routers over a fresh engine (a worker runs jobs when `worker`). */
export const withCompat = async <A>(
  f: (api: { app: Hono; run: <B, E>(effect: Effect.Effect<B, E, Services>) => Promise<B> }) => Promise<A>,
  options: Omit<Shared.Options, "runtime"> & { readonly worker?: boolean } = {}
): Promise<A> => {
  const { worker, ...routerOptions } = options
  const runtime = ManagedRuntime.make(
    worker === true
      ? Worker.layer({ flushInterval: "5 millis", pollInterval: "20 millis" }).pipe(Layer.provideMerge(engine))
      : engine
  )
  try {
    const app = new Hono()
    app.route("/api/v2", AntennaApi.make({ runtime, ...routerOptions }))
    app.route("/mcrit", McritApi.make({ runtime, ...routerOptions }))
    return await f({ app, run: (effect) => runtime.runPromise(effect) })
  } finally {
    await runtime.dispose()
  }
}

/** The host origin of every request (`next`, `previous` and `details` URLs are absolute). */
export const origin = "http://jobloom.test"

/** A request to the host app at `origin`. */
export const call = (app: Hono, path: string, init?: RequestInit) => app.request(`${origin}${path}`, init)

/** Polls the engine until the job is terminal (the worker runs it), at most ~5 s. */
export const settled = async (
  run: <B, E>(effect: Effect.Effect<B, E, Services>) => Promise<B>,
  id: string
): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    const job = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(id)))
    if (["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(job.status)) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`job ${id} did not settle`)
}
