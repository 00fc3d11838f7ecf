/**
 * The built-in `delay` job type: sleeps `params.seconds`, reporting stage progress and a log line each second
 * (Antenna's test job with a fake duration of work). It sleeps on Effect's clock, so `TestClock` drives it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as JobType from "./JobType.js"

/** The key of the type. */
export const key = "delay"

/** Params of a delay job. */
export const Params = Schema.Struct({
  seconds: Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
}).annotations({ identifier: "DelayParams" })
/** Params of a delay job. */
export type Params = typeof Params.Type

/** The result of a delay job: how long it slept. */
export const Result = Schema.Struct({ seconds: Schema.Number }).annotations({ identifier: "DelayResult" })
/** The result of a delay job. */
export type Result = typeof Result.Type

/** The definition of the `delay` type. */
export const jobType: JobType.JobType<Params, typeof Params.Encoded, Result, typeof Result.Encoded> = JobType.make({
  key,
  name: "Delay",
  description: "Sleeps for params.seconds, reporting progress and a log line each second",
  params: Params,
  result: Result,
  stages: [{ key: "delay", name: "Delay" }]
})

/** The handler: sleeps one second at a time (the last step may be shorter), reporting after each step. */
export const handler = (params: Params, context: JobType.JobContext): Effect.Effect<Result> =>
  Effect.gen(function* () {
    const stage = context.stage("delay")
    yield* stage.start
    const total = params.seconds
    const steps = Math.ceil(total)
    for (let step = 1; step <= steps; step++) {
      const elapsed = Math.min(step, total)
      // sleep the difference from the previous step so a fractional total is honoured exactly
      yield* Effect.sleep((elapsed - Math.min(step - 1, total)) * 1000)
      yield* stage.progress(elapsed / total)
      yield* context.log.info(`slept ${elapsed} of ${total} seconds`)
    }
    yield* stage.complete
    return { seconds: total }
  })

/** Registers the `delay` type with its handler. */
export const layer: Layer.Layer<never, never, JobType.JobRegistry> = JobType.toLayer(jobType, handler)
