import { afterEach, describe, expect, it } from "@effect/vitest"
import { Jobloom, JobType, MemoryJobStore } from "@jobloom/core"
import { FakeContext } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

class Greeter extends Context.Tag("test/Greeter")<
  Greeter,
  { readonly greet: (name: string) => Effect.Effect<string> }
>() {}

const Greet = JobType.make({
  key: "greet-effect",
  params: Schema.Struct({ name: Schema.String }),
  result: Schema.Struct({ greeting: Schema.String }),
  stages: [{ key: "greet", name: "Greet" }],
  retry: { maxAttempts: 1 }
})

const GreetLive = JobType.toLayer(Greet, (params, job) =>
  Effect.gen(function* () {
    const greeter = yield* Greeter
    yield* job.stage("greet").start
    const greeting = yield* greeter.greet(params.name)
    yield* job.stage("greet").complete
    return { greeting }
  })
)

const Reject = JobType.make({ key: "reject", retry: { maxAttempts: 1 } })

const worker = { pollInterval: "10 millis", cancelPollInterval: "10 millis", flushInterval: "10 millis" } as const
const open: Array<Jobloom.Jobloom> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((jobloom) => jobloom.close()))
})
const start = async (options: Omit<Jobloom.Options, "store">) => {
  const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker, ...options })
  open.push(jobloom)
  return jobloom
}

/** Resolves with the job once it is terminal (event-driven, re-reading on each status event). */
const settled = async (jobloom: Jobloom.Jobloom, id: string) => {
  for (;;) {
    const job = await jobloom.get(id)
    if (["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(job.status)) return job
    await new Promise<void>((resolve) => {
      const unsubscribe = jobloom.subscribe(() => (unsubscribe(), resolve()), { jobId: id })
      setTimeout(() => (unsubscribe(), resolve()), 50)
    })
  }
}

describe("Jobloom.make with Effect handler layers", () => {
  it("runs a JobType.toLayer handler with the services given in `layers`", async () => {
    const jobloom = await start({
      handlers: [GreetLive],
      layers: Layer.succeed(Greeter, { greet: (name) => Effect.succeed(`hello ${name}`) })
    })
    const job = await jobloom.enqueue({ type: "greet-effect", params: { name: "ada" } })
    const done = await settled(jobloom, job.id)
    expect(done.status).toBe("SUCCEEDED")
    expect((await jobloom.result(job.id)).value).toEqual({ greeting: "hello ada" })
    expect(done.progress.stages[0]).toMatchObject({ key: "greet", status: "SUCCEEDED" })
  })

  it("runs a handler layer whose services are provided on it, next to an async handler", async () => {
    const jobloom = await start({
      handlers: [
        GreetLive.pipe(Layer.provide(Layer.succeed(Greeter, { greet: (name) => Effect.succeed(`hi ${name}`) }))),
        Jobloom.handler(Reject, async () => undefined)
      ]
    })
    expect(
      jobloom
        .types()
        .map((t) => t.key)
        .sort()
    ).toEqual(["delay", "greet-effect", "reject"])
    const job = await jobloom.enqueue({ type: "greet-effect", params: { name: "bo" } })
    expect((await settled(jobloom, job.id)).status).toBe("SUCCEEDED")
    expect((await jobloom.result(job.id)).value).toEqual({ greeting: "hi bo" })
  })
})

describe("a rejected promise in lastError", () => {
  it("shows the rejection's message, its name as the tag, and its stack", async () => {
    const jobloom = await start({
      handlers: [
        Jobloom.handler(Reject, async () => {
          throw new TypeError("the mail server said no")
        })
      ]
    })
    const job = await jobloom.enqueue({ type: "reject", params: {} })
    const done = await settled(jobloom, job.id)
    expect(done.status).toBe("FAILED")
    expect(done.lastError).toMatchObject({ message: "the mail server said no", tag: "TypeError" })
    expect(done.lastError?.stack).toMatch(/^TypeError: the mail server said no\n\s+at .*JobloomDoors\.test\.ts/)
  })

  it("a typed JobFailure keeps its own tag and carries no stack", async () => {
    const jobloom = await start({
      handlers: [
        Jobloom.handler(Reject, async () => {
          throw new JobType.JobFailure({ message: "over the threshold", retryable: false })
        })
      ]
    })
    const job = await jobloom.enqueue({ type: "reject", params: {} })
    const done = await settled(jobloom, job.id)
    expect(done.lastError).toMatchObject({ message: "over the threshold", tag: "JobFailure" })
    expect(done.lastError?.stack).toBeUndefined()
  })
})

describe("FakeContext from @jobloom/core/testing", () => {
  it("records what an Effect handler reports", async () => {
    const { context, recorded } = FakeContext.make(Greet)
    const handler = (params: { readonly name: string }, job: JobType.JobContext) =>
      Effect.gen(function* () {
        yield* job.stage("greet").start
        yield* job.stage("greet").progress(0.5)
        yield* job.log.info(`greeting ${params.name}`)
        yield* job.stage("greet").complete
        return { greeting: params.name }
      })
    const result = await Effect.runPromise(handler({ name: "ada" }, context))
    expect(result).toEqual({ greeting: "ada" })
    expect(recorded.stages.get("greet")).toEqual({ status: "SUCCEEDED", progress: 1, params: {} })
    expect(recorded.progressHistory.get("greet")).toEqual([0.5, 1])
    expect(recorded.logs).toEqual([{ level: "info", message: "greeting ada" }])
  })

  it("gives an async handler a context whose signal aborts", async () => {
    const { context, recorded, abort } = FakeContext.makePromise(Greet)
    const handler = async (params: { readonly name: string }, job: JobType.PromiseJobContext) => {
      job.stage("greet").start()
      job.items.setTotal(2)
      job.items.completed(1)
      await new Promise<void>((resolve) => job.signal.addEventListener("abort", () => resolve()))
      job.log.warn(`aborted while greeting ${params.name}`)
      return job.signal.aborted
    }
    const running = handler({ name: "ada" }, context)
    abort()
    expect(await running).toBe(true)
    expect(recorded.stages.get("greet")?.status).toBe("RUNNING")
    expect(recorded.items).toEqual({ total: 2, completed: 1, failed: 0 })
    expect(recorded.logs).toEqual([{ level: "warn", message: "aborted while greeting ada" }])
  })
})
