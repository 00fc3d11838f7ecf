import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Jobs, JobStore, JobType, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-worker-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const greet = JobType.make({
  key: "greet",
  params: Schema.Struct({ name: Schema.String }),
  result: Schema.String,
  retry: { maxAttempts: 3 }
})

const fast: Worker.WorkerOptions = {
  concurrency: 4,
  pollInterval: "20 millis",
  flushInterval: "10 millis",
  heartbeatInterval: "200 millis",
  leaseDuration: "2 seconds"
}

/** The engine and a worker over the default store on a file, with the host's client on the same file beside it. */
const setup = (filename: string) =>
  Worker.layer(fast).pipe(
    Layer.provideMerge(JobType.toLayer(greet, ({ name }) => Effect.succeed(`hello ${name}`))),
    Layer.provideMerge(Jobs.layer({ types: [greet] })),
    Layer.provideMerge(SqliteJobStore.layer({ filename })),
    Layer.merge(SqliteClient.layer({ filename }))
  )

/** The job once it is terminal (live time: the worker runs for real). */
const settled = (id: string) =>
  Effect.flatMap(Jobs.Jobs, (jobs) =>
    jobs
      .get(id)
      .pipe(
        Effect.delay("20 millis"),
        Effect.repeat({ until: (job) => job.status !== "QUEUED" && job.status !== "RUNNING" }),
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`job ${id} never settled`) })
      )
  )

describe("bad data in the table", () => {
  it.live("a corrupted params column fails that job with a clear error, an unknown type waits, and work goes on", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      // held back while the table is edited under the engine's feet
      const corrupt = yield* jobs.create({ type: greet.key, params: { name: "a" } })
      const stranger = yield* jobs.create({ type: greet.key, params: { name: "b" } })
      yield* sql`UPDATE jobloom_jobs SET params = '{"name": "a", oops' WHERE id = ${corrupt.job.id}`
      yield* sql`UPDATE jobloom_jobs SET type = 'retired-type' WHERE id = ${stranger.job.id}`
      yield* jobs.run(corrupt.job.id)
      yield* store.update({ id: stranger.job.id, from: ["CREATED"], patch: { status: "QUEUED" }, now: Date.now() })
      const fine = yield* jobs.enqueue({ type: greet.key, params: { name: "c" } })

      const broken = yield* settled(corrupt.job.id)
      expect(broken.status).toBe("FAILED")
      expect(broken.lastError?.message).toMatch(/params are not valid JSON/)
      // the worker survived it
      expect((yield* settled(fine.id)).status).toBe("SUCCEEDED")
      expect((yield* jobs.result(fine.id)).value).toBe("hello c")
      // no worker here runs the retired type: its job is never claimed, it waits for one that does
      const unknown = yield* store.get({ id: stranger.job.id })
      expect(unknown.pipe(Option.map((row) => [row.status, row.attempt]))).toEqual(Option.some(["QUEUED", 0]))
    }).pipe(Effect.provide(setup(Path.join(dir, "bad-data.db"))))
  )
})

describe("wake-ups", () => {
  it.live("a worker with an hour-long poll runs a job enqueued through another store on the same file at once", () => {
    const filename = Path.join(dir, "wake.db")
    const worker = Worker.layer({ ...fast, pollInterval: "1 hour" }).pipe(
      Layer.provideMerge(JobType.toLayer(greet, ({ name }) => Effect.succeed(`hello ${name}`))),
      Layer.provideMerge(Jobs.layer({ types: [greet] })),
      Layer.provideMerge(SqliteJobStore.layer({ filename }))
    )
    // an API side of the same process: its own engine over its own store instance on the file
    const api = Jobs.layer({ types: [greet] }).pipe(Layer.provideMerge(SqliteJobStore.layer({ filename })))
    return Effect.gen(function* () {
      const workerContext = yield* Layer.build(worker)
      const apiContext = yield* Layer.build(api)
      const enqueue = (name: string) =>
        Effect.flatMap(Jobs.Jobs, (jobs) => jobs.enqueue({ type: greet.key, params: { name } })).pipe(
          Effect.provide(apiContext)
        )
      const waitFor = (id: string) => settled(id).pipe(Effect.provide(workerContext))
      // the first job is claimed by the worker's first claim; once it is done the worker waits for a signal
      expect((yield* waitFor((yield* enqueue("first")).id)).status).toBe("SUCCEEDED")
      yield* Effect.sleep("100 millis")
      // within the test's timeout only a wake-up can run it: the next poll is an hour away
      expect((yield* waitFor((yield* enqueue("second")).id)).status).toBe("SUCCEEDED")
    }).pipe(Effect.scoped)
  })
})
