// The process's one Settler per store: shared by every worker of the process, one `settle` call for the pieces
// handed in while a write is in flight, never cut in a write, and what was handed in is written before it stops.
import { describe, expect, it } from "@effect/vitest"
import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import { makeRow } from "@jobloom/core/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Settler from "../src/internal/settler.js"
import { awaitStatus, engine, settle as letRun } from "./WorkerSupport.js"

type SettleOptions = Parameters<JobStore.JobStore.Service["settle"]>[0]

/** A memory store whose `settle` calls are recorded, and whose first one waits until `gate` is opened. */
const gatedStore = Effect.gen(function* () {
  const inner = yield* MemoryJobStore.make
  const gate = yield* Deferred.make<void>()
  const entered = yield* Deferred.make<void>()
  const calls: Array<SettleOptions> = []
  const store: JobStore.JobStore.Service = {
    ...inner,
    settle: (options) =>
      Effect.suspend(() => {
        calls.push(options)
        const wait =
          calls.length === 1 ? Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)) : Effect.void
        return Effect.zipRight(wait, inner.settle(options))
      })
  }
  return { store, gate, entered, calls }
})

/** The lease owner of each settlement of a call. */
const ownersOf = (call: SettleOptions) => call.settlements.map((s) => s.workerId ?? call.workerId)

/** A QUEUED job claimed by `workerId` under `token`. */
const claimed = (store: JobStore.JobStore.Service, workerId: string, token: string) =>
  Effect.gen(function* () {
    const queue = `q-${token}`
    const [outcome] = yield* store.insert({
      jobs: [
        makeRow({ id: `job-${token}`, type: "t", name: "t", queue, runAt: 0, createdAt: 0, updatedAt: 0, queuedAt: 0 })
      ]
    })
    yield* store.claim({
      workerId,
      token,
      now: 1,
      leaseMs: 60_000,
      limit: 1,
      queues: [queue],
      typeLimits: {},
      queueLimits: {}
    })
    return outcome!.row.id
  })

const piece = (workerId: string, id: string, token: string): Settler.Settler.Piece => ({
  workerId,
  settlements: [{ _tag: "Complete", id, token, progress: null, result: null }],
  logs: [{ jobId: id, at: 2, level: "info", message: `${workerId} done`, token }],
  logCap: 100
})

describe("Settler", () => {
  it.effect("is one per store: pieces of several workers handed in during a write go in the next call together", () =>
    Effect.gen(function* () {
      const { calls, entered, gate, store } = yield* gatedStore
      const [a, b, c] = [
        yield* claimed(store, "wa", "ta"),
        yield* claimed(store, "wb", "tb"),
        yield* claimed(store, "wc", "tc")
      ]
      const one = yield* Settler.forStore(store)
      const two = yield* Settler.forStore(store)
      const three = yield* Settler.forStore(store)
      expect(two, "one settler per store, whoever asks").toBe(one)
      const first = yield* Effect.fork(one.settle(piece("wa", a, "ta")))
      yield* Deferred.await(entered)
      const second = yield* Effect.fork(two.settle(piece("wb", b, "tb")))
      const third = yield* Effect.fork(three.settle(piece("wc", c, "tc")))
      yield* letRun
      expect(calls.length, "nothing else is written while a write is in flight").toBe(1)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toEqual([{ id: a, status: "SUCCEEDED" }])
      expect(yield* Fiber.join(second), "each worker is answered its own changes").toEqual([
        { id: b, status: "SUCCEEDED" }
      ])
      expect(yield* Fiber.join(third)).toEqual([{ id: c, status: "SUCCEEDED" }])
      expect(calls.map(ownersOf), "the two pieces that waited went in one call, each under its own lease").toEqual([
        ["wa"],
        ["wb", "wc"]
      ])
      expect(
        calls[1]!.logs?.entries.map((line) => line.message),
        "their lines travel in the same call"
      ).toEqual(["wb done", "wc done"])
    }).pipe(Effect.scoped)
  )

  it.effect("the last user to leave waits for the write in flight and writes what was handed in", () =>
    Effect.gen(function* () {
      const { calls, entered, gate, store } = yield* gatedStore
      const [a, b] = [yield* claimed(store, "wa", "ta"), yield* claimed(store, "wb", "tb")]
      const scope = yield* Scope.make()
      const settler = yield* Scope.extend(Settler.forStore(store), scope)
      const first = yield* Effect.fork(settler.settle(piece("wa", a, "ta")))
      yield* Deferred.await(entered)
      const second = yield* Effect.fork(settler.settle(piece("wb", b, "tb")))
      yield* letRun
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* letRun
      expect(Option.isNone(yield* Fiber.poll(closing)), "leaving waits while a write is in flight").toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(closing)
      expect(yield* Fiber.join(first)).toEqual([{ id: a, status: "SUCCEEDED" }])
      expect(yield* Fiber.join(second), "a piece handed in before the last user left is written").toEqual([
        { id: b, status: "SUCCEEDED" }
      ])
      expect(calls.length).toBe(2)
      const again = yield* Settler.forStore(store)
      expect(again, "after the last user left, the next one starts a new settler").not.toBe(settler)
    }).pipe(Effect.scoped)
  )

  const Noop = JobType.make({ key: "noop" })

  it.effect("workers of one process on one store settle through it: their settlements share a call", () =>
    Effect.gen(function* () {
      const { calls, entered, gate, store } = yield* gatedStore
      const ran = yield* Deferred.make<void>()
      let count = 0
      const handler = JobType.toLayer(Noop, () =>
        Effect.suspend(() => (++count === 3 ? Deferred.succeed(ran, undefined) : Effect.void))
      )
      yield* Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const workerId of ["wa", "wb", "wc"]) {
          yield* Worker.make({ workerId, queues: [workerId], concurrency: 1, maintenance: false })
        }
        const a = yield* jobs.enqueue({ type: "noop", params: {}, queue: "wa" })
        yield* Deferred.await(entered)
        const b = yield* jobs.enqueue({ type: "noop", params: {}, queue: "wb" })
        const c = yield* jobs.enqueue({ type: "noop", params: {}, queue: "wc" })
        yield* Deferred.await(ran)
        yield* letRun
        yield* Deferred.succeed(gate, undefined)
        for (const job of [a, b, c]) yield* awaitStatus(job.id, "SUCCEEDED")
        expect(
          calls.map((call) => ownersOf(call).sort()),
          "the settlements of wb and wc, ended during wa's write, went in one call"
        ).toEqual([["wa"], ["wb", "wc"]])
      }).pipe(Effect.scoped, Effect.provide(engine([Noop], handler, Layer.succeed(JobStore.JobStore, store))))
    })
  )
})
