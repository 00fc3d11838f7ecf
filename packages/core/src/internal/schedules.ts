/**
 * The engine side of schedules: validates a schedule (its recurrence and the job it creates) once, stores the job as a
 * resolved template, and fires due ticks. The store guards each tick with a compare-and-set, so any number of
 * processes may run `fireDue` at once and each tick still creates exactly one job.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { uuidv7 } from "uuidv7"
import * as Job from "../Job.js"
import { toJob } from "./jobRow.js"
import type { Issue } from "../JobError.js"
import { InvalidInput, InvalidParams, ScheduleExists, ScheduleNotFound, UnknownJobType } from "../JobError.js"
import type { JobStore, JobStoreError, NewJobRow, ScheduleRow } from "../JobStore.js"
import * as JobSchedule from "../JobSchedule.js"
import type * as JobType from "../JobType.js"
import { initialProgress } from "./context.js"
import * as Ticks from "./ticks.js"

/** The job a schedule's ticks create, every default resolved (stored as the schedule's `template`). */
interface Template {
  readonly type: string
  readonly name: string
  readonly queue: string
  readonly owner: string | null
  readonly priority: number
  /** JSON text of the encoded params. */
  readonly params: string
  /** JSON text of the metadata object. */
  readonly metadata: string
  readonly tags: ReadonlyArray<string>
  readonly maxAttempts: number
  readonly timeoutMs: number | null
  readonly callbackUrl: string | null
  /** JSON text of a new QUEUED job's progress (the type's stages, all PENDING). */
  readonly progress: string
}

/** A time after every tick: where a recurrence with no next tick is parked. */
const never = 8.64e15

/** Errors of defining a schedule. */
export type DefineError = InvalidInput | UnknownJobType | InvalidParams | JobStoreError

const decodeInput = Schema.decodeUnknownEither(JobSchedule.ScheduleInput, {
  errors: "all",
  onExcessProperty: "error"
})

/** One issue per field (a value breaking two checks of one field is reported once, by the first). */
const issuesOf = (error: ParseResult.ParseError, prefix: string): Array<Issue> => {
  const seen = new Set<string>()
  return ParseResult.ArrayFormatter.formatErrorSync(error).flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== "").join(".") || "input"
    if (seen.has(path)) return []
    seen.add(path)
    return [{ path, message: issue.message }]
  })
}

/** The recurrence of a stored schedule. */
export const specOf = (row: ScheduleRow): Ticks.Spec =>
  row.cron !== null
    ? { _tag: "Cron", cron: row.cron, timeZone: row.timeZone ?? "UTC" }
    : { _tag: "Every", everyMs: row.everyMs ?? 60_000 }

const parseTemplate = (text: string): Template | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && "type" in value ? (value as Template) : undefined
  } catch {
    return undefined
  }
}

const parseJson = (text: string, fallback: unknown): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return fallback
  }
}

/** The public schedule of a stored row. */
export const toSchedule = (row: ScheduleRow): JobSchedule.Schedule => {
  const template = parseTemplate(row.template)
  const metadata = template === undefined ? {} : parseJson(template.metadata, {})
  return {
    key: row.key,
    cron: row.cron,
    timeZone: row.timeZone,
    everyMs: row.everyMs,
    missed: row.backfill === 0 ? "skip" : { backfill: row.backfill },
    job: {
      type: template?.type ?? "",
      name: template?.name ?? "",
      queue: template?.queue ?? "",
      owner: template?.owner ?? null,
      priority: template?.priority ?? 0,
      params: template === undefined ? null : parseJson(template.params, null),
      metadata: typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {},
      tags: template?.tags ?? [],
      maxAttempts: template?.maxAttempts ?? 1,
      timeoutMs: template?.timeoutMs ?? null,
      callbackUrl: template?.callbackUrl ?? null
    },
    source: row.source,
    paused: row.paused,
    nextRunAt: Job.formatTime(row.nextRunAt),
    lastRunAt: Job.formatTimeOrNull(row.lastRunAt),
    createdAt: Job.formatTime(row.createdAt),
    updatedAt: Job.formatTime(row.updatedAt)
  }
}

/** The job of one tick. */
const jobOf = (template: Template, tick: number, now: number): NewJobRow => ({
  id: uuidv7(),
  type: template.type,
  name: template.name,
  queue: template.queue,
  owner: template.owner,
  idempotencyKey: null,
  status: "QUEUED",
  terminalReason: null,
  priority: template.priority,
  params: template.params,
  metadata: template.metadata,
  tags: template.tags,
  batchId: null,
  callbackUrl: template.callbackUrl,
  attempt: 0,
  maxAttempts: template.maxAttempts,
  timeoutMs: template.timeoutMs,
  deadline: null,
  // the tick itself: a back-filled tick's job sorts before the current one's
  runAt: tick,
  createdAt: now,
  updatedAt: now,
  queuedAt: now,
  startedAt: null,
  finishedAt: null,
  progress: template.progress,
  lastError: null,
  resultId: null,
  leaseOwner: null,
  leaseExpiresAt: null,
  leaseToken: null
})

/** What the schedule operations need. */
export interface Context {
  readonly store: JobStore.Service
  readonly registry: JobType.JobRegistry.Service
  /** Tells subscribers about jobs a tick created. */
  readonly created: (jobs: ReadonlyArray<Job.Job>) => Effect.Effect<void>
}

/** The schedule operations of the engine. */
export const make = ({ created, registry, store }: Context) => {
  /** Validates an input and builds the row to store (with `nextRunAt` the first tick after now). */
  const prepare = (
    input: unknown,
    source: ScheduleRow["source"],
    now: number
  ): Either.Either<ScheduleRow, InvalidInput | UnknownJobType | InvalidParams> => {
    const decoded = decodeInput(input)
    if (Either.isLeft(decoded)) return Either.left(new InvalidInput({ issues: issuesOf(decoded.left, "") }))
    const schedule = decoded.right
    const issues: Array<Issue> = []
    if (schedule.cron === undefined && schedule.everyMs === undefined) {
      issues.push({ path: "cron", message: "give a cron expression or everyMs" })
    }
    if (schedule.cron !== undefined && schedule.everyMs !== undefined) {
      issues.push({ path: "everyMs", message: "give either a cron expression or everyMs, not both" })
    }
    if (schedule.cron !== undefined) {
      const problem = Ticks.checkCron(schedule.cron)
      if (problem !== undefined) issues.push({ path: "cron", message: problem })
    }
    if (schedule.timeZone !== undefined) {
      const problem =
        schedule.cron === undefined ? "is only for a cron expression" : Ticks.checkTimeZone(schedule.timeZone)
      if (problem !== undefined) issues.push({ path: "timeZone", message: problem })
    }
    if (issues.length > 0) return Either.left(new InvalidInput({ issues }))
    const type = registry.types.get(schedule.type)
    if (type === undefined) return Either.left(new UnknownJobType({ type: schedule.type }))
    // the params are checked and encoded now, once: every tick's job then carries exactly these
    const params = Schema.decodeUnknownEither(type.params, { errors: "all", onExcessProperty: "error" })(
      schedule.params ?? {}
    ).pipe(Either.flatMap((value) => Schema.encodeEither(type.params, { errors: "all" })(value)))
    if (Either.isLeft(params)) {
      return Either.left(new InvalidParams({ type: type.key, issues: issuesOf(params.left, "params") }))
    }
    const template: Template = {
      type: type.key,
      name: schedule.name ?? type.name,
      queue: schedule.queue ?? type.queue,
      owner: schedule.owner ?? null,
      priority: schedule.priority ?? type.priority,
      params: JSON.stringify(params.right ?? null),
      metadata: JSON.stringify(schedule.metadata ?? {}),
      tags: schedule.tags ?? [],
      maxAttempts: schedule.maxAttempts ?? type.maxAttempts,
      timeoutMs:
        schedule.timeoutMs !== undefined
          ? schedule.timeoutMs
          : type.timeout === null
            ? null
            : Duration.toMillis(type.timeout),
      callbackUrl: schedule.callbackUrl ?? null,
      progress: JSON.stringify(initialProgress(type.stages, "QUEUED"))
    }
    const spec: Ticks.Spec =
      schedule.cron !== undefined
        ? { _tag: "Cron", cron: schedule.cron, timeZone: schedule.timeZone ?? "UTC" }
        : { _tag: "Every", everyMs: schedule.everyMs! }
    const missed = schedule.missed ?? "skip"
    return Either.right({
      key: schedule.key,
      cron: spec._tag === "Cron" ? spec.cron : null,
      timeZone: spec._tag === "Cron" ? spec.timeZone : null,
      everyMs: spec._tag === "Every" ? spec.everyMs : null,
      backfill: missed === "skip" ? 0 : missed.backfill,
      template: JSON.stringify(template),
      source,
      paused: false,
      nextRunAt: Ticks.nextAfter(spec, now) ?? never,
      lastRunAt: null,
      createdAt: now,
      updatedAt: now
    })
  }

  const write = (input: unknown, source: ScheduleRow["source"], mode: "insert" | "upsert") =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const row = prepare(input, source, now)
      if (Either.isLeft(row)) return yield* row.left
      return yield* store.putSchedule({ row: row.right, mode })
    })

  /** Registers a schedule defined in code: created, or replaced keeping its planned ticks when its recurrence stays. */
  const define = (definition: JobSchedule.Definition): Effect.Effect<JobSchedule.Schedule, DefineError> =>
    Effect.map(write(JobSchedule.toInput(definition), "code", "upsert"), ({ row }) => toSchedule(row))

  /** Creates a schedule through the API; a taken key is a `ScheduleExists`. */
  const create = (input: unknown): Effect.Effect<JobSchedule.Schedule, DefineError | ScheduleExists> =>
    Effect.flatMap(write(input, "api", "insert"), ({ row, written }) =>
      written ? Effect.succeed(toSchedule(row)) : Effect.fail(new ScheduleExists({ key: row.key }))
    )

  /** Creates or replaces the schedule `key` through the API (the body's key, when given, must be the same). */
  const put = (
    key: string,
    input: unknown
  ): Effect.Effect<{ readonly schedule: JobSchedule.Schedule; readonly created: boolean }, DefineError> =>
    Effect.gen(function* () {
      const body = typeof input === "object" && input !== null && !Array.isArray(input) ? input : {}
      if ("key" in body && body.key !== key) {
        return yield* new InvalidInput({ issues: [{ path: "key", message: "must be the key of the path" }] })
      }
      const existed = Option.isSome(yield* store.getSchedule({ key }))
      const { row } = yield* write({ ...body, key }, "api", "upsert")
      return { schedule: toSchedule(row), created: !existed }
    })

  const found = (key: string, row: Option.Option<ScheduleRow>) =>
    Option.isSome(row) ? Effect.succeed(toSchedule(row.value)) : Effect.fail(new ScheduleNotFound({ key }))

  const get = (key: string): Effect.Effect<JobSchedule.Schedule, ScheduleNotFound | JobStoreError> =>
    Effect.flatMap(store.getSchedule({ key }), (row) => found(key, row))

  const list = (): Effect.Effect<ReadonlyArray<JobSchedule.Schedule>, JobStoreError> =>
    Effect.map(store.listSchedules({}), (rows) => rows.map(toSchedule))

  /** Deletes a schedule; the jobs it created stay. */
  const remove = (key: string): Effect.Effect<void, ScheduleNotFound | JobStoreError> =>
    Effect.flatMap(store.deleteSchedule({ key }), (deleted) =>
      deleted ? Effect.void : Effect.fail(new ScheduleNotFound({ key }))
    )

  const setPaused = (key: string, paused: boolean) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const row = yield* store.getSchedule({ key })
      if (Option.isNone(row)) return yield* new ScheduleNotFound({ key })
      // resumed: the ticks of the pause are not run, the next one is the first after now
      const nextRunAt = paused ? row.value.nextRunAt : (Ticks.nextAfter(specOf(row.value), now) ?? never)
      return yield* found(key, yield* store.setSchedulePaused({ key, paused, nextRunAt, now }))
    })

  /** Stops a schedule firing until it is resumed. */
  const pause = (key: string) => setPaused(key, true)
  /** Lets a paused schedule fire again, from its first tick after now. */
  const resume = (key: string) => setPaused(key, false)

  const fireDue = (options?: { readonly limit?: number }) => fireDueIn(store, created, options)

  return { define, create, put, get, list, remove, pause, resume, fireDue }
}

/** Fires one due schedule: the jobs it created (none when another process fired it first). */
const fire = (
  store: JobStore.Service,
  row: ScheduleRow,
  now: number
): Effect.Effect<ReadonlyArray<Job.Job>, JobStoreError> =>
  Effect.gen(function* () {
    const template = parseTemplate(row.template)
    const due = Ticks.due(specOf(row), row.nextRunAt, now, row.backfill)
    if (template === undefined) yield* Effect.logError(`jobloom: schedule ${row.key} has a corrupt job template`)
    const jobs = template === undefined ? [] : due.ticks.map((tick) => ({ tick, job: jobOf(template, tick, now) }))
    const fired = yield* store.fireSchedule({
      key: row.key,
      expectedNextRunAt: row.nextRunAt,
      nextRunAt: due.next ?? never,
      lastRunAt: due.ticks.length > 0 ? due.ticks[due.ticks.length - 1] : row.lastRunAt,
      jobs,
      now
    })
    return Option.isSome(fired) ? fired.value.map(toJob) : []
  })

/**
 * One pass of the ticker: fires the ticks of up to `limit` due schedules, earliest first, and returns the jobs they
 * created. A schedule that fails is logged and left for the next pass; the others still fire.
 */
export const fireDueIn = (
  store: JobStore.Service,
  created: (jobs: ReadonlyArray<Job.Job>) => Effect.Effect<void>,
  options?: { readonly limit?: number }
): Effect.Effect<ReadonlyArray<Job.Job>, JobStoreError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const due = yield* store.dueSchedules({ now, limit: options?.limit ?? 100 })
    const jobs: Array<Job.Job> = []
    for (const row of due) {
      const fired = yield* fire(store, row, now).pipe(
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning(`jobloom: schedule ${row.key} could not fire`, error), [])
        )
      )
      jobs.push(...fired)
    }
    if (jobs.length > 0) yield* created(jobs)
    return jobs
  })
