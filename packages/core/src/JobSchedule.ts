/**
 * Recurring jobs: a schedule creates one job per tick of a cron expression (five or six fields, in a time zone) or of
 * a fixed interval. A schedule is plain data (`JobSchedule.make`), registered with the engine in code
 * (`JobSchedules.layer({ schedules })`) or created through the API; the ticker in maintenance fires due ticks, and
 * the store makes sure that each tick creates exactly one job across every process.
 *
 * Named `JobSchedule` so that it never shadows Effect's `Schedule` (retry and repeat policies) in a host's imports.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { Timestamp } from "./Job.js"
import type { Any } from "./JobType.js"

/** What happens to ticks that fell due while nothing ran: `skip` runs only the latest; `backfill` runs up to n more. */
export const Missed = Schema.Union(
  Schema.Literal("skip"),
  Schema.Struct({ backfill: Schema.Int.pipe(Schema.between(0, 1000)) })
).annotations({ identifier: "ScheduleMissed" })
/** What happens to missed ticks. */
export type Missed = typeof Missed.Type

const Key = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(200),
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, {
    message: () => "must be letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
  })
)

const NonEmpty = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

/**
 * A schedule as the API takes it: the recurrence (`cron` with an optional `timeZone`, default UTC, or `everyMs`),
 * `missed`, and the job each tick creates (`type` and the fields of a created job; each overrides the type's default).
 */
export const ScheduleInput = Schema.Struct({
  key: Key,
  cron: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  timeZone: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  everyMs: Schema.optional(Schema.Int.pipe(Schema.between(1000, 366 * 24 * 3600 * 1000))),
  missed: Schema.optional(Missed),
  type: NonEmpty,
  params: Schema.optional(Schema.Unknown),
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  queue: Schema.optional(NonEmpty),
  owner: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200)))),
  priority: Schema.optional(Schema.Int.pipe(Schema.between(-1_000_000, 1_000_000))),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  tags: Schema.optional(Schema.Array(NonEmpty).pipe(Schema.maxItems(100))),
  timeoutMs: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  maxAttempts: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  callbackUrl: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.pattern(/^https?:\/\/\S+$/))))
}).annotations({ identifier: "ScheduleInput" })
/** A schedule as the API takes it. */
export type ScheduleInput = typeof ScheduleInput.Type

/** A schedule as the engine returns it. */
export const Schedule = Schema.Struct({
  key: Schema.String,
  cron: Schema.NullOr(Schema.String),
  timeZone: Schema.NullOr(Schema.String),
  everyMs: Schema.NullOr(Schema.Int),
  missed: Missed,
  /** The job each tick creates, every default resolved. */
  job: Schema.Struct({
    type: Schema.String,
    name: Schema.String,
    queue: Schema.String,
    owner: Schema.NullOr(Schema.String),
    priority: Schema.Int,
    params: Schema.Unknown,
    metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    tags: Schema.Array(Schema.String),
    maxAttempts: Schema.Int,
    timeoutMs: Schema.NullOr(Schema.Int),
    callbackUrl: Schema.NullOr(Schema.String)
  }),
  source: Schema.Literal("code", "api"),
  paused: Schema.Boolean,
  nextRunAt: Timestamp.annotations({ description: "The next tick; a paused schedule's is computed again on resume" }),
  lastRunAt: Schema.NullOr(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotations({ identifier: "Schedule" })
/** A schedule as the engine returns it. */
export type Schedule = typeof Schedule.Type

/** A schedule defined in code: as {@link ScheduleInput}, with `every` as any Duration and `type` as a key or a type. */
export interface Definition extends Omit<ScheduleInput, "everyMs" | "type"> {
  readonly type: string | Any
  readonly every?: Duration.DurationInput
}

/**
 * Defines a schedule in code: a `cron` expression (five fields, or six with seconds first; read in `timeZone`,
 * default UTC, DST as cron users expect) or an `every` interval, the job type and the fields of its jobs.
 */
export const make = (definition: Definition): Definition => definition

/** The API input of a definition: the type's key, and `every` as milliseconds. */
export const toInput = (definition: Definition): ScheduleInput => {
  const { every, type, ...rest } = definition
  return {
    ...rest,
    type: typeof type === "string" ? type : type.key,
    ...(every === undefined ? {} : { everyMs: Duration.toMillis(Duration.decode(every)) })
  }
}
