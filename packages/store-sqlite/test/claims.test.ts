import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SqliteJobStore } from "../src/index.js"
import { hostClient, makeRow, storeOf, T0, tempFiles, TOKEN } from "./support.js"

const tempFile = tempFiles("jobloom-sqlite-claims-").next

describe("claims", () => {
  it.effect("never hand one job to two workers, across two connections to one file", () => {
    const filename = tempFile()
    const a = SqliteJobStore.layer({ filename })
    return Effect.gen(function* () {
      const first = yield* storeOf(a)
      const second = yield* storeOf(SqliteJobStore.layer({ filename }))
      const queue = "claim-race"
      const rows = Array.from({ length: 300 }, (_, i) => makeRow({ queue, type: i % 2 === 0 ? "even" : "odd" }))
      yield* first.insert({ jobs: rows })
      const claimer = (store: JobStore.JobStore.Service, index: number) =>
        Effect.gen(function* () {
          const mine: Array<string> = []
          while (true) {
            // half the claimers use limits, so multi-statement claim transactions interleave with single ones
            const claimed = yield* store.claim({
              token: TOKEN,
              workerId: `w${index}`,
              now: T0,
              leaseMs: 60_000,
              limit: 1 + (index % 4),
              queues: [queue],
              typeLimits: index % 2 === 0 ? { even: 1000 } : {},
              queueLimits: index % 3 === 0 ? { [queue]: 1000 } : {}
            })
            if (claimed.length === 0) return mine
            mine.push(...claimed.map((row) => row.id))
            yield* Effect.yieldNow()
          }
        })
      const all = yield* Effect.all(
        Array.from({ length: 12 }, (_, i) => claimer(i % 2 === 0 ? first : second, i)),
        { concurrency: "unbounded" }
      )
      const ids = all.flat()
      expect(ids.length).toBe(rows.length)
      expect(new Set(ids).size).toBe(rows.length)
    }).pipe(Effect.scoped)
  })

  it.effect("respect a type limit that other workers' running jobs already use up", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const queue = "limits"
      yield* store.insert({
        jobs: [
          makeRow({ queue, type: "heavy", priority: 9 }),
          makeRow({ queue, type: "heavy", priority: 8 }),
          makeRow({ queue, type: "heavy", priority: 7 }),
          makeRow({ queue, type: "light", priority: 1 }),
          makeRow({ queue, type: "light", priority: 0 })
        ]
      })
      const options = {
        now: T0,
        leaseMs: 1000,
        queues: [queue],
        typeLimits: { heavy: 2 },
        queueLimits: {}
      }
      const one = yield* store.claim({ token: TOKEN, ...options, workerId: "a", limit: 1 })
      const rest = yield* store.claim({ token: TOKEN, ...options, workerId: "b", limit: 10 })
      expect(one.map((row) => row.priority)).toEqual([9])
      // one heavy slot left: the second heavy job fits, the third waits; both light jobs follow in order
      expect(rest.map((row) => row.priority)).toEqual([8, 1, 0])
    }).pipe(Effect.provide(SqliteJobStore.layer({ filename: ":memory:" })))
  )

  // a claim returns the columns most jobs leave NULL packed into one value: every one of them must come back
  it.effect("return every column as stored, the rarely set ones and a BLOB where text belongs included", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* SqliteJobStore.make()
      const queue = "columns"
      const full = makeRow({
        queue,
        priority: 2,
        owner: "owner-1",
        idempotencyKey: "key-1",
        terminalReason: "timeout",
        batchId: "batch-1",
        callbackUrl: "https://example.com/hook",
        timeoutMs: 5000,
        deadline: T0 + 9000,
        finishedAt: T0 - 5,
        lastError: `{"message":"it said \\"no\\"\\nthen"}`,
        resultId: "result-1",
        tags: ["a", "b"]
      })
      const plain = makeRow({ queue, priority: 1 })
      const blob = makeRow({ queue, priority: 0 })
      const [stored] = yield* store.insert({ jobs: [full, plain, blob] })
      yield* sql`UPDATE jobloom_jobs SET last_error = X'6869' WHERE id = ${blob.id}`
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w",
        now: T0,
        leaseMs: 1000,
        limit: 10,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(claimed.map((row) => row.id)).toEqual([full.id, plain.id, blob.id])
      for (const row of claimed) expect(row).toEqual(Option.getOrThrow(yield* store.get({ id: row.id })))
      expect(claimed[0]).toEqual({
        ...stored!.row,
        status: "RUNNING",
        attempt: 1,
        startedAt: T0,
        updatedAt: T0,
        leaseOwner: "w",
        leaseExpiresAt: T0 + 1000,
        leaseToken: TOKEN
      })
      expect(claimed[2]!.lastError).toBe("hi")
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})
