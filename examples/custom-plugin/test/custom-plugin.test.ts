import { DataExport, ExportStorage } from "@jobloom/example-custom-plugin"
import { Job, JobError, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { start } from "../../quickstart/test/ServerProcess.js"

/** A host like `src/host.ts`, over the in-memory store, whose storage fails its first `failures` uploads. */
const makeHost = (failures = 0) => {
  const memory = ExportStorage.makeMemory()
  let calls = 0
  const storage: ExportStorage.ExportStorageShape = {
    put: (key, body) =>
      ++calls <= failures
        ? Effect.fail(new ExportStorage.ExportStorageError({ key, message: "bucket unavailable" }))
        : memory.storage.put(key, body)
  }
  const layer = Worker.layer().pipe(
    Layer.provide(DataExport.layer),
    Layer.provide(Layer.succeed(ExportStorage.ExportStorage, storage)),
    Layer.provideMerge(Jobs.layer({ types: [DataExport.jobType] })),
    Layer.provideMerge(MemoryJobStore.layer)
  )
  return { layer, files: memory.files }
}

/** Enqueues a job and waits for its terminal status event. */
const runToEnd = (input: Jobs.CreateJob) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const events = yield* jobs.subscribe()
    const job = yield* jobs.enqueue(input)
    yield* events.pipe(
      Stream.filter((event) => event.jobId === job.id && event._tag === "status" && Job.isTerminal(event.status)),
      Stream.runHead
    )
    return yield* jobs.get(job.id)
  })

describe("data_export plugin", () => {
  it.live("runs in a host that provides its storage, reporting its three stages", () => {
    const host = makeHost()
    return Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const job = yield* runToEnd({ type: "data_export", params: { collection: "moths", records: 250, pageSize: 100 } })
      expect(job.status).toBe("SUCCEEDED")
      expect(job.queue).toBe("default")
      expect(job.maxAttempts).toBe(5)
      expect(job.timeoutMs).toBe(300_000)
      expect(job.progress.stages.map((s) => [s.key, s.status])).toEqual([
        ["query", "SUCCEEDED"],
        ["write", "SUCCEEDED"],
        ["upload", "SUCCEEDED"]
      ])
      expect(job.progress.items).toEqual({ total: 250, pending: 0, completed: 250, failed: 0 })
      const result = yield* jobs.result(job.id)
      expect(result.value).toMatchObject({ format: "csv", records: 250 })
      const file = [...host.files.values()][0]!
      expect(file.split("\n")[0]).toBe("id,species,score")
      expect(file.trim().split("\n")).toHaveLength(251)
      expect((result.value as DataExport.Result).bytes).toBe(file.length)
      const compact = yield* jobs.result(job.id, { compact: true })
      expect(compact.value).toEqual({ url: (result.value as DataExport.Result).url })
    }).pipe(Effect.scoped, Effect.provide(host.layer))
  })

  it.live("rejects a job without a collection, naming the field", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const error = yield* Effect.flip(jobs.create({ type: "data_export", params: { format: "xml" } }))
      expect(error).toBeInstanceOf(JobError.InvalidParams)
      const paths = (error as JobError.InvalidParams).issues.map((issue) => issue.path)
      expect(paths).toContain("params.collection")
    }).pipe(Effect.provide(makeHost().layer))
  )

  it.live("retries an attempt whose upload failed, with the handler's own error recorded", () =>
    Effect.gen(function* () {
      const job = yield* runToEnd({ type: "data_export", params: { collection: "moths", records: 10 } })
      expect(job.status).toBe("SUCCEEDED")
      expect(job.attempt).toBe(2)
      const logs = yield* (yield* Jobs.Jobs).logs(job.id, { limit: 1000 })
      const retried = logs.items.filter((line) => line.message.includes("bucket unavailable"))
      expect(retried.map((line) => line.level)).toEqual(["warn"])
      expect(retried[0]!.message).toMatch(/^attempt 1\/5 failed: .*retrying/)
    }).pipe(Effect.scoped, Effect.provide(makeHost(1).layer))
  )

  it("runs as a host process that prints the finished job", async () => {
    const host = start("examples/custom-plugin/src/main.ts", {})
    try {
      // it runs once and exits by itself, closing the engine
      expect(await host.exited).toBe(0)
    } finally {
      host.child.kill("SIGKILL")
    }
    expect(host.output()).toMatch(/file head:\nid,species,score\n1,/)
    expect(host.output()).toContain("finished: SUCCEEDED")
    expect(host.output()).toMatch(/Upload: SUCCEEDED URL=https:\/\/files\.example\/exports\/Vermont_moths-.+\.csv/)
    expect(host.output()).toMatch(/compact result: \{"url":"https:\/\/files\.example\/exports\/[^"]+"\}/)
  })
})
