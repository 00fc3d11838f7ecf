// The remote-worker behaviour every store must give, through the public `RemoteWorker` API: one suite, one line per
// store (memory here; SQLite and PostgreSQL in their packages' tests).
import { JobStore, JobType, Jobs, RemoteWorker } from "@jobloom/core"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"

/** A remote-only type: registered as a definition, no handler in this process. */
export const Detect = JobType.make({
  key: "detect",
  params: Schema.Struct({ images: Schema.Int }),
  result: Schema.Struct({ detections: Schema.Int }),
  stages: [
    { key: "detect", name: "Detect", params: [{ key: "found", name: "Found" }] },
    { key: "classify", name: "Classify" }
  ],
  retry: { maxAttempts: 2 },
  concurrency: 1
})

/** A type with a short per-attempt timeout. */
export const Quick = JobType.make({ key: "quick", timeout: "150 millis", retry: { maxAttempts: 1 } })

type Services = Jobs.Jobs | RemoteWorker.RemoteWorker | JobStore.JobStore | JobType.JobRegistry

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Reads until `done` holds (the flusher writes reports a few milliseconds later), for at most 5 s. */
const eventually = async <A>(read: () => Promise<A>, done: (a: A) => boolean): Promise<A> => {
  const end = Date.now() + 5000
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > end) return value
    await sleep(20)
  }
}

/** Runs the whole suite against one store. */
export const remoteWorkerSuite = (name: string, store: () => Layer.Layer<JobStore.JobStore, unknown>) =>
  describe(`RemoteWorker (${name})`, () => {
    const withRemote = async (
      f: (run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>) => Promise<void>,
      options: RemoteWorker.RemoteWorkerOptions = {}
    ) => {
      const runtime = ManagedRuntime.make(
        RemoteWorker.layer({ flushInterval: "10 millis", pollInterval: "1 second", ...options }).pipe(
          Layer.provideMerge(Jobs.layer({ types: [Detect, Quick] })),
          Layer.provideMerge(store())
        )
      )
      try {
        await f((effect) => runtime.runPromise(effect))
      } finally {
        await runtime.dispose()
      }
    }
    const remote = RemoteWorker.RemoteWorker
    const create = (type = "detect", params: unknown = { images: 3 }) =>
      Effect.flatMap(Jobs.Jobs, (jobs) => jobs.enqueue({ type, params }))
    const claimOne = (types = ["detect"]) =>
      Effect.flatMap(remote, (r) => r.claim({ workerId: "py-1", types, limit: 1 })).pipe(
        Effect.map((claimed) => {
          expect(claimed).toHaveLength(1)
          return claimed[0]
        })
      )
    const get = (id: string) => Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(id))
    const failureOf = <A, E>(effect: Effect.Effect<A, E, Services>) => Effect.flip(effect)

    it("runs a job of a type without a handler: progress, items and logs, then SUCCEEDED with the result", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const claimed = await run(claimOne())
        expect(claimed.job.id).toBe(job.id)
        expect(claimed.job.status).toBe("RUNNING")
        expect(claimed.job.attempt).toBe(1)
        expect(claimed.heartbeatMs).toBe(10_000)
        await run(
          Effect.flatMap(remote, (r) =>
            Effect.all([
              r.progress(job.id, claimed.token, {
                stages: [{ key: "detect", status: "RUNNING", progress: 0.5, params: { found: 7 } }]
              }),
              r.items(job.id, claimed.token, [
                { key: "img-1", status: "PENDING", input: { url: "a" } },
                { key: "img-1", status: "SUCCEEDED", output: { boxes: 2 } },
                { key: "img-2", status: "FAILED", error: "unreadable" }
              ]),
              r.log(job.id, claimed.token, [{ level: "info", message: "model loaded" }])
            ])
          )
        )
        const running = await eventually(
          () => run(get(job.id)),
          (j) => j.progress.items?.failed === 1
        )
        expect(running.progress.stages[0]).toMatchObject({ key: "detect", status: "RUNNING", progress: 0.5 })
        expect(running.progress.stages[0].params).toContainEqual(expect.objectContaining({ key: "found", value: 7 }))
        expect(running.progress.items).toMatchObject({ total: 2, completed: 1, failed: 1 })
        const settled = await run(Effect.flatMap(remote, (r) => r.succeed(job.id, claimed.token, { detections: 7 })))
        expect(settled.status).toBe("SUCCEEDED")
        const done = await run(get(job.id))
        expect(done.status).toBe("SUCCEEDED")
        expect(done.progress.summary.progress).toBe(1)
        const result = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.result(job.id)))
        expect(result.value).toEqual({ detections: 7 })
        const logs = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.logs(job.id)))
        const messages = logs.items.map((line) => line.message).reverse()
        expect(messages).toEqual(["attempt 1/2 started on worker remote:py-1", "model loaded", "attempt 1/2 succeeded"])
        const items = await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.items(job.id)))
        expect(items.items.map((i) => [i.key, i.status])).toEqual([
          ["img-1", "SUCCEEDED"],
          ["img-2", "FAILED"]
        ])
      }))

    it("refuses a stale token without writing, and names an unknown job", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const claimed = await run(claimOne())
        const stale = await run(failureOf(Effect.flatMap(remote, (r) => r.heartbeat(job.id, "not-the-token"))))
        expect(stale).toMatchObject({ _tag: "LeaseLost", jobId: job.id, status: "RUNNING" })
        const staleSucceed = await run(failureOf(Effect.flatMap(remote, (r) => r.succeed(job.id, "nope", {}))))
        expect(staleSucceed._tag).toBe("LeaseLost")
        expect((await run(get(job.id))).status).toBe("RUNNING")
        const missing = await run(failureOf(Effect.flatMap(remote, (r) => r.heartbeat("no-such-job", "x"))))
        expect(missing._tag).toBe("JobNotFound")
        // once settled, the claim's own token is stale too
        await run(Effect.flatMap(remote, (r) => r.succeed(job.id, claimed.token, { detections: 1 })))
        const after = await run(
          failureOf(Effect.flatMap(remote, (r) => r.fail(job.id, claimed.token, { message: "x" })))
        )
        expect(after).toMatchObject({ _tag: "LeaseLost", status: "SUCCEEDED" })
      }))

    it("retries a retryable failure with the type's backoff, and fails for good when told not to retry", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const first = await run(claimOne())
        const retried = await run(Effect.flatMap(remote, (r) => r.fail(job.id, first.token, { message: "GPU busy" })))
        expect(retried.status).toBe("QUEUED")
        const queued = await run(get(job.id))
        expect(queued.lastError?.message).toBe("GPU busy")
        expect(Date.parse(queued.runAt)).toBeGreaterThan(Date.now())
        const other = await run(create())
        const second = await run(claimOne())
        expect(second.job.id).toBe(other.id)
        const failed = await run(
          Effect.flatMap(remote, (r) =>
            r.fail(other.id, second.token, { message: "bad image", retryable: false, terminalReason: "threshold" })
          )
        )
        expect(failed.status).toBe("FAILED")
        expect((await run(get(other.id))).terminalReason).toBe("threshold")
      }))

    it("answers a cancel at the next heartbeat, and the worker's settle makes the job CANCELLED", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const claimed = await run(claimOne())
        expect(await run(Effect.flatMap(remote, (r) => r.heartbeat(job.id, claimed.token)))).toMatchObject({
          status: "RUNNING",
          stop: null
        })
        await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(job.id)))
        const answer = await run(Effect.flatMap(remote, (r) => r.heartbeat(job.id, claimed.token)))
        expect(answer).toMatchObject({ status: "CANCELLING", stop: "cancel" })
        const settled = await run(Effect.flatMap(remote, (r) => r.fail(job.id, claimed.token, { message: "stopped" })))
        expect(settled.status).toBe("CANCELLED")
        expect((await run(get(job.id))).terminalReason).toBe("user")
      }))

    it("refuses a result its type's Schema rejects, naming `result`, and leaves the attempt running", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const claimed = await run(claimOne())
        const error = await run(
          failureOf(Effect.flatMap(remote, (r) => r.succeed(job.id, claimed.token, { detections: "many" })))
        )
        expect(error._tag).toBe("InvalidInput")
        expect(error._tag === "InvalidInput" && error.issues[0].path).toBe("result")
        expect((await run(get(job.id))).status).toBe("RUNNING")
        expect(
          (await run(Effect.flatMap(remote, (r) => r.succeed(job.id, claimed.token, { detections: 2 })))).status
        ).toBe("SUCCEEDED")
      }))

    it("a waiting claim returns within milliseconds of a job's creation", () =>
      withRemote(
        async (run) => {
          const waiting = run(
            Effect.flatMap(remote, (r) => r.claim({ workerId: "py", types: ["detect"], waitMs: 10_000 }))
          )
          await sleep(150)
          const createdAt = Date.now()
          const job = await run(create())
          const claimed = await waiting
          // the fallback poll is 5 s: only the store's signal answers this fast
          expect(Date.now() - createdAt).toBeLessThan(2000)
          expect(claimed.map((c) => c.job.id)).toEqual([job.id])
          const empty = await run(
            Effect.flatMap(remote, (r) => r.claim({ workerId: "py", types: ["detect"], waitMs: 50 }))
          )
          expect(empty).toEqual([])
        },
        { pollInterval: "5 seconds" }
      ))

    it("keeps the type's concurrency limit, refuses unknown types and out-of-range limits", () =>
      withRemote(async (run) => {
        await run(create())
        await run(create())
        const claimed = await run(
          Effect.flatMap(remote, (r) => r.claim({ workerId: "py", types: ["detect"], limit: 5 }))
        )
        // `detect` allows one running job across every worker
        expect(claimed).toHaveLength(1)
        const unknown = await run(
          failureOf(Effect.flatMap(remote, (r) => r.claim({ workerId: "py", types: ["nope"] })))
        )
        expect(unknown).toMatchObject({ _tag: "UnknownJobType", type: "nope" })
        const bad = await run(
          failureOf(
            Effect.flatMap(remote, (r) => r.claim({ workerId: "py", types: ["detect"], limit: 0, waitMs: 60_000 }))
          )
        )
        expect(bad._tag === "InvalidInput" && bad.issues.map((i) => i.path)).toEqual(["limit", "waitMs"])
      }))

    it("returns a job to QUEUED when its worker stops heartbeating, and the old token is then stale", () =>
      withRemote(
        async (run) => {
          const job = await run(create())
          const claimed = await run(claimOne())
          await sleep(600)
          const rescued = await run(get(job.id))
          expect(rescued.status).toBe("QUEUED")
          expect(rescued.attempt).toBe(1)
          const stale = await run(failureOf(Effect.flatMap(remote, (r) => r.heartbeat(job.id, claimed.token))))
          expect(stale).toMatchObject({ _tag: "LeaseLost", status: "QUEUED" })
        },
        { leaseDuration: "200 millis", rescueInterval: "50 millis" }
      ))

    it("settles an attempt past its timeout at the next call, as the engine's timeout", () =>
      withRemote(async (run) => {
        const job = await run(create("quick", {}))
        const claimed = await run(claimOne(["quick"]))
        await sleep(250)
        const answer = await run(Effect.flatMap(remote, (r) => r.heartbeat(job.id, claimed.token)))
        expect(answer).toMatchObject({ status: "TIMED_OUT", stop: "timeout", leaseExpiresAt: null })
        const timedOut = await run(get(job.id))
        expect(timedOut.terminalReason).toBe("timeout")
        const late = await run(failureOf(Effect.flatMap(remote, (r) => r.succeed(job.id, claimed.token))))
        expect(late).toMatchObject({ _tag: "LeaseLost", status: "TIMED_OUT" })
      }))

    it("rebuilds an attempt claimed through another process from its stored row", () =>
      withRemote(async (run) => {
        const job = await run(create())
        const claimed = await run(claimOne())
        await run(
          Effect.flatMap(remote, (r) =>
            r.progress(job.id, claimed.token, { stages: [{ key: "detect", progress: 0.4 }] })
          )
        )
        await sleep(80)
        // a second service over the same store knows nothing of the claim but its row
        const other = await run(
          Effect.scoped(
            Effect.flatMap(Layer.build(RemoteWorker.layer({ flushInterval: "10 millis" })), (context) =>
              Effect.gen(function* () {
                const service = Context.get(context, RemoteWorker.RemoteWorker)
                const stale = yield* Effect.either(service.heartbeat(job.id, "wrong"))
                yield* service.progress(job.id, claimed.token, {
                  stages: [{ key: "detect", status: "RUNNING", progress: 0.2 }]
                })
                yield* Effect.sleep("80 millis")
                const between = yield* get(job.id)
                const settled = yield* service.succeed(job.id, claimed.token, { detections: 3 })
                return { stale, between, settled }
              })
            )
          )
        )
        expect(Either.isLeft(other.stale)).toBe(true)
        // never lowered: the stored 0.4 was carried into the rebuilt attempt, so the 0.2 report changed only the status
        expect(other.between.progress.stages[0]).toMatchObject({ key: "detect", status: "RUNNING", progress: 0.4 })
        expect(other.settled.status).toBe("SUCCEEDED")
        expect((await run(get(job.id))).status).toBe("SUCCEEDED")
      }))
  })
