/**
 * The SQLite store's schedule operations (`ScheduleStore` but `prune`). A tick is fired by one write transaction that
 * advances the schedule's `next_run_at` only if it still holds the value the firer read (compare-and-set) and inserts
 * the tick's jobs; the unique (schedule_key, schedule_tick) index makes a second job for a tick impossible anyway.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { int, intOrNull, jobColumnList, jobColumns, text, textOrNull, toValues, valuesList } from "./rows.js"
import type { Tables } from "./tables.js"

type ScheduleRow = JobStore.ScheduleRow

const scheduleColumns =
  "key, cron, time_zone, every_ms, backfill, template, source, paused, next_run_at, last_run_at, created_at, updated_at"

const toTuple = (row: ScheduleRow): ReadonlyArray<unknown> => [
  row.key,
  row.cron,
  row.timeZone,
  row.everyMs,
  row.backfill,
  row.template,
  row.source,
  row.paused ? 1 : 0,
  row.nextRunAt,
  row.lastRunAt,
  row.createdAt,
  row.updatedAt
]

const fromValues = (v: ReadonlyArray<unknown>): ScheduleRow => ({
  key: text(v[0]),
  cron: textOrNull(v[1]),
  timeZone: textOrNull(v[2]),
  everyMs: intOrNull(v[3]),
  backfill: int(v[4]),
  template: text(v[5]),
  source: text(v[6]) === "code" ? "code" : "api",
  paused: int(v[7]) !== 0,
  nextRunAt: int(v[8]),
  lastRunAt: intOrNull(v[9]),
  createdAt: int(v[10]),
  updatedAt: int(v[11])
})

/** What the schedule operations need from the store around them. */
export interface Context {
  readonly sql: SqlClient.SqlClient
  readonly tables: Tables
  readonly writeTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  readonly run: <A, R>(
    effect: Effect.Effect<A, SqlError | JobStore.JobStoreError, R>
  ) => Effect.Effect<A, JobStore.JobStoreError, R>
  /** Publishes `Enqueued` for these queues (after the transaction). */
  readonly enqueued: (queues: ReadonlyArray<string>) => Effect.Effect<void>
}

/** Builds the schedule operations. */
export const make = ({
  enqueued,
  run,
  sql,
  tables,
  writeTransaction
}: Context): Omit<JobStore.ScheduleStore, "prune"> => {
  const schedules = sql(`${tables.prefix}schedules`)
  const jobs = sql(tables.jobs)
  const columns = sql.literal(scheduleColumns)

  const selectOne = (key: string) =>
    Effect.map(sql`SELECT ${columns} FROM ${schedules} WHERE key = ${key}`.values, (rows) =>
      Option.map(Option.fromNullable(rows[0]), fromValues)
    )

  const putSchedule: JobStore.ScheduleStore["putSchedule"] = ({ mode, row }) =>
    run(
      writeTransaction(
        Effect.gen(function* () {
          const inserted = yield* sql`INSERT INTO ${schedules} (${columns}) ${valuesList([toTuple(row)], 12, {
            pad: false
          })} ON CONFLICT (key) DO NOTHING RETURNING key`.values
          if (inserted.length > 0) return { row, written: true }
          if (mode === "insert") {
            const existing = yield* selectOne(row.key)
            return { row: Option.getOrElse(existing, () => row), written: false }
          }
          // the ticks already planned stay when the recurrence is the same: re-registering never skips or repeats one
          const same = sql`cron IS ${row.cron} AND time_zone IS ${row.timeZone} AND every_ms IS ${row.everyMs}`
          const [updated] = yield* sql`UPDATE ${schedules} SET
              next_run_at = CASE WHEN ${same} THEN next_run_at ELSE ${row.nextRunAt} END,
              last_run_at = CASE WHEN ${same} THEN last_run_at ELSE ${row.lastRunAt} END,
              cron = ${row.cron}, time_zone = ${row.timeZone}, every_ms = ${row.everyMs}, backfill = ${row.backfill},
              template = ${row.template}, source = ${row.source}, updated_at = ${row.updatedAt}
            WHERE key = ${row.key} RETURNING ${columns}`.values
          return { row: updated === undefined ? row : fromValues(updated), written: true }
        })
      )
    )

  const getSchedule: JobStore.ScheduleStore["getSchedule"] = ({ key }) => run(selectOne(key))

  const listSchedules: JobStore.ScheduleStore["listSchedules"] = () =>
    run(Effect.map(sql`SELECT ${columns} FROM ${schedules} ORDER BY key`.values, (rows) => rows.map(fromValues)))

  const deleteSchedule: JobStore.ScheduleStore["deleteSchedule"] = ({ key }) =>
    run(Effect.map(sql`DELETE FROM ${schedules} WHERE key = ${key} RETURNING key`.values, (rows) => rows.length > 0))

  const setSchedulePaused: JobStore.ScheduleStore["setSchedulePaused"] = ({ key, nextRunAt, now, paused }) =>
    run(
      Effect.map(
        sql`UPDATE ${schedules} SET paused = ${paused ? 1 : 0}, updated_at = ${now},
            next_run_at = ${paused ? sql.literal("next_run_at") : sql`${nextRunAt}`}
          WHERE key = ${key} RETURNING ${columns}`.values,
        (rows) => Option.map(Option.fromNullable(rows[0]), fromValues)
      )
    )

  const dueSchedules: JobStore.ScheduleStore["dueSchedules"] = ({ limit, now }) =>
    run(
      Effect.map(
        sql`SELECT ${columns} FROM ${schedules} WHERE paused = 0 AND next_run_at <= ${now}
          ORDER BY next_run_at, key LIMIT ${Math.max(0, limit)} + 0`.values,
        (rows) => rows.map(fromValues)
      )
    )

  const fireSchedule: JobStore.ScheduleStore["fireSchedule"] = (options) =>
    run(
      writeTransaction(
        Effect.gen(function* () {
          const advanced = yield* sql`UPDATE ${schedules}
              SET next_run_at = ${options.nextRunAt}, last_run_at = ${options.lastRunAt}, updated_at = ${options.now}
            WHERE key = ${options.key} AND next_run_at = ${options.expectedNextRunAt} AND paused = 0
            RETURNING key`.values
          if (advanced.length === 0) return Option.none()
          const rows: Array<JobStore.JobRow> = []
          for (const { job, tick } of options.jobs) {
            // checked under the write lock this transaction holds, so no writer adds the tick's job meanwhile; the
            // unique index stands behind it. The number is taken only for a row that goes in (numbers stay dense).
            const exists = yield* sql`SELECT 1 FROM ${jobs}
              WHERE schedule_key = ${options.key} AND schedule_tick = ${tick}`.values
            if (exists.length > 0) continue
            const [counter] = yield* sql`UPDATE ${sql(tables.counters)} SET value = value + 1
              WHERE name = 'jobs' RETURNING value`.values
            const row: JobStore.JobRow = { ...job, number: int(counter?.[0]), scheduleKey: options.key }
            yield* sql`INSERT INTO ${jobs} (${sql.literal(jobColumnList)}, schedule_tick)
              ${valuesList([[...toValues(row), tick]], jobColumns.length + 1, { pad: false })}`
            rows.push(row)
          }
          return Option.some<ReadonlyArray<JobStore.JobRow>>(rows)
        })
      )
    ).pipe(
      Effect.tap((fired) =>
        Option.isSome(fired)
          ? enqueued(fired.value.filter((row) => row.status === "QUEUED").map((row) => row.queue))
          : Effect.void
      )
    )

  return { putSchedule, getSchedule, listSchedules, deleteSchedule, setSchedulePaused, dueSchedules, fireSchedule }
}
