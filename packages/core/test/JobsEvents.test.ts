import { describe, expect, it } from "@effect/vitest"
import { Job, Jobs } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { JobEvents } from "../src/internal/jobEvents.js"
import { TestLayer, images } from "./JobsSupport.js"

describe("Jobs", () => {
  describe("events", () => {
    it.scoped("publishes created, status and deleted events to subscribers, filtered by job", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const all = yield* jobs.subscribe()
        const { job } = yield* jobs.create(images())
        const mine = yield* jobs.subscribe({ jobId: job.id })
        const collectedAll = yield* Effect.fork(
          Stream.runCollect(
            Stream.take(
              Stream.filter(all, (e) => e._tag !== "log"),
              5
            )
          )
        )
        const collectedMine = yield* Effect.fork(
          Stream.runCollect(
            Stream.take(
              Stream.filter(mine, (e) => e._tag !== "log"),
              3
            )
          )
        )
        yield* jobs.create({ type: "delay", params: { seconds: 0 } })
        yield* jobs.run(job.id)
        yield* jobs.cancel(job.id)
        yield* jobs.delete(job.id)
        const events = Chunk.toReadonlyArray(yield* Fiber.join(collectedAll))
        expect(events.map((e) => e._tag)).toEqual(["created", "created", "status", "status", "deleted"])
        expect(events[0]).toMatchObject({ _tag: "created", jobId: job.id, job: { id: job.id } })
        const own = Chunk.toReadonlyArray(yield* Fiber.join(collectedMine))
        expect(own).toEqual([
          { _tag: "status", jobId: job.id, status: "QUEUED", terminalReason: null },
          { _tag: "status", jobId: job.id, status: "CANCELLED", terminalReason: "user" },
          { _tag: "deleted", jobId: job.id }
        ])
      }).pipe(Effect.provide(TestLayer))
    )

    it.scoped("relays events the worker publishes to the engine's bus", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const bus = yield* JobEvents
        const events = yield* jobs.subscribe({ jobId: "j1" })
        yield* bus.publish({ _tag: "log", jobId: "j2", at: Job.formatTime(0), level: "info", message: "other" })
        yield* bus.publish({ _tag: "log", jobId: "j1", at: Job.formatTime(0), level: "warn", message: "mine" })
        const first = yield* Stream.runHead(events)
        expect(first).toEqual(
          Option.some({ _tag: "log", jobId: "j1", at: Job.formatTime(0), level: "warn", message: "mine" })
        )
      }).pipe(Effect.provide(TestLayer))
    )
  })
})
