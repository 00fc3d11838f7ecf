import { describe, expect, it } from "@effect/vitest"
import { Delay, Job, JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

/** A job context that records what the handler reports. */
const recorder = () => {
  const progress: Array<number> = []
  const statuses: Array<string> = []
  const logs: Array<string> = []
  const stage: JobType.StageHandle = {
    update: (patch) =>
      Effect.sync(() => {
        if (patch.progress !== undefined) progress.push(patch.progress)
        if (patch.status !== undefined) statuses.push(patch.status)
      }),
    start: Effect.sync(() => void statuses.push("RUNNING")),
    progress: (value) => Effect.sync(() => void progress.push(value)),
    param: () => Effect.void,
    complete: Effect.sync(() => {
      statuses.push("SUCCEEDED")
      progress.push(1)
    }),
    fail: Effect.sync(() => void statuses.push("FAILED"))
  }
  const write = (level: Job.LogLevel, message: string) => Effect.sync(() => void logs.push(`${level}: ${message}`))
  const context: JobType.JobContext = {
    job: undefined as unknown as Job.Job,
    stage: (key) => {
      expect(key).toBe("delay")
      return stage
    },
    items: { setTotal: () => Effect.void, completed: () => Effect.void, failed: () => Effect.void },
    log: {
      info: (m) => write("info", m),
      warn: (m) => write("warn", m),
      error: (m) => write("error", m),
      write
    },
    heartbeat: Effect.void
  }
  return { context, progress, statuses, logs }
}

describe("Delay", () => {
  it.effect("sleeps the given seconds on the clock, reporting progress and a log line each second", () =>
    Effect.gen(function* () {
      const { context, progress, logs, statuses } = recorder()
      const fiber = yield* Effect.fork(Delay.handler({ seconds: 3 }, context))
      yield* TestClock.adjust("999 millis")
      expect(progress).toEqual([])
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(progress).toEqual([1 / 3])
      expect(logs).toEqual(["info: slept 1 of 3 seconds"])
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toEqual({ seconds: 3 })
      expect(progress).toEqual([1 / 3, 2 / 3, 1, 1])
      expect(logs).toHaveLength(3)
      expect(statuses).toEqual(["RUNNING", "SUCCEEDED"])
    })
  )

  it.effect("honours a fractional number of seconds", () =>
    Effect.gen(function* () {
      const { context, progress } = recorder()
      const fiber = yield* Effect.fork(Delay.handler({ seconds: 1.5 }, context))
      yield* TestClock.adjust("1499 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toEqual({ seconds: 1.5 })
      expect(progress).toEqual([1 / 1.5, 1, 1])
    })
  )

  it.effect("finishes at once for zero seconds", () =>
    Effect.gen(function* () {
      const { context, statuses, logs } = recorder()
      expect(yield* Delay.handler({ seconds: 0 }, context)).toEqual({ seconds: 0 })
      expect(statuses).toEqual(["RUNNING", "SUCCEEDED"])
      expect(logs).toEqual([])
    })
  )

  it("accepts only a finite, non-negative number of seconds", () => {
    const decode = Schema.decodeUnknownEither(Delay.jobType.params)
    expect(Either.isRight(decode({ seconds: 0 }))).toBe(true)
    expect(Either.isRight(decode({ seconds: 2.5 }))).toBe(true)
    for (const bad of [{ seconds: -1 }, { seconds: Infinity }, { seconds: "3" }, {}]) {
      expect(Either.isLeft(decode(bad)), JSON.stringify(bad)).toBe(true)
    }
    expect(Delay.jobType).toMatchObject({ key: "delay", name: "Delay", stages: [{ key: "delay", name: "Delay" }] })
  })
})
