// A consumer of the published packages: the install test type-checks this file against the packed tarballs with
// strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess on and skipLibCheck off (see tsconfig.json here).
import { Jobloom, Jobs, JobType, MemoryJobStore, Worker } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { PgJobStore } from "@jobloom/store-postgres"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Hono } from "hono"

const Resize = JobType.make({
  key: "resize",
  params: Schema.Struct({ images: Schema.Int, label: Schema.optional(Schema.String) }),
  result: Schema.Struct({ resized: Schema.Int }),
  stages: [{ key: "resize", name: "Resize", params: [{ key: "done", name: "Resized" }] }],
  retry: { maxAttempts: 5 },
  timeout: "1 minute"
})

class Thumbnails extends Context.Tag("Thumbnails")<
  Thumbnails,
  { readonly make: (n: number) => Effect.Effect<number> }
>() {}

// an Effect handler that needs a service, and a Promise handler
export const ResizeLive = JobType.toLayer(Resize, (params, job) =>
  Effect.gen(function* () {
    const thumbnails = yield* Thumbnails
    yield* job.stage("resize").start
    const resized = yield* thumbnails.make(params.images)
    yield* job.stage("resize").param("done", resized)
    return { resized }
  })
).pipe(Layer.provide(Layer.succeed(Thumbnails, { make: (n) => Effect.succeed(n) })))

export const main = async (url: string | undefined): Promise<number> => {
  const jobloom = await Jobloom.make({
    store: url ? PgJobStore.layer({ url, schema: "jobs" }) : SqliteJobStore.layer({ filename: "./jobs.db" }),
    handlers: [
      Jobloom.handler(Resize, async ({ images }, job) => {
        job.stage("resize").update({ progress: 1, params: { done: images } })
        job.log.info(`resized ${images}`)
        return { resized: images }
      })
    ],
    worker: { concurrency: 4, queues: ["default"] }
  })
  const job = await jobloom.enqueue({ type: "resize", params: { images: 3 } })
  const page = await jobloom.list({ limit: 10 })
  const first = page.items[0]
  const app = new Hono()
  app.route("/jobs", JobsApi.make({ runtime: jobloom.runtime }))
  await jobloom.close()
  return (first?.progress.stages.length ?? 0) + job.attempt
}

// the Effect door: engine, handler layer and worker over the in-memory store
export const program = Effect.gen(function* () {
  const jobs = yield* Jobs.Jobs
  const job = yield* jobs.enqueue({ type: "resize", params: { images: 2 } })
  return job.id
}).pipe(
  Effect.provide(
    Worker.layer({ concurrency: 2 }).pipe(
      Layer.provideMerge(ResizeLive),
      Layer.provideMerge(Jobs.layer({ types: [Resize] })),
      Layer.provideMerge(MemoryJobStore.layer)
    )
  ),
  Effect.scoped
)
