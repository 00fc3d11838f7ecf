/**
 * The job type the workers run: render a video frame by frame, then encode it. The definition is shared by the API
 * process (which only creates jobs) and the workers (which also attach the handler).
 */
import { JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** Params of a `render` job. */
export const Params = Schema.Struct({
  frames: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100_000)), { default: () => 10 }),
  msPerFrame: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 60_000)), { default: () => 200 })
}).annotations({ identifier: "RenderParams" })
/** Params of a `render` job. */
export type Params = typeof Params.Type

/** What a `render` job produced, and which worker ran it. */
export const Result = Schema.Struct({ frames: Schema.Int, worker: Schema.String }).annotations({
  identifier: "RenderResult"
})
/** What a `render` job produced. */
export type Result = typeof Result.Type

/** The `render` job type definition. */
export const jobType = JobType.make({
  key: "render",
  name: "Render",
  description: "Renders frames one by one, then encodes them",
  params: Params,
  result: Result,
  stages: [
    { key: "render", name: "Render", params: [{ key: "frames", name: "Frames" }] },
    { key: "encode", name: "Encode" }
  ],
  queue: "render"
})

/** The handler: sleeps per frame (an interruption point, so a cancel lands between frames). */
export const handler = (params: Params, context: JobType.JobContext): Effect.Effect<Result> =>
  Effect.gen(function* () {
    const worker = context.job.lease?.workerId ?? "unknown"
    const render = context.stage("render")
    yield* render.start
    yield* context.log.info(`Rendering ${params.frames} frames on ${worker}`)
    for (let frame = 1; frame <= params.frames; frame++) {
      yield* Effect.sleep(params.msPerFrame)
      yield* render.update({ progress: frame / params.frames, params: { frames: frame } })
    }
    yield* render.complete
    const encode = context.stage("encode")
    yield* encode.start
    yield* Effect.sleep(params.msPerFrame)
    yield* encode.complete
    return { frames: params.frames, worker }
  })

/** The `render` handler as a layer (workers only). */
export const layer: Layer.Layer<never, never, JobType.JobRegistry> = JobType.toLayer(jobType, handler)
