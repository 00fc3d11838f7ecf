import { describe, expect, it } from "@effect/vitest"
import { Delay, Job, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
    items: {
      setTotal: () => Effect.void,
      completed: () => Effect.void,
      failed: () => Effect.void,
      pending: Effect.succeed([]),
      counts: Effect.succeed({ total: 0, pending: 0, completed: 0, failed: 0 }),
      add: () => Effect.void,
      start: () => Effect.void,
      complete: () => Effect.void,
      fail: () => Effect.void
    },
    log: {
      info: (m) => write("info", m),
      warn: (m) => write("warn", m),
      error: (m) => write("error", m),
      write
    },
    heartbeat: Effect.void,
    checkpoint: () => Effect.void,
    lastCheckpoint: Option.none(),
    spawn: () => Effect.succeed([]),
    awaitJobs: () => Effect.succeed([])
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

  it.scoped("runs as a built-in job through the worker, driven by the TestClock", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ workerId: "w-delay" })
      const job = yield* jobs.enqueue({ type: "delay", params: { seconds: 3 } })
      expect(job.progress.stages).toEqual([{ key: "delay", name: "Delay", status: "PENDING", progress: 0, params: [] }])
      let done = yield* jobs.get(job.id)
      for (let step = 0; step < 100 && !Job.isTerminal(done.status); step++) {
        yield* TestClock.adjust("100 millis")
        done = yield* jobs.get(job.id)
      }
      expect(done).toMatchObject({ status: "SUCCEEDED", progress: { summary: { progress: 1 } } })
      expect(done.progress.stages[0]).toMatchObject({ status: "SUCCEEDED", progress: 1 })
      // three simulated seconds, so well under the 10 s the loop allows
      expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(3_000)
      expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)).toBeLessThan(4_000)
      expect((yield* jobs.result(job.id)).value).toEqual({ seconds: 3 })
      const messages = (yield* jobs.logs(job.id)).items.map((line) => line.message)
      for (const second of [1, 2, 3]) expect(messages).toContain(`slept ${second} of 3 seconds`)
    }).pipe(Effect.provide(Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer))))
  )
})
