/**
 * The schedule and retention operations of the in-memory store, built over the store's own job operations: schedules
 * live in a Map of their own, and each method decides synchronously (JavaScript runs a synchronous block to its end
 * before any other fiber runs), so the compare-and-set of `fireSchedule` is atomic, as the SQL stores' are.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { terminalStatuses } from "../Job.js"
import type { JobRow, JobStore, ScheduleRow, ScheduleStore, StatusChange } from "../JobStore.js"

/** The job operations the schedules need from the store they join. */
export type Base = Pick<JobStore.Service, "insert" | "list" | "delete">

/** Schedule operations over `base`, with state of their own. */
export const make = (base: Base): ScheduleStore => {
  const schedules = new Map<string, ScheduleRow>()
  /** (key, tick) pairs that created a job: at most one job per tick, even across a delete and re-create. */
  const fired = new Set<string>()
  const sameSpec = (a: ScheduleRow, b: ScheduleRow) =>
    a.cron === b.cron && a.timeZone === b.timeZone && a.everyMs === b.everyMs

  const putSchedule: ScheduleStore["putSchedule"] = ({ mode, row }) =>
    Effect.sync(() => {
      const existing = schedules.get(row.key)
      if (existing === undefined) {
        schedules.set(row.key, row)
        return { row, written: true }
      }
      if (mode === "insert") return { row: existing, written: false }
      const kept = sameSpec(existing, row)
      const next: ScheduleRow = {
        ...row,
        createdAt: existing.createdAt,
        paused: existing.paused,
        nextRunAt: kept ? existing.nextRunAt : row.nextRunAt,
        lastRunAt: kept ? existing.lastRunAt : row.lastRunAt
      }
      schedules.set(row.key, next)
      return { row: next, written: true }
    })

  const getSchedule: ScheduleStore["getSchedule"] = ({ key }) =>
    Effect.sync(() => Option.fromNullable(schedules.get(key)))

  const listSchedules: ScheduleStore["listSchedules"] = () =>
    Effect.sync(() => Array.from(schedules.values()).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))

  const deleteSchedule: ScheduleStore["deleteSchedule"] = ({ key }) => Effect.sync(() => schedules.delete(key))

  const setSchedulePaused: ScheduleStore["setSchedulePaused"] = ({ key, nextRunAt, now, paused }) =>
    Effect.sync(() => {
      const existing = schedules.get(key)
      if (existing === undefined) return Option.none()
      const next: ScheduleRow = {
        ...existing,
        paused,
        nextRunAt: paused ? existing.nextRunAt : nextRunAt,
        updatedAt: now
      }
      schedules.set(key, next)
      return Option.some(next)
    })

  const dueSchedules: ScheduleStore["dueSchedules"] = ({ limit, now }) =>
    Effect.sync(() =>
      Array.from(schedules.values())
        .filter((row) => !row.paused && row.nextRunAt <= now)
        .sort((a, b) => a.nextRunAt - b.nextRunAt || (a.key < b.key ? -1 : 1))
        .slice(0, Math.max(0, limit))
    )

  const fireSchedule: ScheduleStore["fireSchedule"] = (options) =>
    Effect.suspend(() => {
      const existing = schedules.get(options.key)
      if (existing === undefined || existing.paused || existing.nextRunAt !== options.expectedNextRunAt) {
        return Effect.succeed(Option.none())
      }
      // the guard and the advance happen in this synchronous block: a second firer sees the new `nextRunAt`
      schedules.set(options.key, {
        ...existing,
        nextRunAt: options.nextRunAt,
        lastRunAt: options.lastRunAt,
        updatedAt: options.now
      })
      const fresh = options.jobs.filter(({ tick }) => !fired.has(`${options.key}\u0000${tick}`))
      for (const { tick } of fresh) fired.add(`${options.key}\u0000${tick}`)
      if (fresh.length === 0) return Effect.succeed(Option.some<ReadonlyArray<JobRow>>([]))
      return base
        .insert({ jobs: fresh.map(({ job }) => ({ ...job, scheduleKey: options.key })) })
        .pipe(Effect.map((outcomes) => Option.some(outcomes.filter((o) => o.inserted).map((o) => o.row))))
    })

  const prune: ScheduleStore["prune"] = ({ bounds, limit }) =>
    Effect.gen(function* () {
      const candidates: Array<JobRow> = []
      for (const bound of bounds) {
        if (!terminalStatuses.includes(bound.status)) continue
        const page = yield* base.list({
          filter: { statuses: [bound.status], finishedBefore: bound.before },
          sort: "finishedAt",
          order: "asc",
          limit: Math.max(1, limit),
          cursor: null,
          withTotal: false
        })
        candidates.push(...page.rows)
      }
      candidates.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || (a.id < b.id ? -1 : 1))
      const deleted: Array<StatusChange> = []
      for (const row of candidates.slice(0, Math.max(0, limit))) {
        // guarded by the status read: a job retried meanwhile is not terminal any more and stays
        if (yield* base.delete({ id: row.id, from: [row.status] })) deleted.push({ id: row.id, status: row.status })
      }
      return deleted
    })

  return {
    putSchedule,
    getSchedule,
    listSchedules,
    deleteSchedule,
    setSchedulePaused,
    dueSchedules,
    fireSchedule,
    prune
  }
}
