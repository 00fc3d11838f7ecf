/**
 * Engine conformance: a job's log as readers see it. A success stores neither of the engine's own lines; the log
 * presents the current attempt's start line (from `startedAt`, `attempt`, `maxAttempts` and the lease owner the settle
 * keeps) and a succeeded job's success line (from `finishedAt`) among the stored lines by their time, and its pages
 * neither repeat nor skip a line whatever their size. An attempt that does not succeed stores both lines.
 *
 * @since 0.1.0
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { uuidv7 } from "uuidv7"
import * as Job from "../Job.js"
import type { JobStore } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Jobs from "../Jobs.js"
import * as Worker from "../Worker.js"
import { fastWorkerOptions } from "./engine.js"

const unique = (prefix: string) => `${prefix}-${uuidv7().slice(-12)}`

const engine = (handlers: Layer.Layer<never, never, JobType.JobRegistry>) =>
  handlers.pipe(Layer.provideMerge(Jobs.layer()))

const awaitJob = (id: string, until: (job: Job.Job) => boolean, seconds = 15) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const end = (yield* Clock.currentTimeMillis) + seconds * 1000
    for (;;) {
      const job = yield* jobs.get(id)
      if (until(job)) return job
      if ((yield* Clock.currentTimeMillis) > end) {
        return yield* Effect.dieMessage(`job ${id} is still ${job.status} (attempt ${job.attempt})`)
      }
      yield* Effect.sleep("20 millis")
    }
  })

/** Every line of a job's log, newest first, read in pages of `limit`. */
const readAll = (id: string, limit: number) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const lines: Array<Job.LogEntry> = []
    let cursor: string | undefined = undefined
    for (let pages = 0; pages < 1000; pages++) {
      const page: Jobs.LogPage = yield* jobs.logs(id, cursor === undefined ? { limit } : { limit, cursor })
      expect(page.items.length, "a page is never larger than asked").toBeLessThanOrEqual(limit)
      lines.push(...page.items)
      if (page.nextCursor === null) return lines
      expect(page.items.length, "a page before the last is full").toBe(limit)
      cursor = page.nextCursor
    }
    return yield* Effect.dieMessage("the pages never ended")
  })

/** Registers the log tests on the store of the enclosing suite. */
export const engineLogTests = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  it.effect("a succeeded job's log shows its start and success lines by their time, in pages of any size", () => {
    const queue = unique("q")
    const Chatty = JobType.make({ key: unique("chatty"), queue })
    const handler = JobType.toLayer(Chatty, (_params, context) =>
      Effect.gen(function* () {
        for (let i = 0; i < 4; i++) {
          yield* Effect.sleep("2 millis")
          yield* context.log.info(`line ${i}`)
        }
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const workerId = unique("w")
      yield* Worker.make({ ...fastWorkerOptions(queue), workerId })
      const job = yield* jobs.enqueue({ type: Chatty.key })
      const done = yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED")
      const whole = yield* readAll(job.id, 5000)
      expect(whole.map((line) => line.message).reverse()).toEqual([
        `attempt 1/3 started on worker ${workerId}`,
        "line 0",
        "line 1",
        "line 2",
        "line 3",
        "attempt 1/3 succeeded"
      ])
      const start = whole.at(-1)!
      const end = whole[0]!
      expect(start.at, "the start line's time is the job's startedAt").toBe(done.startedAt)
      expect(end.at, "the success line's time is the job's finishedAt").toBe(done.finishedAt)
      expect(new Set(whole.map((line) => line.id)).size, "every line has an id of its own").toBe(whole.length)
      for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
        expect(yield* readAll(job.id, limit), `pages of ${limit}: each line once, in order, same ids`).toEqual(whole)
      }
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })

  it.effect("a retried job's log keeps every attempt whole", () => {
    const queue = unique("q")
    const Flaky = JobType.make({
      key: unique("flaky"),
      queue,
      retry: { maxAttempts: 3, backoff: Schedule.spaced("10 millis") }
    })
    let runs = 0
    const handler = JobType.toLayer(Flaky, (_params, context) =>
      Effect.gen(function* () {
        runs++
        yield* context.log.info(`try ${runs}`)
        if (runs === 1) return yield* Effect.fail(new Error("boom"))
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const workerId = unique("w")
      yield* Worker.make({ ...fastWorkerOptions(queue), workerId })
      const job = yield* jobs.enqueue({ type: Flaky.key })
      yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED")
      const whole = yield* readAll(job.id, 5000)
      expect(whole.map((line) => line.message).reverse()).toEqual([
        `attempt 1/3 started on worker ${workerId}`,
        "try 1",
        expect.stringMatching(/^attempt 1\/3 failed: boom; retrying in /),
        `attempt 2/3 started on worker ${workerId}`,
        "try 2",
        "attempt 2/3 succeeded"
      ])
      for (const limit of [1, 2, 4]) expect(yield* readAll(job.id, limit), `pages of ${limit}`).toEqual(whole)
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })

  it.effect("a retry of a succeeded job keeps the finished attempt in the log", () => {
    const queue = unique("q")
    const Again = JobType.make({ key: unique("again"), queue })
    const handler = JobType.toLayer(Again, () => Effect.void)
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const workerId = unique("w")
      yield* Worker.make({ ...fastWorkerOptions(queue), workerId })
      const job = yield* jobs.enqueue({ type: Again.key })
      yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED")
      yield* jobs.retry(job.id)
      yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED")
      const messages = (yield* readAll(job.id, 5000)).map((line) => line.message).reverse()
      expect(messages).toEqual([
        `attempt 1/3 started on worker ${workerId}`,
        "attempt 1/3 succeeded",
        "retry requested: queued with a fresh attempt budget",
        `attempt 1/3 started on worker ${workerId}`,
        "attempt 1/3 succeeded"
      ])
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })

  it.effect("a running job's log shows its start line, then its own lines", () => {
    const queue = unique("q")
    const Slow = JobType.make({ key: unique("slow"), queue })
    const go = { value: false }
    const handler = JobType.toLayer(Slow, (_params, context) =>
      Effect.gen(function* () {
        yield* context.log.info("working")
        while (!go.value) yield* Effect.sleep("10 millis")
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const workerId = unique("w")
      yield* Worker.make({ ...fastWorkerOptions(queue), workerId })
      const job = yield* jobs.enqueue({ type: Slow.key })
      const running = yield* awaitJob(job.id, (j) => j.status === "RUNNING")
      const startLine = `attempt 1/3 started on worker ${workerId}`
      // the handler's line reaches the store within a flush interval
      for (let i = 0; i < 500; i++) {
        if ((yield* readAll(job.id, 100)).length >= 2) break
        yield* Effect.sleep("10 millis")
      }
      const whole = yield* readAll(job.id, 100)
      expect(whole.map((line) => line.message).reverse()).toEqual([startLine, "working"])
      expect(whole.at(-1)!.at).toBe(running.startedAt)
      expect(yield* readAll(job.id, 1), "in pages of one").toEqual(whole)
      go.value = true
      yield* awaitJob(job.id, (j) => j.status === "SUCCEEDED")
      const after = yield* readAll(job.id, 100)
      expect(after.map((line) => line.message).reverse()).toEqual([startLine, "working", "attempt 1/3 succeeded"])
      expect(after.at(-1)!.id, "the start line keeps its id").toBe(whole.at(-1)!.id)
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })

  it.effect("the event stream shows the start and success lines live, once each", () => {
    const queue = unique("q")
    const Echo = JobType.make({ key: unique("echo"), queue })
    const handler = JobType.toLayer(Echo, (_params, context) => context.log.info("hello"))
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const workerId = unique("w")
      let id = ""
      const seen = yield* jobs.events().pipe(
        Stream.takeUntil((event) => event.jobId === id && event._tag === "status" && Job.isTerminal(event.status)),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("20 millis")
      yield* Worker.make({ ...fastWorkerOptions(queue), workerId })
      id = (yield* jobs.enqueue({ type: Echo.key })).id
      const events = Array.from(yield* Fiber.join(seen)).filter((event) => event.jobId === id)
      const logs = events.flatMap((event) => (event._tag === "log" ? [event.message] : []))
      expect(logs).toEqual([`attempt 1/3 started on worker ${workerId}`, "hello", "attempt 1/3 succeeded"])
      expect(events.at(-1)).toMatchObject({ _tag: "status", status: "SUCCEEDED" })
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })
}
