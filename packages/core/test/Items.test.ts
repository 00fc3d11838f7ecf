import { assert, describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { awaitJob, awaitStatus, engine } from "./WorkerSupport.js"

/** A memory store that counts `saveItems` calls and the rows they carry. */
const countingStore = (counts: { calls: number; rows: number }) =>
  Layer.effect(
    JobStore.JobStore,
    Effect.map(MemoryJobStore.make, (store) => ({
      ...store,
      saveItems: (options: Parameters<JobStore.JobStore.Service["saveItems"]>[0]) =>
        Effect.suspend(() => {
          counts.calls++
          counts.rows += options.items.length
          return store.saveItems(options)
        })
    }))
  )

/** Words per input text; `FAIL` fails the item. Records the keys each attempt was handed. */
const words = (handed: Array<Array<string>>) => {
  const Words = JobType.make({
    key: "words",
    retry: { maxAttempts: 1 },
    items: { output: Schema.Struct({ words: Schema.Int }), failureThreshold: 0.5 }
  })
  const layer = JobType.toLayer(Words, (_, context) =>
    Effect.gen(function* () {
      const todo = yield* context.items.pending
      handed.push(todo.map((item) => item.key))
      for (const item of todo) {
        yield* context.items.start(item.key)
        const text = String((item.input as { text?: unknown } | null)?.text ?? "")
        if (text === "FAIL") yield* context.items.fail(item.key, "asked to fail")
        else yield* context.items.complete(item.key, { words: text.split(/\s+/).filter((w) => w !== "").length })
      }
    })
  )
  return { Words, layer }
}

const texts = (...values: ReadonlyArray<string>) => values.map((text, i) => ({ key: `s${i + 1}`, input: { text } }))

describe("Items", () => {
  it.effect("items declared at create are PENDING, counted in progress, and listed in order with cursors", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const { job } = yield* jobs.create({ type: "words", items: texts("a", "b c", "d e f", "g", "h") })
      expect(job.progress.items).toEqual({ total: 5, pending: 5, completed: 0, failed: 0 })
      const first = yield* jobs.items(job.id, { limit: 2 })
      expect(first.items.map((item) => [item.key, item.status, item.input])).toEqual([
        ["s1", "PENDING", { text: "a" }],
        ["s2", "PENDING", { text: "b c" }]
      ])
      assert.isNotNull(first.nextCursor)
      const rest = yield* jobs.items(job.id, { limit: 10, cursor: first.nextCursor! })
      expect(rest.items.map((item) => item.key)).toEqual(["s3", "s4", "s5"])
      expect(rest.nextCursor).toBeNull()
      const bad = yield* Effect.flip(jobs.items(job.id, { limit: 0, cursor: "nope" }))
      expect(bad._tag).toBe("InvalidInput")
      const dup = yield* Effect.flip(jobs.create({ type: "words", items: [{ key: "x" }, { key: "x" }] }))
      expect(dup._tag).toBe("InvalidInput")
    }).pipe(Effect.provide(engine([words([]).Words])))
  )

  it.effect("a handler's item outputs, errors and times are stored, and the counters agree with them", () => {
    const handed: Array<Array<string>> = []
    const { Words, layer } = words(handed)
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const { job } = yield* jobs.create(
        { type: "words", items: texts("one two", "FAIL", "three") },
        { startNow: true }
      )
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(done.progress.items).toEqual({ total: 3, pending: 0, completed: 2, failed: 1 })
      const page = yield* jobs.items(job.id)
      expect(page.items.map((item) => [item.key, item.status, item.output, item.error])).toEqual([
        ["s1", "SUCCEEDED", { words: 2 }, null],
        ["s2", "FAILED", null, "asked to fail"],
        ["s3", "SUCCEEDED", { words: 1 }, null]
      ])
      for (const item of page.items) {
        assert.isNotNull(item.startedAt)
        assert.isNotNull(item.finishedAt)
      }
      const failed = yield* jobs.items(job.id, { statuses: ["FAILED"] })
      expect(failed.items.map((item) => item.key)).toEqual(["s2"])
      expect(Option.map(yield* jobs.item(job.id, "s3"), (item) => item.output)).toEqual(Option.some({ words: 1 }))
    }).pipe(Effect.scoped, Effect.provide(engine([Words], layer)))
  })

  it.effect("more failed items than the type's threshold fail the job with terminalReason threshold", () => {
    const { Words, layer } = words([])
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const { job } = yield* jobs.create({ type: "words", items: texts("FAIL", "FAIL", "ok") }, { startNow: true })
      const done = yield* awaitStatus(job.id, "FAILED")
      expect(done.terminalReason).toBe("threshold")
      expect(done.lastError?.message).toBe("2 of 3 items failed, more than the failure threshold of 50%")
      expect(done.progress.items).toEqual({ total: 3, pending: 0, completed: 1, failed: 2 })
    }).pipe(Effect.scoped, Effect.provide(engine([Words], layer)))
  })

  it.effect("retry hands the handler only the items not SUCCEEDED, and a full retry every item", () => {
    const handed: Array<Array<string>> = []
    const { Words, layer } = words(handed)
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const { job } = yield* jobs.create({ type: "words", items: texts("FAIL", "FAIL", "a b") }, { startNow: true })
      yield* awaitStatus(job.id, "FAILED")
      const retried = yield* jobs.retry(job.id)
      // the SUCCEEDED item is kept and counted; the failed ones are pending again
      expect(retried.progress.items).toEqual({ total: 3, pending: 2, completed: 1, failed: 0 })
      yield* awaitJob(retried.id, (j) => j.status === "FAILED" && j.attempt === 1 && handed.length === 2)
      expect(handed).toEqual([
        ["s1", "s2", "s3"],
        ["s1", "s2"]
      ])
      expect(Option.map(yield* jobs.item(job.id, "s3"), (item) => item.status)).toEqual(Option.some("SUCCEEDED"))
      const full = yield* jobs.retry(job.id, { full: true })
      expect(full.progress.items).toEqual({ total: 3, pending: 3, completed: 0, failed: 0 })
      yield* awaitJob(job.id, () => handed.length === 3)
      expect(handed[2]).toEqual(["s1", "s2", "s3"])
    }).pipe(Effect.scoped, Effect.provide(engine([Words], layer)))
  })

  it.effect("items added by the handler and 5,000 item results are written in a few batches", () => {
    const counts = { calls: 0, rows: 0 }
    const Many = JobType.make({ key: "many" })
    const total = 5000
    const layer = JobType.toLayer(Many, (_, context) =>
      Effect.gen(function* () {
        yield* context.items.add(Array.from({ length: total }, (_, i) => ({ key: `i${i}` })))
        for (let i = 0; i < total; i++) {
          yield* context.items.start(`i${i}`)
          yield* context.items.complete(`i${i}`, i)
          if (i % 500 === 0) yield* Effect.sleep("25 millis")
        }
      })
    )
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "many" })
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(done.progress.items).toEqual({ total, pending: 0, completed: total, failed: 0 })
      assert.isAtLeast(counts.calls, 1)
      assert.isAtMost(counts.calls, 20)
      const page = yield* jobs.items(job.id, { limit: 1000, statuses: ["SUCCEEDED"] })
      expect(page.items.length).toBe(1000)
      expect(page.items[999]).toMatchObject({ key: "i999", output: 999 })
    }).pipe(Effect.scoped, Effect.provide(engine([Many], layer, countingStore(counts))))
  })

  it.effect("addItems adds to a CREATED job, replacing an existing key's input, and refuses a running one", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const { job } = yield* jobs.create({ type: "words", items: texts("a") })
      const added = yield* jobs.addItems(job.id, [
        { key: "s1", input: { text: "a b" } },
        { key: "s9", input: { text: "c" } }
      ])
      expect(added.progress.items).toEqual({ total: 2, pending: 2, completed: 0, failed: 0 })
      const page = yield* jobs.items(job.id)
      expect(page.items.map((item) => [item.key, item.input])).toEqual([
        ["s1", { text: "a b" }],
        ["s9", { text: "c" }]
      ])
      yield* jobs.cancel(job.id)
      const refused = yield* Effect.flip(jobs.addItems(job.id, [{ key: "s10" }]))
      expect(refused._tag).toBe("InvalidTransition")
    }).pipe(Effect.provide(engine([words([]).Words])))
  )

  it.effect("a Promise handler reports items through its context", () => {
    const Async = JobType.make({ key: "async-items" })
    const layer = JobType.toLayerPromise(Async, async (_, context) => {
      await context.items.add([{ key: "x" }, { key: "y" }])
      await context.items.complete("x", { ok: true })
      await context.items.fail("y", "no")
      return (await context.items.counts()).total
    })
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      yield* Worker.make()
      const job = yield* jobs.enqueue({ type: "async-items" })
      const done = yield* awaitStatus(job.id, "SUCCEEDED")
      expect(done.progress.items).toEqual({ total: 2, pending: 0, completed: 1, failed: 1 })
      const page = yield* jobs.items(job.id)
      expect(page.items.map((item) => [item.key, item.status, item.output, item.error])).toEqual([
        ["x", "SUCCEEDED", { ok: true }, null],
        ["y", "FAILED", null, "no"]
      ])
    }).pipe(Effect.scoped, Effect.provide(engine([Async], layer)))
  })
})
