import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Jobs, MemoryJobStore } from "../src/index.js"

const engine = Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer))

describe("events with a scope", () => {
  it.scoped("carries only the events of jobs inside the scope, those created before it started too", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const before = yield* jobs.create({ type: "delay", params: { seconds: 1 }, owner: "b" })
      const earlier = yield* jobs.create({ type: "delay", params: { seconds: 1 }, owner: "a" })
      const stream = yield* jobs.subscribe({ scope: { owners: ["a"] } })
      const seen = yield* Stream.runCollect(
        Stream.take(
          Stream.filter(stream, (e) => e._tag !== "log"),
          3
        )
      ).pipe(Effect.fork)
      yield* jobs.run(before.job.id)
      const mine = yield* jobs.create({ type: "delay", params: { seconds: 1 }, owner: "a" })
      yield* jobs.create({ type: "delay", params: { seconds: 1 }, owner: "b" })
      yield* jobs.run(earlier.job.id)
      yield* jobs.cancel(mine.job.id)
      const events = Chunk.toArray(yield* Fiber.join(seen))
      expect(events.map((e) => [e._tag, e.jobId])).toEqual([
        ["created", mine.job.id],
        ["status", earlier.job.id],
        ["status", mine.job.id]
      ])
    }).pipe(Effect.provide(engine))
  )
})
