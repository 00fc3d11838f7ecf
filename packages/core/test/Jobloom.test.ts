import { afterEach, describe, expect, it } from "@effect/vitest"
import { Jobloom, JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const Greet = JobType.make({
  key: "greet",
  params: Schema.Struct({ name: Schema.String, shout: Schema.optionalWith(Schema.Boolean, { default: () => false }) }),
  result: Schema.Struct({ greeting: Schema.String }),
  stages: [{ key: "compose", name: "Compose" }],
  retry: { maxAttempts: 2, backoff: undefined },
  compact: (result) => result.greeting.length
})

const Hang = JobType.make({ key: "hang", retry: { maxAttempts: 1 } })

const Flaky = JobType.make({ key: "flaky", retry: { maxAttempts: 1 } })

// fast polling so the end-to-end tests do not wait on the defaults
const worker = { pollInterval: "10 millis", cancelPollInterval: "10 millis", flushInterval: "10 millis" } as const

const open: Array<Jobloom.Jobloom> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((jobloom) => jobloom.close()))
})

const start = async (options: Partial<Jobloom.Options> = {}) => {
  const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker, ...options })
  open.push(jobloom)
  return jobloom
}

/** Resolves with the job once it reaches a terminal status (event-driven, with a re-read for events missed). */
const settled = (jobloom: Jobloom.Jobloom, id: string) =>
  new Promise<Awaited<ReturnType<Jobloom.Jobloom["get"]>>>((resolve, reject) => {
    const check = () =>
      jobloom.get(id).then((job) => {
        if (["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(job.status)) {
          unsubscribe()
          resolve(job)
        }
      }, reject)
    const unsubscribe = jobloom.subscribe((event) => event._tag === "status" && void check(), { jobId: id })
    void check()
  })

describe("Jobloom", () => {
  it("runs an async handler end to end: stages, logs, result and events", async () => {
    const events: Array<Jobs.JobEvent> = []
    const jobloom = await start({
      handlers: [
        Jobloom.handler(Greet, async (params, context) => {
          const stage = context.stage("compose")
          stage.start()
          context.log.info(`greeting ${params.name}`)
          await new Promise((resolve) => setTimeout(resolve, 5))
          stage.param("length", params.name.length)
          stage.complete()
          const greeting = `hello ${params.name}`
          return { greeting: params.shout ? greeting.toUpperCase() : greeting }
        })
      ]
    })
    jobloom.subscribe((event) => events.push(event))
    const { job, created } = await jobloom.create({ type: "greet", params: { name: "ada" } }, { startNow: true })
    expect(created).toBe(true)
    expect(job.params).toEqual({ name: "ada", shout: false })
    const done = await settled(jobloom, job.id)
    expect(done).toMatchObject({ status: "SUCCEEDED", attempt: 1, progress: { summary: { progress: 1 } } })
    expect(done.progress.stages[0]).toMatchObject({ key: "compose", status: "SUCCEEDED", progress: 1 })
    expect(done.progress.stages[0].params).toContainEqual(expect.objectContaining({ key: "length", value: 3 }))
    expect((await jobloom.result(job.id)).value).toEqual({ greeting: "hello ada" })
    expect((await jobloom.result(job.id, { compact: true })).value).toBe(9)
    const logs = await jobloom.logs(job.id)
    expect(logs.items.map((line) => line.message)).toContain("greeting ada")
    const statuses = events
      .filter((e) => e._tag === "status" && e.jobId === job.id)
      .map((e) => e._tag === "status" && e.status)
    expect(statuses).toEqual(["RUNNING", "SUCCEEDED"])
    expect(events[0]).toMatchObject({ _tag: "created", jobId: job.id })
    expect((await jobloom.stats()).byStatus.SUCCEEDED).toBe(1)
  })

  it("rejects with the engine's tagged error values", async () => {
    const jobloom = await start({ worker: false, types: [Greet] })
    await expect(jobloom.create({ type: "nope" })).rejects.toMatchObject({ _tag: "UnknownJobType", type: "nope" })
    await expect(jobloom.create({ type: "greet", params: {} })).rejects.toMatchObject({
      _tag: "InvalidParams",
      issues: [{ path: "params.name" }]
    })
    await expect(jobloom.get("missing")).rejects.toMatchObject({ _tag: "JobNotFound", jobId: "missing" })
    const job = await jobloom.enqueue({ type: "greet", params: { name: "x" } })
    await expect(jobloom.run(job.id)).rejects.toMatchObject({ _tag: "InvalidTransition", from: "QUEUED" })
    await expect(jobloom.list({ limit: 0 })).rejects.toMatchObject({ _tag: "InvalidInput" })
    const error = await jobloom.get("missing").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
  })

  it("mirrors the engine's actions without a worker", async () => {
    const jobloom = await start({ worker: false, types: [Greet] })
    const { batchId, jobs } = await jobloom.createMany([
      { type: "greet", params: { name: "a" } },
      { type: "delay", params: { seconds: 1 } }
    ])
    // nothing of a batch created without startNow runs yet
    expect((await jobloom.batch(batchId!)).state).toBe("CREATED")
    expect((await jobloom.run(jobs[0].id)).status).toBe("QUEUED")
    expect((await jobloom.batch(batchId!)).state).toBe("RUNNING")
    expect((await jobloom.pause(jobs[0].id)).status).toBe("PAUSED")
    expect((await jobloom.update(jobs[0].id, { name: "renamed" })).name).toBe("renamed")
    expect((await jobloom.resume(jobs[0].id)).status).toBe("QUEUED")
    expect((await jobloom.cancel(jobs[0].id)).status).toBe("CANCELLED")
    expect((await jobloom.retry(jobs[0].id)).status).toBe("QUEUED")
    await jobloom.delete(jobs[1].id)
    expect(await jobloom.deleteMany({ statuses: ["QUEUED"] })).toBe(0)
    const page = await jobloom.list({ withTotal: true })
    expect(page.total).toBe(1)
    expect(
      jobloom
        .types()
        .map((type) => type.key)
        .sort()
    ).toEqual(["delay", "greet"])
  })

  it("interrupts a running async handler through its signal when the job is cancelled", async () => {
    let aborted = false
    let started: () => void = () => {}
    const running = new Promise<void>((resolve) => (started = resolve))
    const jobloom = await start({
      handlers: [
        Jobloom.handler(
          Hang,
          (_params, context) =>
            new Promise((_resolve, reject) => {
              context.signal.addEventListener("abort", () => {
                aborted = true
                reject(new Error("aborted"))
              })
              started()
            })
        )
      ]
    })
    const job = await jobloom.enqueue({ type: "hang" })
    await running
    expect((await jobloom.cancel(job.id)).status).toBe("CANCELLING")
    const done = await settled(jobloom, job.id)
    expect(done).toMatchObject({ status: "CANCELLED", terminalReason: "user" })
    expect(aborted).toBe(true)
  })

  it("records a thrown error as the job's failure", async () => {
    const jobloom = await start({
      handlers: [
        {
          type: Flaky,
          handler: async () => {
            throw new Error("disk full")
          }
        }
      ]
    })
    const job = await jobloom.enqueue({ type: "flaky" })
    const done = await settled(jobloom, job.id)
    expect(done).toMatchObject({ status: "FAILED", terminalReason: "error", lastError: { message: "disk full" } })
  })

  it("attaches a handler to a type given by key", async () => {
    const jobloom = await start({
      types: [Greet],
      handlers: [{ type: "greet", handler: async (params: { name: string }) => ({ greeting: `hi ${params.name}` }) }]
    })
    const job = await jobloom.enqueue({ type: "greet", params: { name: "bo" } })
    expect((await settled(jobloom, job.id)).status).toBe("SUCCEEDED")
    await expect(
      Jobloom.make({ store: MemoryJobStore.layer, handlers: [{ type: "nope", handler: async () => 1 }] })
    ).rejects.toMatchObject({ _tag: "UnknownJobType", type: "nope" })
  })

  it("calls no listener after it unsubscribes", async () => {
    const jobloom = await start({ worker: false, types: [Greet] })
    const seen: Array<string> = []
    let first: () => void = () => {}
    const firstSeen = new Promise<void>((resolve) => (first = resolve))
    const unsubscribe = jobloom.subscribe((event) => {
      seen.push(event._tag)
      first()
    })
    await jobloom.create({ type: "greet", params: { name: "a" } })
    await firstSeen
    unsubscribe()
    unsubscribe()
    let second: () => void = () => {}
    const secondSeen = new Promise<void>((resolve) => (second = resolve))
    jobloom.subscribe(() => second())
    await jobloom.create({ type: "greet", params: { name: "b" } })
    await secondSeen
    expect(seen).toEqual(["created"])
  })

  it("exposes its runtime for Effect code and rejects calls after close", async () => {
    const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker: false })
    const job = await jobloom.runtime.runPromise(
      Effect.flatMap(Jobs.Jobs, (jobs) => jobs.enqueue({ type: "delay", params: { seconds: 0 } }))
    )
    expect((await jobloom.get(job.id)).status).toBe("QUEUED")
    await jobloom.close()
    await jobloom.close()
    await expect(jobloom.get(job.id)).rejects.toMatchObject({ _tag: "JobloomClosed" })
    expect(() => jobloom.subscribe(() => {})).toThrow(Jobloom.JobloomClosed)
  })

  it("rejects make with the store's error when the store cannot open", async () => {
    const broken = Layer.fail(new Error("database is locked"))
    await expect(Jobloom.make({ store: broken })).rejects.toThrow("database is locked")
  })

  it("lets a running job finish before close resolves", async () => {
    const store = await Effect.runPromise(MemoryJobStore.make)
    const jobloom = await Jobloom.make({
      store: Layer.succeed(JobStore.JobStore, store),
      worker: { ...worker, gracePeriod: "30 seconds" }
    })
    let running: () => void = () => {}
    const started = new Promise<void>((resolve) => (running = resolve))
    jobloom.subscribe((event) => event._tag === "status" && event.status === "RUNNING" && running())
    const job = await jobloom.enqueue({ type: "delay", params: { seconds: 0.2 } })
    await started
    await jobloom.close()
    const row = Option.getOrThrow(await Effect.runPromise(store.get({ id: job.id })))
    // the lease is cleared; the row keeps the worker of its last attempt (its log presents the start line from it)
    expect(row).toMatchObject({ status: "SUCCEEDED", leaseExpiresAt: null, leaseToken: null })
    expect(row.leaseOwner).not.toBeNull()
  })
})
