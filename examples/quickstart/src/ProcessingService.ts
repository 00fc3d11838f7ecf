/**
 * A fake ML processing service, standing in for the remote inference servers an Antenna pipeline calls: each image
 * sent to it comes back with detections and classifications, or with an HTTP 500, drawn per image.
 *
 * Its randomness comes from an Effect `Random`, so a test fixes every draw with a seed.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"

/** One image to process. */
export interface Image {
  readonly id: string
}

/** What the service found in one image. */
export interface Detections {
  readonly imageId: string
  readonly detections: number
  readonly classifications: number
}

/** The service answered with an error status instead of results. */
export class ProcessingError extends Schema.TaggedError<ProcessingError>()("ProcessingError", {
  imageId: Schema.String,
  status: Schema.Number,
  body: Schema.String
}) {
  override get message() {
    return `image ${this.imageId}: processing service answered ${this.status} ${this.body}`
  }
}

/** The processing service as the `ml` job type sees it. */
export interface ProcessingServiceShape {
  readonly name: string
  readonly url: string
  /** Sends one image; fails with a 500 with probability `failureRate`. */
  readonly process: (
    image: Image,
    options: { readonly failureRate: number }
  ) => Effect.Effect<Detections, ProcessingError>
}

/** The processing service Tag. */
export class ProcessingService extends Context.Tag("@jobloom/example-quickstart/ProcessingService")<
  ProcessingService,
  ProcessingServiceShape
>() {}

/** Options of {@link make}. */
export interface ProcessingServiceOptions {
  /** Mean time to process one image (drawn between half and one and a half of it). Default 250 ms. */
  readonly latency?: Duration.DurationInput
  /** The source of every random draw. Default: the fiber's `Random` (seed it with `Random.make(seed)` in tests). */
  readonly random?: Random.Random
}

/** Builds the fake service. */
export const make = (options: ProcessingServiceOptions = {}): ProcessingServiceShape => {
  const latencyMs = Duration.toMillis(Duration.decode(options.latency ?? "250 millis"))
  const withRandom = <A, E>(f: (random: Random.Random) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
    options.random === undefined ? Random.randomWith(f) : f(options.random)
  return {
    name: "Fake moth detector",
    url: "https://processing.example/",
    process: (image, { failureRate }) =>
      withRandom((random) =>
        Effect.gen(function* () {
          if (latencyMs > 0) {
            const factor = yield* random.nextRange(0.5, 1.5)
            yield* Effect.sleep(Duration.millis(Math.round(latencyMs * factor)))
          }
          // drawn on every call, so a seeded sequence does not shift when failureRate is 0 or 1
          const draw = yield* random.next
          if (draw < failureRate) {
            return yield* new ProcessingError({ imageId: image.id, status: 500, body: "Internal Server Error" })
          }
          const detections = yield* random.nextIntBetween(0, 16)
          const extra = yield* random.nextIntBetween(0, detections + 1)
          return { imageId: image.id, detections, classifications: detections + extra }
        })
      )
  }
}

/** The fake service as a layer. */
export const layer = (options?: ProcessingServiceOptions): Layer.Layer<ProcessingService> =>
  Layer.succeed(ProcessingService, make(options))
