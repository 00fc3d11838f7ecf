/**
 * The schedules and retention part of the store conformance suite: every rule of the port's `ScheduleStore`, on every
 * store. The store takes `now` explicitly, so no clock is involved: each test names its own times.
 */
import { expect } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import type { JobRow, ScheduleRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0, TOKEN } from "./rows.js"

const unique = (label: string): string => `${label}-${uuidv7()}`

/** A running cron schedule due at `T0 + 60 s`; `overrides` win. */
export const makeSchedule = (overrides: Partial<ScheduleRow> = {}): ScheduleRow => ({
  key: unique("schedule"),
  cron: "* * * * *",
  timeZone: "UTC",
  everyMs: null,
  backfill: 0,
  template: JSON.stringify({ type: "conformance" }),
  source: "api",
  paused: false,
  nextRunAt: T0 + 60_000,
  lastRunAt: null,
  createdAt: T0,
  updatedAt: T0,
  ...overrides
})

const jobsOf = (queue: string) =>
  Effect.flatMap(JobStore, (store) =>
    Effect.map(
      store.list({
        filter: { queues: [queue] },
        sort: "createdAt",
        order: "asc",
        limit: 1000,
        cursor: null,
        withTotal: false
      }),
      (page) => page.rows
    )
  )

/** Declares the schedule tests with the suite's `it` (one store for all tests). */
export const schedulesConformance = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  /** Fires the ticks `ticks` of `schedule` into `queue`, guarded by `expected`. */
  const fire = (
    schedule: ScheduleRow,
    queue: string,
    ticks: ReadonlyArray<number>,
    expected = schedule.nextRunAt,
    next = ticks[ticks.length - 1]! + 60_000
  ) =>
    Effect.flatMap(JobStore, (store) =>
      store.fireSchedule({
        key: schedule.key,
        expectedNextRunAt: expected,
        nextRunAt: next,
        lastRunAt: ticks[ticks.length - 1] ?? null,
        jobs: ticks.map((tick) => ({ tick, job: makeRow({ queue, runAt: tick, createdAt: T0 + 1 }) })),
        now: T0 + 1
      })
    )

  it.effect("putSchedule inserts a schedule that get and list return as written, and insert never replaces", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeSchedule({ cron: null, timeZone: null, everyMs: 90_000, backfill: 3, lastRunAt: T0 - 5 })
      const put = yield* store.putSchedule({ row, mode: "insert" })
      expect(put, "putSchedule: a new key is written").toEqual({ row, written: true })
      expect(Option.getOrNull(yield* store.getSchedule({ key: row.key })), "getSchedule: every field").toEqual(row)
      const listed = yield* store.listSchedules({})
      expect(
        listed.find((r) => r.key === row.key),
        "listSchedules: holds the schedule"
      ).toEqual(row)
      const keys = listed.map((r) => r.key)
      expect(keys, "listSchedules: by key").toEqual([...keys].sort())
      const again = yield* store.putSchedule({ row: { ...row, backfill: 9, template: "{}" }, mode: "insert" })
      expect(again, "putSchedule insert: a taken key is not written and the holder is returned").toEqual({
        row,
        written: false
      })
      expect(Option.isNone(yield* store.getSchedule({ key: unique("none") })), "getSchedule: unknown key").toBe(true)
    })
  )

  it.effect("putSchedule upsert keeps planned ticks, the pause and createdAt while the recurrence stays", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeSchedule()
      yield* store.putSchedule({ row, mode: "insert" })
      yield* store.setSchedulePaused({ key: row.key, paused: true, nextRunAt: 0, now: T0 + 5 })
      const same = yield* store.putSchedule({
        row: { ...row, nextRunAt: T0 + 999_000, createdAt: T0 + 10, updatedAt: T0 + 10, backfill: 2, template: "{}" },
        mode: "upsert"
      })
      expect(same, "upsert: the same recurrence keeps nextRunAt, lastRunAt, paused and createdAt").toEqual({
        row: { ...row, backfill: 2, template: "{}", paused: true, updatedAt: T0 + 10 },
        written: true
      })
      const changed = yield* store.putSchedule({
        row: { ...row, cron: "*/5 * * * *", nextRunAt: T0 + 300_000, updatedAt: T0 + 20 },
        mode: "upsert"
      })
      expect(changed.row, "upsert: a new recurrence takes the new nextRunAt").toEqual({
        ...row,
        cron: "*/5 * * * *",
        nextRunAt: T0 + 300_000,
        paused: true,
        updatedAt: T0 + 20
      })
      const fresh = makeSchedule()
      expect(yield* store.putSchedule({ row: fresh, mode: "upsert" }), "upsert: a new key is inserted").toEqual({
        row: fresh,
        written: true
      })
    })
  )

  it.effect("dueSchedules lists running schedules due at now, earliest first, up to the limit", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      // far in the past, so that no other test's schedule is due before these
      const base = 1_000_000_000_000
      const late = makeSchedule({ nextRunAt: base + 2 })
      const early = makeSchedule({ nextRunAt: base + 1 })
      const paused = makeSchedule({ nextRunAt: base, paused: true })
      const future = makeSchedule({ nextRunAt: base + 10 })
      for (const row of [late, early, paused, future]) yield* store.putSchedule({ row, mode: "insert" })
      const due = yield* store.dueSchedules({ now: base + 2, limit: 10 })
      expect(
        due.map((r) => r.key),
        "dueSchedules: due and not paused, by nextRunAt"
      ).toEqual([early.key, late.key])
      expect(
        (yield* store.dueSchedules({ now: base + 2, limit: 1 })).map((r) => r.key),
        "dueSchedules: limit"
      ).toEqual([early.key])
      for (const row of [late, early, paused, future]) yield* store.deleteSchedule({ key: row.key })
    })
  )

  it.effect("fireSchedule advances a schedule and inserts its tick's job, linked by scheduleKey, once", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeSchedule()
      const queue = unique("q")
      yield* store.putSchedule({ row, mode: "insert" })
      const fired = yield* fire(row, queue, [row.nextRunAt])
      expect(Option.isSome(fired), "fireSchedule: the guard matched").toBe(true)
      const rows = Option.getOrThrow(fired)
      expect(rows.length, "fireSchedule: one job for one tick").toBe(1)
      expect(rows[0]!.scheduleKey, "fireSchedule: the job carries the schedule's key").toBe(row.key)
      expect(rows[0]!.number, "fireSchedule: the store numbered the job").toBeGreaterThan(0)
      const stored = Option.getOrThrow(yield* store.get({ id: rows[0]!.id }))
      expect(stored.scheduleKey, "get: a scheduled job keeps its scheduleKey").toBe(row.key)
      expect(stored.runAt, "get: the job runs at its tick").toBe(row.nextRunAt)
      expect(Option.getOrThrow(yield* store.getSchedule({ key: row.key })), "fireSchedule: advanced").toMatchObject({
        nextRunAt: row.nextRunAt + 60_000,
        lastRunAt: row.nextRunAt,
        updatedAt: T0 + 1
      })
      const again = yield* fire(row, queue, [row.nextRunAt])
      expect(Option.isNone(again), "fireSchedule: a stale expectedNextRunAt changes nothing").toBe(true)
      expect((yield* jobsOf(queue)).length, "fireSchedule: still one job").toBe(1)
    })
  )

  it.effect("two firers of the same tick at once create exactly one job", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      for (let round = 0; round < 5; round++) {
        const row = makeSchedule()
        const queue = unique("q")
        yield* store.putSchedule({ row, mode: "insert" })
        const results = yield* Effect.all([fire(row, queue, [row.nextRunAt]), fire(row, queue, [row.nextRunAt])], {
          concurrency: "unbounded"
        })
        expect(results.filter(Option.isSome).length, "fireSchedule: exactly one firer wins").toBe(1)
        const jobs = yield* jobsOf(queue)
        expect(jobs.length, "fireSchedule: exactly one job for the tick").toBe(1)
        expect(jobs[0]!.scheduleKey).toBe(row.key)
      }
    })
  )

  it.effect("fireSchedule inserts each back-filled tick's job, and never a second job for a tick", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeSchedule()
      const queue = unique("q")
      yield* store.putSchedule({ row, mode: "insert" })
      const ticks = [row.nextRunAt, row.nextRunAt + 60_000, row.nextRunAt + 120_000]
      const fired = Option.getOrThrow(yield* fire(row, queue, ticks))
      expect(fired.map((job) => job.runAt).sort(), "fireSchedule: one job per tick").toEqual(ticks)
      // the schedule deleted and made again with the same key: ticks that have a job get none again
      expect(yield* store.deleteSchedule({ key: row.key }), "deleteSchedule: true when deleted").toBe(true)
      expect(yield* store.deleteSchedule({ key: row.key }), "deleteSchedule: false when missing").toBe(false)
      expect((yield* jobsOf(queue)).length, "deleteSchedule: the schedule's jobs stay").toBe(3)
      yield* store.putSchedule({ row, mode: "insert" })
      const refired = Option.getOrThrow(yield* fire(row, queue, [ticks[2]!, ticks[2]! + 60_000]))
      expect(
        refired.map((job) => job.runAt),
        "fireSchedule: only the tick without a job is inserted"
      ).toEqual([ticks[2]! + 60_000])
      expect((yield* jobsOf(queue)).length).toBe(4)
      yield* store.deleteSchedule({ key: row.key })
    })
  )

  it.effect("a paused schedule is not fired; resuming sets its next tick", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeSchedule()
      const queue = unique("q")
      yield* store.putSchedule({ row, mode: "insert" })
      const paused = yield* store.setSchedulePaused({ key: row.key, paused: true, nextRunAt: 0, now: T0 + 2 })
      expect(Option.getOrThrow(paused), "setSchedulePaused: paused, nextRunAt kept").toEqual({
        ...row,
        paused: true,
        updatedAt: T0 + 2
      })
      expect(Option.isNone(yield* fire(row, queue, [row.nextRunAt])), "fireSchedule: a paused schedule").toBe(true)
      expect((yield* jobsOf(queue)).length, "fireSchedule: nothing inserted while paused").toBe(0)
      const resumed = yield* store.setSchedulePaused({
        key: row.key,
        paused: false,
        nextRunAt: T0 + 600_000,
        now: T0 + 3
      })
      expect(Option.getOrThrow(resumed), "setSchedulePaused: resumed at the given next tick").toEqual({
        ...row,
        nextRunAt: T0 + 600_000,
        updatedAt: T0 + 3
      })
      expect(
        Option.isNone(yield* store.setSchedulePaused({ key: unique("none"), paused: true, nextRunAt: 0, now: T0 })),
        "setSchedulePaused: unknown key"
      ).toBe(true)
      yield* store.deleteSchedule({ key: row.key })
    })
  )
}

/** Declares the retention tests with the suite's `it` (one store for all tests). */
export const pruneConformance = (it: Vitest.MethodsNonLive<JobStore, true>): void => {
  // long before T0, so that the bounds of these tests never reach another test's jobs
  const past = 1_000_000_000_000

  /** A job that SUCCEEDED at `finishedAt` with a result, a log line, an item and a pending callback. */
  const finished = (queue: string, finishedAt: number) =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const row = makeRow({
        queue,
        status: "RUNNING",
        attempt: 1,
        leaseOwner: "pruner-test",
        leaseToken: TOKEN,
        leaseExpiresAt: finishedAt + 60_000,
        callbackUrl: "https://example.com/hook"
      })
      yield* store.insert({
        jobs: [row],
        items: [
          {
            jobId: row.id,
            key: "k",
            position: 0,
            status: "PENDING",
            input: null,
            output: null,
            error: null,
            startedAt: null,
            finishedAt: null,
            updatedAt: finishedAt
          }
        ]
      })
      const resultId = uuidv7()
      yield* store.settle({
        workerId: "pruner-test",
        now: finishedAt,
        settlements: [
          { _tag: "Complete", id: row.id, token: TOKEN, progress: null, result: { id: resultId, value: "1" } }
        ],
        logs: { entries: [{ jobId: row.id, at: finishedAt, level: "info", message: "done" }], cap: 100 }
      })
      return { id: row.id, resultId }
    })

  it.effect(
    "prune deletes old terminal jobs in batches, oldest first, with their logs, items, results and callbacks",
    () =>
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = unique("q")
        const old = []
        for (let i = 0; i < 5; i++) old.push(yield* finished(queue, past + 10 + i))
        const young = yield* finished(queue, past + 1_000)
        const failed = makeRow({ queue, status: "FAILED", terminalReason: "error", finishedAt: past + 5 })
        const running = makeRow({ queue, status: "RUNNING", finishedAt: null })
        yield* store.insert({ jobs: [failed, running] })
        const bounds = [{ status: "SUCCEEDED" as const, before: past + 500 }]

        const first = yield* store.prune({ bounds, limit: 2 })
        expect(first, "prune: a batch of `limit`, oldest finished first").toEqual([
          { id: old[0]!.id, status: "SUCCEEDED" },
          { id: old[1]!.id, status: "SUCCEEDED" }
        ])
        const second = yield* store.prune({ bounds, limit: 2 })
        expect(
          second.map((c) => c.id),
          "prune: the next batch"
        ).toEqual([old[2]!.id, old[3]!.id])
        expect(
          (yield* store.prune({ bounds, limit: 2 })).map((c) => c.id),
          "prune: a short batch ends it"
        ).toEqual([old[4]!.id])
        expect(yield* store.prune({ bounds, limit: 2 }), "prune: nothing left").toEqual([])

        for (const job of old) {
          expect(Option.isNone(yield* store.get({ id: job.id })), "prune: the job is gone").toBe(true)
          expect((yield* store.logs({ jobId: job.id, limit: 10, cursor: null })).rows, "prune: logs gone").toEqual([])
          expect(Option.isNone(yield* store.getResult({ resultId: job.resultId })), "prune: result gone").toBe(true)
          const items = yield* store.listItems({ jobId: job.id, limit: 10, cursor: null })
          expect(items.rows, "prune: items gone").toEqual([])
        }
        // due at their jobs' finish times, long before any other test's callbacks: only these are taken
        const callbacks = yield* store.claimCallbacks({ now: past + 10_000, limit: 100_000, leaseMs: 1 })
        const pruned = new Set(old.map((job) => job.id))
        expect(
          callbacks.filter((c) => pruned.has(c.jobId)),
          "prune: pending callbacks gone"
        ).toEqual([])
        expect(
          callbacks.some((c) => c.jobId === young.id),
          "prune: a kept job keeps its callback"
        ).toBe(true)

        const kept = (yield* jobsOf(queue)).map((row: JobRow) => row.id).sort()
        expect(kept, "prune: younger jobs, other statuses and live jobs stay").toEqual(
          [young.id, failed.id, running.id].sort()
        )
        const byStatus = yield* store.prune({
          bounds: [
            { status: "FAILED", before: past + 500 },
            { status: "RUNNING", before: past + 10_000_000 }
          ],
          limit: 10
        })
        expect(byStatus, "prune: a bound per status; never a live job").toEqual([{ id: failed.id, status: "FAILED" }])
        expect(yield* store.prune({ bounds: [], limit: 10 }), "prune: no bounds, nothing").toEqual([])
      })
  )
}
