/**
 * The claim part of the store conformance suite: which jobs a claim takes, in what order, what it writes, that no
 * job goes to two claimers, and that type and queue limits hold across the store. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { uuidv7 } from "uuidv7"
import type { JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"
import { byId, comparable, getRow, insertRows, sortedIds, unique, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const claimTests = (it: StoreIt): void => {
  it.effect("claim takes only due QUEUED jobs of the given queues", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const otherQueue = unique("q")
      const now = T0 + 1_000
      const dueEarly = makeRow({ queue, runAt: now - 500 })
      const dueNow = makeRow({ queue, runAt: now })
      const rest = [
        makeRow({ queue, runAt: now + 1 }),
        makeRow({ queue, status: "CREATED" }),
        makeRow({ queue, status: "PAUSED" }),
        makeRow({ queue, status: "RUNNING", leaseOwner: "w-other", leaseExpiresAt: now + 99_999, attempt: 1 }),
        makeRow({ queue, status: "CANCELLING", leaseOwner: "w-other", leaseExpiresAt: now + 99_999, attempt: 1 }),
        makeRow({ queue, status: "FAILED", finishedAt: T0 }),
        makeRow({ queue: otherQueue, runAt: now - 500 })
      ]
      yield* insertRows([dueEarly, dueNow, ...rest])
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w-1",
        now,
        leaseMs: 5_000,
        limit: 100,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(sortedIds(claimed), "claim: only QUEUED jobs with runAt <= now in the given queues are claimed").toEqual(
        sortedIds([dueEarly, dueNow])
      )
      const none = yield* store.claim({
        token: TOKEN,
        workerId: "w-1",
        now,
        leaseMs: 5_000,
        limit: 100,
        queues: [queue],
        typeLimits: {},
        queueLimits: {}
      })
      expect(none, "claim: a claimed job is not claimed again").toEqual([])
      for (const row of rest) {
        const after = yield* getRow(row.id)
        expect(after.status, `claim: a ${row.status} job (runAt ${row.runAt - now}) is left alone`).toBe(row.status)
      }
    })
  )

  it.effect("claim sets RUNNING, attempt + 1, startedAt, updatedAt and the lease", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeRow({ queue: unique("q"), attempt: 1, queuedAt: T0 - 10 })
      yield* store.insert({ jobs: [row] })
      const now = T0 + 123
      const [claimed] = yield* store.claim({
        token: TOKEN,
        workerId: "w-lease",
        now,
        leaseMs: 4_000,
        limit: 5,
        queues: [row.queue],
        typeLimits: {},
        queueLimits: {}
      })
      const expected = comparable({
        ...row,
        status: "RUNNING",
        attempt: 2,
        startedAt: now,
        updatedAt: now,
        leaseOwner: "w-lease",
        leaseExpiresAt: now + 4_000,
        leaseToken: TOKEN
      })
      expect(comparable(claimed!), "claim: returns the claimed row as written").toEqual(expected)
      expect(comparable(yield* getRow(row.id)), "claim: the claimed row is stored").toEqual(expected)
    })
  )

  it.effect("claim orders by priority desc, runAt asc, id asc and respects limit", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const ids = Array.from({ length: 6 }, () => uuidv7()).sort()
      // expected claim order: a, b, c, d, e, f
      const f = makeRow({ id: ids[0]!, queue, priority: 0, runAt: T0 + 5 })
      const e = makeRow({ id: ids[1]!, queue, priority: 0, runAt: T0 + 1 })
      const d = makeRow({ id: ids[2]!, queue, priority: 5, runAt: T0 + 9 })
      const c = makeRow({ id: ids[5]!, queue, priority: 5, runAt: T0 + 2 })
      const b = makeRow({ id: ids[4]!, queue, priority: 5, runAt: T0 + 2 })
      const a = makeRow({ id: ids[3]!, queue, priority: 10, runAt: T0 + 9 })
      // b and c tie on priority and runAt: id decides, so the smaller id goes first
      const [first, second] = [b, c].sort(byId) as [JobRow, JobRow]
      yield* insertRows([f, e, d, c, b, a])
      const expected = [a.id, first.id, second.id, d.id, e.id, f.id]
      const order: Array<string> = []
      for (let i = 0; i < 6; i++) {
        const claimed = yield* store.claim({
          token: TOKEN,
          workerId: "w-order",
          now: T0 + 10,
          leaseMs: 1_000,
          limit: 1,
          queues: [queue],
          typeLimits: {},
          queueLimits: {}
        })
        expect(claimed.length, "claim: limit 1 claims one job").toBe(1)
        order.push(claimed[0]!.id)
      }
      expect(order, "claim: priority desc, then runAt asc, then id asc").toEqual(expected)

      const queue2 = unique("q")
      yield* insertRows(Array.from({ length: 5 }, () => makeRow({ queue: queue2 })))
      const some = yield* store.claim({
        token: TOKEN,
        workerId: "w-order",
        now: T0 + 10,
        leaseMs: 1_000,
        limit: 3,
        queues: [queue2],
        typeLimits: {},
        queueLimits: {}
      })
      expect(some.length, "claim: at most limit jobs").toBe(3)
    })
  )

  it.effect("claim never hands one job to two of 10 concurrent claimers", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const rows = Array.from({ length: 60 }, () => makeRow({ queue }))
      yield* insertRows(rows)
      const claimer = (workerId: string) =>
        Effect.gen(function* () {
          const mine: Array<JobRow> = []
          for (;;) {
            const claimed = yield* store.claim({
              token: TOKEN,
              workerId,
              now: T0,
              leaseMs: 60_000,
              limit: 3,
              queues: [queue],
              typeLimits: {},
              queueLimits: {}
            })
            if (claimed.length === 0) return mine
            mine.push(...claimed)
            yield* Effect.yieldNow()
          }
        })
      const results = yield* Effect.all(
        Array.from({ length: 10 }, (_, i) => claimer(`w-concurrent-${i}`)),
        { concurrency: "unbounded" }
      )
      const ids = results.flat().map((r) => r.id)
      expect(new Set(ids).size, "claim: no job is claimed twice").toBe(ids.length)
      expect(ids.length, "claim: every job is claimed once").toBe(60)
      for (const [i, mine] of results.entries()) {
        for (const row of mine) {
          const stored = yield* getRow(row.id)
          expect(stored.leaseOwner, "claim: the stored lease belongs to the claimer that got the job").toBe(
            `w-concurrent-${i}`
          )
          expect(stored.attempt, "claim: a job claimed once has attempt 1").toBe(1)
        }
      }
    })
  )

  it.effect("claim respects typeLimits counting RUNNING and CANCELLING jobs across the store", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const type = unique("type")
      const freeType = unique("type")
      const queue = unique("q")
      // one RUNNING and one CANCELLING job of the type, held by another worker in another queue
      const held = [
        makeRow({ type, queue: unique("q"), status: "RUNNING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 }),
        makeRow({ type, queue: unique("q"), status: "CANCELLING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 })
      ]
      const queued = Array.from({ length: 5 }, (_, i) => makeRow({ type, queue, priority: 10 - i }))
      const free = Array.from({ length: 2 }, () => makeRow({ type: freeType, queue }))
      yield* insertRows([...held, ...queued, ...free])
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w-types",
        now: T0,
        leaseMs: 1_000,
        limit: 10,
        queues: [queue],
        typeLimits: { [type]: 3 },
        queueLimits: {}
      })
      expect(
        claimed.filter((r) => r.type === type).map((r) => r.id),
        "claim: typeLimits 3 with 2 held allows one more, the first in claim order"
      ).toEqual([queued[0]!.id])
      expect(claimed.filter((r) => r.type === freeType).length, "claim: a type without a limit is not held back").toBe(
        2
      )
      const more = yield* store.claim({
        token: TOKEN,
        workerId: "w-types-2",
        now: T0,
        leaseMs: 1_000,
        limit: 10,
        queues: [queue],
        typeLimits: { [type]: 3 },
        queueLimits: {}
      })
      expect(more, "claim: a full type limit holds across workers").toEqual([])
      const zero = yield* store.claim({
        token: TOKEN,
        workerId: "w-types-3",
        now: T0,
        leaseMs: 1_000,
        limit: 10,
        queues: [queue],
        typeLimits: { [type]: 0 },
        queueLimits: {}
      })
      expect(zero, "claim: a limit of 0 claims nothing of that type").toEqual([])
    })
  )

  it.effect("claim respects queueLimits counting RUNNING and CANCELLING jobs across the store", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = unique("q")
      const otherQueue = unique("q")
      const held = [
        makeRow({ type: unique("t"), queue, status: "RUNNING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 }),
        makeRow({ type: unique("t"), queue, status: "CANCELLING", leaseOwner: "w-x", leaseExpiresAt: T0 + 1e9 })
      ]
      const queued = Array.from({ length: 4 }, (_, i) => makeRow({ queue, priority: 10 - i }))
      const others = Array.from({ length: 3 }, () => makeRow({ queue: otherQueue }))
      yield* insertRows([...held, ...queued, ...others])
      const claimed = yield* store.claim({
        token: TOKEN,
        workerId: "w-queues",
        now: T0,
        leaseMs: 1_000,
        limit: 10,
        queues: [queue, otherQueue],
        typeLimits: {},
        queueLimits: { [queue]: 4 }
      })
      expect(
        claimed.filter((r) => r.queue === queue).map((r) => r.id),
        "claim: queueLimits 4 with 2 held allows two more, the first in claim order"
      ).toEqual([queued[0]!.id, queued[1]!.id])
      expect(
        claimed.filter((r) => r.queue === otherQueue).length,
        "claim: a queue without a limit is not held back"
      ).toBe(3)
      const more = yield* store.claim({
        token: TOKEN,
        workerId: "w-queues-2",
        now: T0,
        leaseMs: 1_000,
        limit: 10,
        queues: [queue],
        typeLimits: {},
        queueLimits: { [queue]: 4 }
      })
      expect(more, "claim: a full queue limit holds across workers").toEqual([])
    })
  )
}
