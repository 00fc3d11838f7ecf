/**
 * The Postgres store's schedule operations (`ScheduleStore` but `prune`). A tick is fired by one transaction that
 * advances the schedule's `next_run_at` only if it still holds the value the firer read: a second firer's UPDATE
 * waits on the row lock, then finds the new value and changes nothing. The tick's jobs go in with the advance, and
 * the unique (schedule_key, schedule_tick) index turns away a second job for a tick whatever happens.
 */
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Shared } from "./shared.js"
import type { Row } from "./rows.js"
import { refail as mapErrors } from "./errors.js"
import { jobColumns, toJobRow } from "./rows.js"

type ScheduleRow = JobStore.ScheduleRow

const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))

const toScheduleRow = (r: Row): ScheduleRow => ({
  key: String(r.key),
  cron: (r.cron ?? null) as string | null,
  timeZone: (r.time_zone ?? null) as string | null,
  everyMs: numOrNull(r.every_ms),
  backfill: Number(r.backfill),
  template: String(r.template),
  source: r.source === "code" ? "code" : "api",
  paused: r.paused === true,
  nextRunAt: Number(r.next_run_at),
  lastRunAt: numOrNull(r.last_run_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at)
})

const toRecord = (row: ScheduleRow) => ({
  key: row.key,
  cron: row.cron,
  time_zone: row.timeZone,
  every_ms: row.everyMs,
  backfill: row.backfill,
  template: row.template,
  source: row.source,
  paused: row.paused,
  next_run_at: row.nextRunAt,
  last_run_at: row.lastRunAt,
  created_at: row.createdAt,
  updated_at: row.updatedAt
})

/** Builds the schedule operations over the store's shared pieces. */
export const make = ({ names, sql }: Shared): Omit<JobStore.ScheduleStore, "prune"> => {
  const schedules = sql(`${names.schema}.${names.prefix}schedules`)
  const jobs = sql(names.jobs)

  const putSchedule: JobStore.ScheduleStore["putSchedule"] = ({ mode, row }) =>
    mapErrors(
      Effect.gen(function* () {
        // the recurrence unchanged: the ticks already planned stay, so re-registering never skips or repeats one
        const same = sql`${schedules}.cron IS NOT DISTINCT FROM excluded.cron
            AND ${schedules}.time_zone IS NOT DISTINCT FROM excluded.time_zone
            AND ${schedules}.every_ms IS NOT DISTINCT FROM excluded.every_ms`
        const written = yield* mode === "insert"
          ? sql<Row>`INSERT INTO ${schedules} ${sql.insert(toRecord(row))} ON CONFLICT (key) DO NOTHING RETURNING *`
          : sql<Row>`INSERT INTO ${schedules} ${sql.insert(toRecord(row))} ON CONFLICT (key) DO UPDATE SET
                next_run_at = CASE WHEN ${same} THEN ${schedules}.next_run_at ELSE excluded.next_run_at END,
                last_run_at = CASE WHEN ${same} THEN ${schedules}.last_run_at ELSE excluded.last_run_at END,
                cron = excluded.cron, time_zone = excluded.time_zone, every_ms = excluded.every_ms,
                backfill = excluded.backfill, template = excluded.template, source = excluded.source,
                updated_at = excluded.updated_at
              RETURNING *`
        if (written.length > 0) return { row: toScheduleRow(written[0]), written: true }
        const existing = yield* sql<Row>`SELECT * FROM ${schedules} WHERE key = ${row.key}`
        return { row: existing.length > 0 ? toScheduleRow(existing[0]) : row, written: false }
      })
    )

  const getSchedule: JobStore.ScheduleStore["getSchedule"] = ({ key }) =>
    mapErrors(
      Effect.map(sql<Row>`SELECT * FROM ${schedules} WHERE key = ${key}`, (rows) =>
        Option.map(Option.fromNullable(rows[0]), toScheduleRow)
      )
    )

  const listSchedules: JobStore.ScheduleStore["listSchedules"] = () =>
    mapErrors(Effect.map(sql<Row>`SELECT * FROM ${schedules} ORDER BY key`, (rows) => rows.map(toScheduleRow)))

  const deleteSchedule: JobStore.ScheduleStore["deleteSchedule"] = ({ key }) =>
    mapErrors(
      Effect.map(sql<Row>`DELETE FROM ${schedules} WHERE key = ${key} RETURNING key`, (rows) => rows.length > 0)
    )

  const setSchedulePaused: JobStore.ScheduleStore["setSchedulePaused"] = ({ key, nextRunAt, now, paused }) =>
    mapErrors(
      Effect.map(
        sql<Row>`UPDATE ${schedules} SET paused = ${paused}, updated_at = ${now},
              next_run_at = CASE WHEN ${paused} THEN next_run_at ELSE ${nextRunAt}::int8 END
            WHERE key = ${key} RETURNING *`,
        (rows) => Option.map(Option.fromNullable(rows[0]), toScheduleRow)
      )
    )

  const dueSchedules: JobStore.ScheduleStore["dueSchedules"] = ({ limit, now }) =>
    mapErrors(
      Effect.map(
        sql<Row>`SELECT * FROM ${schedules} WHERE NOT paused AND next_run_at <= ${now}
            ORDER BY next_run_at, key LIMIT ${Math.max(0, limit)}`,
        (rows) => rows.map(toScheduleRow)
      )
    )

  const fireSchedule: JobStore.ScheduleStore["fireSchedule"] = (options) =>
    mapErrors(
      sql.withTransaction(
        Effect.gen(function* () {
          const advanced = yield* sql<Row>`UPDATE ${schedules}
                SET next_run_at = ${options.nextRunAt}, last_run_at = ${options.lastRunAt}, updated_at = ${options.now}
              WHERE key = ${options.key} AND next_run_at = ${options.expectedNextRunAt} AND NOT paused
              RETURNING key`
          if (advanced.length === 0) return Option.none()
          if (options.jobs.length === 0) return Option.some<ReadonlyArray<JobStore.JobRow>>([])
          const records = options.jobs.map(({ job, tick }) => {
            const record: Record<string, unknown> = { schedule_key: options.key, schedule_tick: tick }
            for (const [column, field] of jobColumns) {
              const value = job[field]
              // a tick's job names no dependency: the columns it leaves out take their defaults
              if (value !== undefined) record[column] = field === "tags" ? [...job.tags] : value
            }
            return record
          })
          const inserted = yield* sql<Row>`INSERT INTO ${jobs} ${sql.insert(records)}
              ON CONFLICT (schedule_key, schedule_tick) WHERE schedule_key IS NOT NULL DO NOTHING
              RETURNING *`
          const rows = inserted.map(toJobRow).sort((a, b) => a.runAt - b.runAt)
          // sent at commit, to every process (this one's listener included)
          const queues = Array.from(new Set(rows.filter((r) => r.status === "QUEUED").map((r) => r.queue)))
          if (queues.length > 0) {
            yield* sql`SELECT count(pg_notify(${names.channel}, json_build_object('_tag', 'Enqueued', 'queue', q)::text))
                FROM unnest(${queues}::text[]) AS q`
          }
          return Option.some<ReadonlyArray<JobStore.JobRow>>(rows)
        })
      )
    )

  return { putSchedule, getSchedule, listSchedules, deleteSchedule, setSchedulePaused, dueSchedules, fireSchedule }
}
