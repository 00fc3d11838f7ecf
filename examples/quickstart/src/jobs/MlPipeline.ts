/**
 * The `ml` job type, modelled on Antenna's ML pipeline job (seed 000): collect the images, send them in batches to a
 * processing service, save what it found. Each image is an item of the job: the service's answer is the item's output,
 * its failure the item's error. When more than half of the items fail, the engine fails the job for good with
 * `terminalReason` `threshold` (the type's item failure threshold: Antenna's). A retry processes only the images that
 * did not succeed (Antenna #718: a retry reprocessed every image), unless it asks for a full rerun.
 *
 * Each batch is one unit of work: it is not interrupted halfway (a pause, cancel or timeout waits for it to end), and
 * its end saves a checkpoint with the running totals. An attempt that finds a checkpoint (the job was paused, or its
 * last attempt failed or crashed) goes on with the images not processed yet, and its totals go on from the saved ones,
 * so every batch is processed once.
 */
import type { JobStore } from "@jobloom/core"
import { JobType } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type { Image } from "../ProcessingService.js"
import { ProcessingService } from "../ProcessingService.js"

/** Params of an `ml` job: Antenna's job fields, each optional, so `{}` is a valid job. */
export const MlParams = Schema.Struct({
  images: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, 100_000)).annotations({ description: "Fake images in the collection" }),
    { default: () => 20 }
  ),
  batchSize: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, 1000)).annotations({ description: "Images sent to the service at once" }),
    { default: () => 4 }
  ),
  delay: Schema.optionalWith(
    Schema.Number.pipe(Schema.between(0, 3600)).annotations({ description: "Seconds of fake work before starting" }),
    { default: () => 0 }
  ),
  limit: Schema.optionalWith(
    Schema.NullOr(Schema.Int.pipe(Schema.nonNegative())).annotations({
      description: "Process at most this many images; null = all"
    }),
    { default: () => null }
  ),
  shuffle: Schema.optionalWith(Schema.Boolean.annotations({ description: "Process the images in random order" }), {
    default: () => true
  }),
  failureRate: Schema.optionalWith(
    Schema.Number.pipe(Schema.between(0, 1)).annotations({
      description: "Chance that the processing service fails an image, drawn per image"
    }),
    { default: () => 0.1 }
  )
}).annotations({ identifier: "MlParams" })
/** Params of an `ml` job. */
export type MlParams = typeof MlParams.Type

/** What an `ml` job found. */
export const MlResult = Schema.Struct({
  captures: Schema.Int,
  detections: Schema.Int,
  classifications: Schema.Int,
  failed: Schema.Int
}).annotations({ identifier: "MlResult" })
/** What an `ml` job found. */
export type MlResult = typeof MlResult.Type

/** The checkpoint an `ml` job saves after each batch: how far it got, and the running totals. */
export const MlCheckpoint = Schema.Struct({
  batches: Schema.Int,
  processed: Schema.Int,
  failed: Schema.Int,
  captures: Schema.Int,
  detections: Schema.Int,
  classifications: Schema.Int
}).annotations({ identifier: "MlCheckpoint" })
/** The checkpoint an `ml` job saves after each batch. */
export type MlCheckpoint = typeof MlCheckpoint.Type

/** Jobs whose failed share of images is above this fail with `threshold`. */
export const failureThreshold = 0.5

/** What the processing service found in one image: an item's output. */
export const ImageOutput = Schema.Struct({ detections: Schema.Int, classifications: Schema.Int })

/** The `ml` job type definition. */
export const MlPipeline = JobType.make({
  key: "ml",
  name: "ML pipeline",
  description: "Sends a collection of fake images in batches to a fake processing service and saves its detections",
  params: MlParams,
  result: MlResult,
  items: { output: ImageOutput, failureThreshold },
  checkpoint: MlCheckpoint,
  stages: [
    { key: "collect", name: "Collect", params: [{ key: "total_images", name: "Total Images" }] },
    {
      key: "process",
      name: "Process",
      params: [
        { key: "processed", name: "Processed" },
        { key: "remaining", name: "Remaining" },
        { key: "failed", name: "Failed" }
      ]
    },
    {
      key: "results",
      name: "Results",
      params: [
        { key: "captures", name: "Captures" },
        { key: "detections", name: "Detections" },
        { key: "classifications", name: "Classifications" }
      ]
    }
  ]
})

/** Runs one `ml` job. */
export const run = (
  params: MlParams,
  context: JobType.JobContext<MlCheckpoint>
): Effect.Effect<MlResult, JobStore.JobStoreError, ProcessingService> =>
  Effect.gen(function* () {
    const service = yield* ProcessingService
    const collect = context.stage("collect")
    const process = context.stage("process")
    const results = context.stage("results")

    const resumed = Option.getOrUndefined(context.lastCheckpoint)
    if (params.delay > 0 && resumed === undefined) {
      yield* context.log.info(`Waiting ${params.delay} s (fake work)`)
      yield* Effect.sleep(Duration.seconds(params.delay))
    }

    // a resumed attempt leaves the collect stage as the paused one finished it
    if (resumed === undefined) yield* collect.start
    const all: Array<Image> = Array.from({ length: params.images }, (_, i) => ({
      id: `img-${String(i + 1).padStart(5, "0")}`
    }))
    const collection = params.limit === null ? all : all.slice(0, params.limit)
    // the first attempt declares the images as items; a retry finds them, and processes those not SUCCEEDED
    if ((yield* context.items.counts).total === 0) {
      yield* context.items.add(collection.map((image) => ({ key: image.id })))
    }
    // resumed, the images this run already sent (SUCCEEDED or FAILED) are done; else every one not SUCCEEDED is to do
    const pending = yield* context.items.pending
    const todo = new Set(
      pending.filter((item) => resumed === undefined || item.status !== "FAILED").map((item) => item.key)
    )
    let images: ReadonlyArray<Image> = collection.filter((image) => todo.has(image.id))
    if (resumed !== undefined) {
      yield* context.log.info(
        `Resuming after ${resumed.batches} batches (${resumed.processed} images): ${images.length} images to go`
      )
    } else {
      yield* context.log.info(`Found ${images.length} out of ${all.length} images to process`)
    }
    if (params.shuffle) {
      yield* context.log.info("Shuffling images")
      images = Chunk.toReadonlyArray(yield* Random.shuffle(images))
    }
    const done = resumed?.processed ?? 0
    const total = done + images.length
    if (resumed === undefined) {
      yield* collect.param("total_images", total)
      yield* collect.complete
    }

    let { captures, classifications, detections, failed, processed } = resumed ?? {
      processed: 0,
      failed: 0,
      captures: 0,
      detections: 0,
      classifications: 0
    }
    yield* process.update({ status: "RUNNING", params: { processed, remaining: total - processed, failed } })
    yield* results.update({ status: "RUNNING", params: { captures, detections, classifications } })
    const before = resumed?.batches ?? 0
    const batches = before + Math.ceil(images.length / params.batchSize)
    for (let b = before; b < batches; b++) {
      const batch = images.slice((b - before) * params.batchSize, (b - before + 1) * params.batchSize)
      // one batch is not interrupted halfway: a pause (or cancel, or timeout) takes effect between batches
      yield* Effect.uninterruptible(
        Effect.gen(function* () {
          yield* context.log.info(`Processing image batch ${b + 1} of ${batches}`)
          yield* context.log.info(`Sending ${batch.length} images to "${service.name}" at ${service.url}`)
          for (const image of batch) yield* context.items.start(image.id)
          const outcomes = yield* Effect.forEach(
            batch,
            (image) => Effect.either(service.process(image, { failureRate: params.failureRate })),
            { concurrency: "unbounded" }
          )
          let found = { images: 0, detections: 0, classifications: 0 }
          for (let i = 0; i < outcomes.length; i++) {
            const outcome = outcomes[i]
            if (Either.isLeft(outcome)) {
              failed++
              yield* context.items.fail(batch[i].id, outcome.left.message)
              yield* context.log.error(outcome.left.message)
            } else {
              yield* context.items.complete(batch[i].id, {
                detections: outcome.right.detections,
                classifications: outcome.right.classifications
              })
              found = {
                images: found.images + 1,
                detections: found.detections + outcome.right.detections,
                classifications: found.classifications + outcome.right.classifications
              }
            }
          }
          processed += batch.length
          captures += found.images
          detections += found.detections
          classifications += found.classifications
          yield* context.log.info(
            `Pipeline results returned ${found.images} images, ${found.detections} detections, ` +
              `${found.classifications} classifications`
          )
          yield* process.update({
            progress: processed / total,
            params: { processed, remaining: total - processed, failed }
          })
          yield* results.update({ progress: processed / total, params: { captures, detections, classifications } })
          yield* context.checkpoint({ batches: b + 1, processed, failed, captures, detections, classifications })
        })
      )
    }

    // the engine fails the job past the type's threshold; the stages say so too
    const counts = yield* context.items.counts
    if (counts.total > 0 && counts.failed / counts.total > failureThreshold) {
      yield* process.fail
      yield* results.fail
      return { captures, detections, classifications, failed }
    }
    yield* context.log.info(
      `Processed ${total === 0 ? 100 : Math.round((captures / total) * 100)}% of images successfully`
    )
    yield* process.complete
    yield* results.complete
    return { captures, detections, classifications, failed }
  })

/** The `ml` handler as a layer; it needs a {@link ProcessingService}. */
export const layer: Layer.Layer<never, never, JobType.JobRegistry | ProcessingService> = JobType.toLayer(
  MlPipeline,
  run
)
