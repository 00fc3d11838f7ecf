/**
 * The items part of the engine conformance suite: a handler's item reports reach the store through the worker's
 * batched writes (before the settlement), and a retry resumes, on every store.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { uuidv7 } from "uuidv7"
import type * as Job from "../Job.js"
import type { JobStore } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as Jobs from "../Jobs.js"
import * as Worker from "../Worker.js"

const unique = (prefix: string) => `${prefix}-${uuidv7().slice(-12)}`

const awaitStatus = (id: string, status: Job.JobStatus) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const end = (yield* Clock.currentTimeMillis) + 15_000
    for (;;) {
      const job = yield* jobs.get(id)
      if (job.status === status) return job
      if ((yield* Clock.currentTimeMillis) > end) return yield* Effect.dieMessage(`job ${id} is still ${job.status}`)
      yield* Effect.sleep("20 millis")
    }
  })

/** Declares the items tests with the engine suite's `it`. */
export const engineItemsConformance = (
  it: Vitest.MethodsNonLive<JobStore, true>,
  workerOptions: (queue: string) => Worker.WorkerOptions,
  engine: (
    handlers: Layer.Layer<never, never, JobType.JobRegistry>
  ) => Layer.Layer<Jobs.Jobs | JobType.JobRegistry, never, JobStore>
): void => {
  it.effect("a handler's items are stored by settle time and a retry hands it only those not SUCCEEDED", () => {
    const queue = unique("q")
    const handed: Array<Array<string>> = []
    const Count = JobType.make({
      key: unique("count"),
      queue,
      retry: { maxAttempts: 1 },
      items: { output: Schema.Struct({ n: Schema.Int }), failureThreshold: 0.4 }
    })
    const handler = JobType.toLayer(Count, (_, context) =>
      Effect.gen(function* () {
        const todo = yield* context.items.pending
        handed.push(todo.map((item) => item.key))
        for (const item of todo) {
          yield* context.items.start(item.key)
          if ((item.input as { fail?: boolean } | null)?.fail === true && handed.length === 1) {
            yield* context.items.fail(item.key, "first attempt fails it")
          } else {
            yield* context.items.complete(item.key, { n: item.key.length })
          }
        }
        yield* context.items.add([{ key: "added-by-handler" }])
        yield* context.items.complete("added-by-handler", { n: 0 })
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make(workerOptions(queue))
      const items = [{ key: "a" }, { key: "bb", input: { fail: true } }, { key: "ccc", input: { fail: true } }]
      const { job } = yield* jobs.create({ type: Count.key, items }, { startNow: true })
      const failed = yield* awaitStatus(job.id, "FAILED")
      expect(failed.terminalReason, "2 of 4 items failed: over the 40% threshold").toBe("threshold")
      expect(failed.progress.items).toEqual({ total: 4, pending: 0, completed: 2, failed: 2 })
      const page = yield* jobs.items(job.id)
      expect(page.items.map((item) => [item.key, item.status, item.output, item.error])).toEqual([
        ["a", "SUCCEEDED", { n: 1 }, null],
        ["bb", "FAILED", null, "first attempt fails it"],
        ["ccc", "FAILED", null, "first attempt fails it"],
        ["added-by-handler", "SUCCEEDED", { n: 0 }, null]
      ])
      yield* jobs.retry(job.id)
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(handed, "the retry gets the failed items only").toEqual([
        ["a", "bb", "ccc"],
        ["bb", "ccc"]
      ])
      expect(done.progress.items).toEqual({ total: 4, pending: 0, completed: 4, failed: 0 })
    }).pipe(Effect.scoped, Effect.provide(engine(handler)))
  })
}
