/**
 * The schedules service: define, list, pause and resume recurring jobs (see `JobSchedule`), and fire their due ticks.
 * `layer({ schedules })` registers the host's code-defined schedules when it is built; the ticker (`tick`, run by
 * maintenance) fires due ticks, and the store makes sure that each tick creates exactly one job across processes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { Job } from "./Job.js"
import type { InvalidInput, InvalidParams, ScheduleExists, ScheduleNotFound, UnknownJobType } from "./JobError.js"
import type { Definition, Schedule as JobScheduleView } from "./JobSchedule.js"
import { JobStore, type JobStoreError } from "./JobStore.js"
import { JobRegistry } from "./JobType.js"
import { JobEvents } from "./internal/jobEvents.js"
import * as internal from "./internal/schedules.js"

/** Errors of defining a schedule: a bad field (named by the path), an unknown type, invalid params. */
export type DefineError = InvalidInput | UnknownJobType | InvalidParams | JobStoreError

/** The schedules service Tag. */
export class JobSchedules extends Context.Tag("@jobloom/core/JobSchedules")<JobSchedules, JobSchedules.Service>() {}

/** The types of the `JobSchedules` service. */
export declare namespace JobSchedules {
  /** The schedules service. */
  export interface Service {
    /** Registers a schedule defined in code (created, or replaced keeping its planned ticks if its recurrence stays). */
    readonly define: (definition: Definition) => Effect.Effect<JobScheduleView, DefineError>
    /** Creates a schedule from an API body (`JobSchedule.ScheduleInput`); a taken key is a `ScheduleExists`. */
    readonly create: (input: unknown) => Effect.Effect<JobScheduleView, DefineError | ScheduleExists>
    /** Creates or replaces the schedule `key` from an API body. */
    readonly put: (
      key: string,
      input: unknown
    ) => Effect.Effect<{ readonly schedule: JobScheduleView; readonly created: boolean }, DefineError>
    readonly get: (key: string) => Effect.Effect<JobScheduleView, ScheduleNotFound | JobStoreError>
    /** Every schedule, by key. */
    readonly list: () => Effect.Effect<ReadonlyArray<JobScheduleView>, JobStoreError>
    /** Deletes a schedule; the jobs it created stay (with their `scheduleKey`). */
    readonly delete: (key: string) => Effect.Effect<void, ScheduleNotFound | JobStoreError>
    /** Stops a schedule firing until it is resumed. */
    readonly pause: (key: string) => Effect.Effect<JobScheduleView, ScheduleNotFound | JobStoreError>
    /** Lets a paused schedule fire again, from its first tick after now (the ticks of the pause are not run). */
    readonly resume: (key: string) => Effect.Effect<JobScheduleView, ScheduleNotFound | JobStoreError>
    /** One pass of the ticker: fires the due ticks of up to `limit` schedules (default 100); returns the new jobs. */
    readonly tick: (options?: { readonly limit?: number }) => Effect.Effect<ReadonlyArray<Job>, JobStoreError>
  }
}

/** Options of {@link layer}. */
export interface LayerOptions {
  /** Schedules defined in code, registered when the layer is built (an invalid one fails the layer). */
  readonly schedules?: ReadonlyArray<Definition>
}

/** Tells the engine's subscribers about the jobs a tick created. */
const publishCreated = (events: JobEvents.Service) => (created: ReadonlyArray<Job>) =>
  events.publishAll(created.map((job) => ({ _tag: "created" as const, jobId: job.id, job })))

/** Builds the service over the store and registry in context (events go to the engine's bus). */
export const make: Effect.Effect<JobSchedules.Service, never, JobStore | JobRegistry> = Effect.gen(function* () {
  const store = yield* JobStore
  const registry = yield* JobRegistry
  const events = yield* JobEvents
  const ops = internal.make({ store, registry, created: publishCreated(events) })
  return {
    define: ops.define,
    create: ops.create,
    put: ops.put,
    get: ops.get,
    list: ops.list,
    delete: ops.remove,
    pause: ops.pause,
    resume: ops.resume,
    tick: ops.fireDue
  }
})

/** The service, with the host's code-defined `schedules` registered. */
export const layer = (options?: LayerOptions): Layer.Layer<JobSchedules, DefineError, JobStore | JobRegistry> =>
  Layer.effect(
    JobSchedules,
    Effect.tap(make, (schedules) =>
      Effect.forEach(options?.schedules ?? [], (definition) => schedules.define(definition), { discard: true })
    )
  )

/**
 * The ticker: fires due ticks now and then every `interval` (default 1 s), forever; a failed pass is logged and the
 * next one tries again. It needs only the store (each schedule's job is resolved when it is defined), so maintenance
 * runs it in any process.
 */
export const ticker = (options?: {
  readonly interval?: Duration.DurationInput
}): Effect.Effect<never, never, JobStore> =>
  Effect.flatMap(Effect.all([JobStore, JobEvents]), ([store, events]) =>
    internal.fireDueIn(store, publishCreated(events)).pipe(
      Effect.catchAll((error) => Effect.logWarning("jobloom: the schedule ticker failed", error)),
      Effect.repeat(Schedule.spaced(Duration.decode(options?.interval ?? Duration.seconds(1)))),
      Effect.zipRight(Effect.never)
    )
  )
