/**
 * The schedule and retention part of the store port: schedule rows, tick jobs, prune bounds and their operations.
 * `JobStore` re-exports every name, so hosts and stores read them as `JobStore.ScheduleRow` and so on.
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { JobStatus } from "../Job.js"
import type { JobStoreError } from "../JobStore.js"
import type { JobRow, NewJobRow, StatusChange } from "./storeRows.js"

/**
 * A schedule as stored. Core owns every rule: it validates the spec and the job template, computes `nextRunAt`, and
 * builds the jobs of each tick; the store keeps the row and guards each tick with a compare-and-set on `nextRunAt`.
 */
export interface ScheduleRow {
  /** Unique per store. */
  readonly key: string
  /** A five- or six-field cron expression, or null for an interval schedule. */
  readonly cron: string | null
  /** The IANA time zone the cron expression is read in (null for an interval schedule). */
  readonly timeZone: string | null
  /** The interval of an interval schedule in milliseconds, or null for a cron schedule. */
  readonly everyMs: number | null
  /** How many missed ticks are run when several fell due at once (0: only the latest, the others are skipped). */
  readonly backfill: number
  /** JSON text of the job each tick creates (core's encoded template: type, params, queue, …). */
  readonly template: string
  /** `code` when defined by the host's code (re-registered at each start), `api` when created through the API. */
  readonly source: "code" | "api"
  /** A paused schedule fires nothing; its `nextRunAt` is computed afresh when it is resumed. */
  readonly paused: boolean
  /** The next tick (epoch ms). */
  readonly nextRunAt: number
  /** The last tick that created a job, or null. */
  readonly lastRunAt: number | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** A job a schedule's tick creates: the row to insert and the tick it belongs to. */
export interface TickJob {
  readonly job: NewJobRow
  /** The tick (epoch ms): at most one job per (schedule key, tick) ever exists, enforced by the store. */
  readonly tick: number
}

/** One bound of `prune`: terminal jobs with this status that finished before `before` (epoch ms). */
export interface PruneBound {
  readonly status: JobStatus
  readonly before: number
}

/**
 * The schedule and retention operations of the port. `fireSchedule` is how exactly one job per tick is created across
 * any number of processes: only the caller whose `expectedNextRunAt` still matches advances the schedule, and the
 * jobs are inserted in the same transaction.
 */
export interface ScheduleStore {
  /**
   * Writes a schedule. `insert`: only when no schedule has the key (`written` false and `row` the existing one
   * otherwise). `upsert`: inserts, or replaces every field of the existing row but `createdAt` and `paused`, and
   * keeps its `nextRunAt` and `lastRunAt` when `cron`, `timeZone` and `everyMs` are unchanged (a host that registers
   * its schedules at every start neither skips nor repeats a tick).
   */
  readonly putSchedule: (options: {
    readonly row: ScheduleRow
    readonly mode: "insert" | "upsert"
  }) => Effect.Effect<{ readonly row: ScheduleRow; readonly written: boolean }, JobStoreError>

  /** One schedule by key. */
  readonly getSchedule: (options: { readonly key: string }) => Effect.Effect<Option.Option<ScheduleRow>, JobStoreError>

  /** Every schedule, by key (binary order). */
  readonly listSchedules: (options: {}) => Effect.Effect<ReadonlyArray<ScheduleRow>, JobStoreError>

  /** Deletes a schedule (its jobs stay, keeping their `scheduleKey`). True when deleted. */
  readonly deleteSchedule: (options: { readonly key: string }) => Effect.Effect<boolean, JobStoreError>

  /**
   * Pauses (`paused` true) or resumes a schedule; resuming also sets `nextRunAt` (core computes it from now, so the
   * ticks of the pause are not run). `updatedAt` = now. None when no schedule has the key.
   */
  readonly setSchedulePaused: (options: {
    readonly key: string
    readonly paused: boolean
    readonly nextRunAt: number
    readonly now: number
  }) => Effect.Effect<Option.Option<ScheduleRow>, JobStoreError>

  /** Up to `limit` schedules that are not paused with `nextRunAt` <= now, earliest first. Read-only. */
  readonly dueSchedules: (options: {
    readonly now: number
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<ScheduleRow>, JobStoreError>

  /**
   * Fires a schedule's ticks in one transaction: when the schedule exists, is not paused and its `nextRunAt` is still
   * `expectedNextRunAt`, sets `nextRunAt`, `lastRunAt` and `updatedAt` = now, and inserts `jobs` with their
   * `scheduleKey` = key (a job whose (key, tick) already has a job is not inserted). Returns the inserted rows, or
   * None when the guard failed (another process fired these ticks). Publishes `Enqueued` for inserted QUEUED jobs.
   */
  readonly fireSchedule: (options: {
    readonly key: string
    readonly expectedNextRunAt: number
    readonly nextRunAt: number
    readonly lastRunAt: number | null
    readonly jobs: ReadonlyArray<TickJob>
    readonly now: number
  }) => Effect.Effect<Option.Option<ReadonlyArray<JobRow>>, JobStoreError>

  /**
   * Deletes up to `limit` terminal jobs, each matching one of `bounds` (its status, `finishedAt` < `before`), oldest
   * finished first, with their logs, items, results and pending callbacks, in one short transaction. Returns the
   * deleted jobs; fewer than `limit` means nothing else matched. Core calls it again for the next batch.
   */
  readonly prune: (options: {
    readonly bounds: ReadonlyArray<PruneBound>
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>
}
