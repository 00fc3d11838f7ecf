import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as DataStorageSync from "../src/jobs/DataStorageSync.js"
import * as MlPipeline from "../src/jobs/MlPipeline.js"
import * as ProcessingService from "../src/ProcessingService.js"
import { FakeContext } from "@jobloom/core/testing"

const decodeMl = Schema.decodeUnknownSync(MlPipeline.MlParams)
const decodeSync = Schema.decodeUnknownSync(DataStorageSync.DataStorageSyncParams)

/** Runs the `ml` handler against the fake context and a seeded, instant processing service. */
const runMl = (input: unknown, seed = 42) => {
  const { context, recorded } = FakeContext.make(MlPipeline.MlPipeline)
  const effect = MlPipeline.run(decodeMl(input), context).pipe(
    Effect.provide(ProcessingService.layer({ latency: 0, random: Random.make(seed) })),
    Effect.withRandom(Random.make(seed))
  )
  return { effect, recorded }
}

describe("ml params", () => {
  it("accepts {} and fills Antenna's defaults", () => {
    expect(decodeMl({})).toEqual({
      images: 20,
      batchSize: 4,
      delay: 0,
      limit: null,
      shuffle: true,
      failureRate: 0.1
    })
  })

  it("rejects a batch size of zero and a failure rate above 1", () => {
    expect(Either.isLeft(Schema.decodeUnknownEither(MlPipeline.MlParams)({ batchSize: 0 }))).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(MlPipeline.MlParams)({ failureRate: 1.5 }))).toBe(true)
  })

  it("encodes decoded params back to the full set, so a stored job shows every field", () => {
    expect(Schema.encodeSync(MlPipeline.MlParams)(decodeMl({ images: 8 }))).toEqual({
      images: 8,
      batchSize: 4,
      delay: 0,
      limit: null,
      shuffle: true,
      failureRate: 0.1
    })
  })
})

describe("ml handler", () => {
  it.effect("processes every image and reports the three stages like Antenna's job", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ failureRate: 0 })
      const result = yield* effect
      expect(result.captures).toBe(20)
      expect(result.failed).toBe(0)
      expect(result.classifications).toBeGreaterThanOrEqual(result.detections)
      expect(recorded.stages.get("collect")).toEqual({
        status: "SUCCEEDED",
        progress: 1,
        params: { total_images: 20 }
      })
      expect(recorded.stages.get("process")).toEqual({
        status: "SUCCEEDED",
        progress: 1,
        params: { processed: 20, remaining: 0, failed: 0 }
      })
      expect(recorded.stages.get("results")).toEqual({
        status: "SUCCEEDED",
        progress: 1,
        params: { captures: 20, detections: result.detections, classifications: result.classifications }
      })
      expect(recorded.items).toEqual({ total: 20, completed: 20, failed: 0 })
      expect(recorded.logs.filter((l) => l.message.startsWith("Processing image batch"))).toHaveLength(5)
      expect(recorded.logs.filter((l) => l.level === "error")).toEqual([])
    })
  )

  it.effect("saves a checkpoint after each batch with the running totals", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 10, batchSize: 4, failureRate: 0 })
      const result = yield* effect
      expect(recorded.checkpoints.map((c) => (c as MlPipeline.MlCheckpoint).batches)).toEqual([1, 2, 3])
      expect(recorded.checkpoints.map((c) => (c as MlPipeline.MlCheckpoint).processed)).toEqual([4, 8, 10])
      expect(recorded.checkpoints.at(-1)).toEqual({ batches: 3, ...result, processed: 10 })
    })
  )

  it.effect("never reports a stage's progress going backwards", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 37, batchSize: 5 })
      yield* effect
      for (const [, history] of recorded.progressHistory) {
        expect(history).toEqual([...history].sort((a, b) => a - b))
      }
      // one report per batch of 5 out of 37 images, then the completion
      expect(recorded.progressHistory.get("process")).toHaveLength(9)
    })
  )

  it.effect("counts failed images in the process stage, logs an error for each, and still succeeds", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 100, batchSize: 10, failureRate: 0.3 }, 7)
      const result = yield* effect
      const errors = recorded.logs.filter((l) => l.level === "error")
      expect(result.failed).toBeGreaterThan(0)
      expect(result.failed).toBeLessThanOrEqual(50)
      expect(errors).toHaveLength(result.failed)
      expect(errors[0]!.message).toMatch(/^image img-\d{5}: processing service answered 500 Internal Server Error$/)
      expect(recorded.stages.get("process")?.params).toEqual({ processed: 100, remaining: 0, failed: result.failed })
      expect(result.captures).toBe(100 - result.failed)
      expect(recorded.items).toEqual({ total: 100, completed: 100 - result.failed, failed: result.failed })
    })
  )

  it.effect("draws the same failures from the same seed", () =>
    Effect.gen(function* () {
      const first = yield* runMl({ images: 50, failureRate: 0.4 }, 3).effect
      const second = yield* runMl({ images: 50, failureRate: 0.4 }, 3).effect
      expect(second).toEqual(first)
    })
  )

  it.effect("reports each image as an item and marks the stages FAILED past the type's failure threshold", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 12, failureRate: 1 })
      // the engine fails the job (terminalReason threshold) by the type's threshold; the handler only reports
      const result = yield* effect
      expect(MlPipeline.MlPipeline.itemFailureThreshold).toBe(0.5)
      expect(result.failed).toBe(12)
      expect(recorded.items).toEqual({ total: 12, completed: 0, failed: 12 })
      expect(Array.from(recorded.named.values()).every((item) => item.error?.startsWith("image img-"))).toBe(true)
      expect(recorded.stages.get("process")).toMatchObject({
        status: "FAILED",
        params: { processed: 12, remaining: 0, failed: 12 }
      })
      expect(recorded.logs.filter((l) => l.level === "error")).toHaveLength(12)
    })
  )

  it.effect("a second attempt processes only the images that did not succeed in the first", () =>
    Effect.gen(function* () {
      const { context, recorded } = FakeContext.make(MlPipeline.MlPipeline)
      const attempt = (failureRate: number) =>
        MlPipeline.run(decodeMl({ images: 30, failureRate, shuffle: false }), context).pipe(
          Effect.provide(ProcessingService.layer({ latency: 0, random: Random.make(5) })),
          Effect.withRandom(Random.make(5))
        )
      const first = yield* attempt(0.3)
      const failedKeys = Array.from(recorded.named).flatMap(([key, item]) => (item.status === "FAILED" ? [key] : []))
      expect(first.failed).toBe(failedKeys.length)
      expect(failedKeys.length).toBeGreaterThan(0)
      const before = recorded.logs.length
      const second = yield* attempt(0)
      expect(second.captures).toBe(failedKeys.length)
      expect(recorded.logs.slice(before)).toContainEqual({
        level: "info",
        message: `Found ${failedKeys.length} out of 30 images to process`
      })
      expect(recorded.items).toEqual({ total: 30, completed: 30, failed: 0 })
    })
  )

  it.effect("stores what the service found in each image as the item's output", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 6, failureRate: 0, shuffle: false })
      const result = yield* effect
      const outputs = Array.from(recorded.named.values()).map((item) => item.output as { detections: number })
      expect(recorded.named.size).toBe(6)
      expect(outputs.reduce((n, output) => n + output.detections, 0)).toBe(result.detections)
    })
  )

  it.effect("processes only `limit` images", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 20, limit: 6, failureRate: 0, shuffle: false })
      const result = yield* effect
      expect(result.captures).toBe(6)
      expect(recorded.stages.get("collect")?.params).toEqual({ total_images: 6 })
      expect(recorded.logs.map((l) => l.message)).toContain("Found 6 out of 20 images to process")
      expect(recorded.logs.map((l) => l.message)).not.toContain("Shuffling images")
    })
  )

  it.effect("succeeds at once with no images", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 0 })
      expect(yield* effect).toEqual({ captures: 0, detections: 0, classifications: 0, failed: 0 })
      expect(recorded.stages.get("process")?.status).toBe("SUCCEEDED")
    })
  )

  it.effect("waits `delay` seconds of fake work before collecting", () =>
    Effect.gen(function* () {
      const { effect, recorded } = runMl({ images: 4, delay: 5, failureRate: 0 })
      const fiber = yield* Effect.fork(effect)
      yield* TestClock.adjust("4 seconds")
      expect(recorded.stages.get("collect")?.status).toBe("PENDING")
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(recorded.stages.get("collect")?.status).toBe("SUCCEEDED")
    })
  )
})

describe("processing service", () => {
  it.effect("takes between half and one and a half of its latency per image", () =>
    Effect.gen(function* () {
      const service = ProcessingService.make({ latency: "200 millis", random: Random.make(1) })
      const fiber = yield* Effect.fork(service.process({ id: "img-1" }, { failureRate: 0 }))
      yield* TestClock.adjust("99 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("201 millis")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )
})

describe("data_storage_sync handler", () => {
  it.effect("lists the files in pages of a thousand, then updates the deployment cache", () =>
    Effect.gen(function* () {
      const { context, recorded } = FakeContext.make(DataStorageSync.DataStorageSync)
      const fiber = yield* Effect.fork(DataStorageSync.handler({ pageLatency: "1 second" })(decodeSync({}), context))
      yield* TestClock.adjust("2 seconds")
      expect(recorded.stages.get("data_storage_sync")).toMatchObject({
        status: "RUNNING",
        params: { total_files: 2000 }
      })
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(fiber)).toEqual({ files: 3419 })
      expect(recorded.stages.get("data_storage_sync")).toEqual({
        status: "SUCCEEDED",
        progress: 1,
        params: { total_files: 3419 }
      })
      expect(recorded.stages.get("update_deployment_cache")).toEqual({ status: "SUCCEEDED", progress: 1, params: {} })
      expect(recorded.logs.map((l) => l.message).filter((m) => m.startsWith("Processed"))).toEqual([
        "Processed 1000 files",
        "Processed 2000 files",
        "Processed 3000 files",
        "Processed 3419 files"
      ])
    })
  )

  it("defaults to the 3419 files of the seed job", () => {
    expect(decodeSync({})).toEqual({ files: 3419 })
  })
})
