import { describe, expect, it } from "@effect/vitest"
import { JobRetention, JobSchedule, JobSchedules, JobStore, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const Report = JobType.make({
  key: "report",
  name: "Nightly report",
  params: Schema.Struct({ region: Schema.String, size: Schema.optionalWith(Schema.Int, { default: () => 10 }) }),
  stages: [{ key: "build", name: "Build" }],
  retry: { maxAttempts: 2 }
})

const at = (iso: string) => Date.parse(iso)
const iso = (millis: number) => new Date(millis).toISOString()

const engine = (schedules: ReadonlyArray<JobSchedule.Definition> = []) =>
  JobSchedules.layer({ schedules }).pipe(
    Layer.provideMerge(Jobs.layer({ types: [Report] })),
    Layer.provideMerge(MemoryJobStore.layer)
  )

/** Jobs of a schedule, oldest tick first. */
const jobsOf = (key: string) =>
  Effect.flatMap(Jobs.Jobs, (jobs) =>
    Effect.map(jobs.list({ sort: "createdAt", order: "asc", limit: 1000 }), (page) =>
      page.items.filter((job) => job.scheduleKey === key).sort((a, b) => (a.runAt < b.runAt ? -1 : 1))
    )
  )

/** Moves the clock to `time` and runs one ticker pass. */
const tickAt = (time: string) =>
  Effect.flatMap(TestClock.setTime(at(time)), () => Effect.flatMap(JobSchedules.JobSchedules, (s) => s.tick()))

describe("JobSchedules", () => {
  it.effect("a code schedule creates one QUEUED job per tick, at the tick, linked by scheduleKey", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2026-01-01T00:00:00Z"))
      const code = JobSchedule.make({ key: "hourly", cron: "0 * * * *", type: Report, params: { region: "eu" } })
      const context = yield* Layer.build(engine([code]))
      const schedules = Context.get(context, JobSchedules.JobSchedules)
      const schedule = yield* schedules.get("hourly")
      expect(schedule).toMatchObject({
        key: "hourly",
        cron: "0 * * * *",
        timeZone: "UTC",
        source: "code",
        paused: false,
        missed: "skip",
        nextRunAt: "2026-01-01T01:00:00.000Z",
        job: { type: "report", name: "Nightly report", params: { region: "eu", size: 10 }, maxAttempts: 2 }
      })
      const tickAt = (time: string) => Effect.zipRight(TestClock.setTime(at(time)), schedules.tick())
      expect(yield* tickAt("2026-01-01T00:59:59.999Z")).toEqual([])
      const fired = yield* tickAt("2026-01-01T01:00:00.000Z")
      expect(fired.map((job) => [job.scheduleKey, job.status, job.runAt, job.type])).toEqual([
        ["hourly", "QUEUED", "2026-01-01T01:00:00.000Z", "report"]
      ])
      expect(fired[0]!.params).toEqual({ region: "eu", size: 10 })
      expect(fired[0]!.progress.stages.map((s) => [s.key, s.status])).toEqual([["build", "PENDING"]])
      expect(yield* tickAt("2026-01-01T01:30:00.000Z"), "nothing more until the next tick").toEqual([])
      expect((yield* schedules.get("hourly")).nextRunAt, "the next run time is visible").toBe(
        "2026-01-01T02:00:00.000Z"
      )
      expect((yield* schedules.get("hourly")).lastRunAt).toBe("2026-01-01T01:00:00.000Z")
    }).pipe(Effect.scoped)
  )

  it.effect("the ticker loop fires each tick of an interval schedule as the clock moves", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      yield* schedules.create({ key: "every-90s", everyMs: 90_000, type: "report", params: { region: "us" } })
      const ticker = yield* Effect.fork(JobSchedules.ticker({ interval: "1 second" }))
      yield* TestClock.adjust("5 minutes")
      const jobs = yield* jobsOf("every-90s")
      expect(jobs.map((job) => job.runAt)).toEqual([
        "1970-01-01T00:01:30.000Z",
        "1970-01-01T00:03:00.000Z",
        "1970-01-01T00:04:30.000Z"
      ])
      yield* Fiber.interrupt(ticker)
    }).pipe(Effect.provide(engine()))
  )

  it.effect("follows Europe/Berlin across spring forward and fall back, as cron does", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      yield* TestClock.setTime(at("2026-03-27T12:00:00Z"))
      yield* schedules.create({
        key: "berlin",
        cron: "30 2 * * *",
        timeZone: "Europe/Berlin",
        type: "report",
        params: { region: "de" }
      })
      // one pass an hour over the two DST weekends: every tick is fired on time, none twice
      for (const [from, to] of [
        ["2026-03-27T12:00:00Z", "2026-03-31T00:00:00Z"],
        ["2026-10-23T12:00:00Z", "2026-10-27T00:00:00Z"]
      ] as const) {
        for (let t = at(from); t <= at(to); t += 3_600_000) yield* tickAt(iso(t))
        if (from.startsWith("2026-03")) {
          // paused over the summer: resuming does not run the summer's ticks
          yield* schedules.pause("berlin")
          yield* TestClock.setTime(at("2026-10-23T11:00:00Z"))
          yield* schedules.resume("berlin")
        }
      }
      expect((yield* jobsOf("berlin")).map((job) => job.runAt)).toEqual([
        "2026-03-28T01:30:00.000Z",
        // 02:30 does not exist on the 29th: once, right after the gap (03:00 CEST)
        "2026-03-29T01:00:00.000Z",
        "2026-03-30T00:30:00.000Z",
        "2026-10-24T00:30:00.000Z",
        // 02:30 happens twice on the 25th: once, the first time (CEST)
        "2026-10-25T00:30:00.000Z",
        "2026-10-26T01:30:00.000Z"
      ])
    }).pipe(Effect.provide(engine()))
  )

  it.effect("fires an America/New_York month-end schedule on each month's last day", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      yield* TestClock.setTime(at("2026-01-15T00:00:00Z"))
      yield* schedules.create({
        key: "month-end",
        cron: "0 23 L * *",
        timeZone: "America/New_York",
        type: "report",
        params: { region: "us" },
        missed: { backfill: 12 }
      })
      // one pass after three months offline: the back-fill runs every missed month end, in order
      yield* tickAt("2026-05-01T12:00:00Z")
      expect((yield* jobsOf("month-end")).map((job) => job.runAt)).toEqual([
        "2026-02-01T04:00:00.000Z",
        "2026-03-01T04:00:00.000Z",
        "2026-04-01T03:00:00.000Z",
        "2026-05-01T03:00:00.000Z"
      ])
    }).pipe(Effect.provide(engine()))
  )

  it.effect("missed ticks: skip runs only the latest, backfill runs up to n more", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      yield* schedules.create({ key: "skip", cron: "*/10 * * * * *", type: "report", params: { region: "a" } })
      yield* schedules.create({
        key: "backfill",
        cron: "*/10 * * * * *",
        type: "report",
        params: { region: "b" },
        missed: { backfill: 2 }
      })
      yield* TestClock.setTime(65_000)
      yield* JobSchedules.JobSchedules.pipe(Effect.flatMap((s) => s.tick()))
      expect((yield* jobsOf("skip")).map((job) => job.runAt)).toEqual(["1970-01-01T00:01:00.000Z"])
      expect((yield* jobsOf("backfill")).map((job) => job.runAt)).toEqual([
        "1970-01-01T00:00:40.000Z",
        "1970-01-01T00:00:50.000Z",
        "1970-01-01T00:01:00.000Z"
      ])
      expect((yield* schedules.get("skip")).nextRunAt).toBe("1970-01-01T00:01:10.000Z")
    }).pipe(Effect.provide(engine()))
  )

  it.effect("two engines over one store firing at once create one job per tick", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const second = yield* JobSchedules.make.pipe(
        Effect.provide(
          Jobs.layer({ types: [Report] }).pipe(Layer.provideMerge(Layer.succeed(JobStore.JobStore, store)))
        )
      )
      const first = yield* JobSchedules.JobSchedules
      yield* first.create({
        key: "shared",
        cron: "* * * * * *",
        type: "report",
        params: { region: "x" },
        missed: { backfill: 5 }
      })
      for (let second_ = 1; second_ <= 20; second_++) {
        yield* TestClock.setTime(second_ * 1000 + 500)
        yield* Effect.all([first.tick(), second.tick()], { concurrency: "unbounded" })
      }
      const runAts = (yield* jobsOf("shared")).map((job) => job.runAt)
      expect(runAts.length).toBe(20)
      expect(new Set(runAts).size).toBe(20)
    }).pipe(Effect.provide(engine()))
  )

  it.effect("pause stops a schedule; resume fires again from the next tick, never the paused ones", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      yield* schedules.create({
        key: "p",
        everyMs: 60_000,
        type: "report",
        params: { region: "p" },
        missed: { backfill: 100 }
      })
      expect((yield* schedules.pause("p")).paused).toBe(true)
      yield* tickAt("1970-01-01T00:10:00.000Z")
      expect(yield* jobsOf("p")).toEqual([])
      const resumed = yield* schedules.resume("p")
      expect(resumed).toMatchObject({ paused: false, nextRunAt: "1970-01-01T00:11:00.000Z" })
      yield* tickAt("1970-01-01T00:11:00.000Z")
      expect((yield* jobsOf("p")).map((job) => job.runAt)).toEqual(["1970-01-01T00:11:00.000Z"])
      expect(yield* Effect.flip(schedules.pause("nope"))).toMatchObject({ _tag: "ScheduleNotFound", key: "nope" })
    }).pipe(Effect.provide(engine()))
  )

  it.effect("re-registering an unchanged code schedule at restart keeps its next tick; a new cron replans", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      yield* TestClock.setTime(at("2026-01-01T00:00:00Z"))
      const start = (cron: string) =>
        JobSchedules.JobSchedules.pipe(
          Effect.provide(
            JobSchedules.layer({
              schedules: [JobSchedule.make({ key: "daily", cron, type: Report, params: { region: "eu" } })]
            }).pipe(
              Layer.provide(Jobs.layer({ types: [Report] })),
              Layer.provide(Layer.succeed(JobStore.JobStore, store))
            )
          )
        )
      const first = yield* start("0 3 * * *")
      expect((yield* first.get("daily")).nextRunAt).toBe("2026-01-01T03:00:00.000Z")
      yield* TestClock.setTime(at("2026-01-01T05:00:00Z"))
      // the process was down across 03:00: the restart must not move the tick past it
      const again = yield* start("0 3 * * *")
      expect((yield* again.get("daily")).nextRunAt).toBe("2026-01-01T03:00:00.000Z")
      expect((yield* again.tick()).map((job) => job.runAt)).toEqual(["2026-01-01T03:00:00.000Z"])
      const replanned = yield* start("0 6 * * *")
      expect((yield* replanned.get("daily")).nextRunAt).toBe("2026-01-01T06:00:00.000Z")
    }).pipe(Effect.provide(MemoryJobStore.layer))
  )

  it.effect("a bad schedule is refused with the field named: cron, time zone, recurrence, type, params", () =>
    Effect.gen(function* () {
      const schedules = yield* JobSchedules.JobSchedules
      const issues = (input: unknown) =>
        Effect.map(Effect.flip(schedules.create(input)), (error) => ({
          tag: error._tag,
          paths: "issues" in error ? error.issues.map((i) => i.path) : []
        }))
      const base = { key: "bad", type: "report", params: { region: "x" } }
      expect(yield* issues({ ...base, cron: "61 * * * *" })).toEqual({ tag: "InvalidInput", paths: ["cron"] })
      expect(yield* issues({ ...base, cron: "0 * * * *", timeZone: "Mars/Olympus" })).toEqual({
        tag: "InvalidInput",
        paths: ["timeZone"]
      })
      expect(yield* issues(base)).toEqual({ tag: "InvalidInput", paths: ["cron"] })
      expect(yield* issues({ ...base, cron: "* * * * *", everyMs: 60_000 })).toEqual({
        tag: "InvalidInput",
        paths: ["everyMs"]
      })
      expect(yield* issues({ ...base, everyMs: 10 })).toEqual({ tag: "InvalidInput", paths: ["everyMs"] })
      expect(yield* issues({ ...base, key: "", cron: "* * * * *" })).toEqual({ tag: "InvalidInput", paths: ["key"] })
      expect(yield* issues({ ...base, cron: "* * * * *", missed: { backfill: -1 } })).toMatchObject({
        tag: "InvalidInput"
      })
      expect(yield* issues({ ...base, type: "nope", cron: "* * * * *" })).toEqual({ tag: "UnknownJobType", paths: [] })
      expect(yield* issues({ ...base, cron: "* * * * *", params: { region: 1 } })).toEqual({
        tag: "InvalidParams",
        paths: ["params.region"]
      })
      yield* schedules.create({ ...base, cron: "* * * * *" })
      expect(yield* Effect.flip(schedules.create({ ...base, cron: "* * * * *" }))).toMatchObject({
        _tag: "ScheduleExists",
        key: "bad"
      })
      expect(yield* schedules.list()).toHaveLength(1)
      yield* schedules.delete("bad")
      expect(yield* schedules.list()).toEqual([])
      expect(yield* Effect.flip(schedules.delete("bad"))).toMatchObject({ _tag: "ScheduleNotFound" })
    }).pipe(Effect.provide(engine()))
  )

  it.effect("a scheduled job's created event is published", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const schedules = yield* JobSchedules.JobSchedules
      yield* schedules.create({ key: "ev", everyMs: 1000, type: "report", params: { region: "e" } })
      const events = yield* jobs.subscribe()
      yield* tickAt("1970-01-01T00:00:01.000Z")
      const first = yield* Stream.runCollect(Stream.take(events, 1))
      expect(Chunk.toReadonlyArray(first).map((e) => e._tag === "created" && e.job.scheduleKey)).toEqual(["ev"])
    }).pipe(Effect.scoped, Effect.provide(engine()))
  )
})

describe("JobRetention", () => {
  it.effect("prunes terminal jobs older than their status's age, in batches, publishing deleted events", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const store = yield* JobStore.JobStore
      const ids: Array<string> = []
      for (let i = 0; i < 7; i++) {
        const job = yield* jobs.create({ type: "report", params: { region: "r" } })
        ids.push(job.job.id)
        yield* jobs.cancel(job.job.id)
      }
      const kept = yield* jobs.create({ type: "report", params: { region: "r" } })
      yield* TestClock.adjust("2 hours")
      const fresh = yield* jobs.create({ type: "report", params: { region: "r" } })
      yield* jobs.cancel(fresh.job.id)
      const events = yield* jobs.subscribe()
      const report = yield* JobRetention.prune({ olderThan: { CANCELLED: "1 hour", FAILED: "1 minute" }, batchSize: 3 })
      expect(report).toEqual({ deleted: 7, byStatus: { CANCELLED: 7 }, batches: 3 })
      const deleted = yield* Stream.runCollect(Stream.take(events, 7))
      expect(
        Chunk.toReadonlyArray(deleted)
          .map((e) => (e._tag === "deleted" ? e.jobId : e._tag))
          .sort()
      ).toEqual([...ids].sort())
      for (const id of ids) expect(Option.isNone(yield* store.get({ id }))).toBe(true)
      expect((yield* jobs.get(kept.job.id)).status, "a live job is never pruned").toBe("CREATED")
      expect((yield* jobs.get(fresh.job.id)).status, "a young job stays").toBe("CANCELLED")
      expect(yield* JobRetention.prune({ olderThan: "1 hour" })).toEqual({ deleted: 0, byStatus: {}, batches: 1 })
      expect(
        yield* Effect.flip(JobRetention.prune({ olderThan: { SUCCEEDED: "soon" as Duration.DurationInput } }))
      ).toMatchObject({
        _tag: "InvalidInput",
        issues: [{ path: "olderThan.SUCCEEDED" }]
      })
    }).pipe(Effect.scoped, Effect.provide(engine()))
  )
})
