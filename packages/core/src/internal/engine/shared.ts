/**
 * The engine's shared parts: the services it reads, how it publishes and logs actions, reads a row, and writes a
 * guarded transition. Every other engine module is made from one `Shared`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Job from "../../Job.js"
import { InvalidTransition, type Issue, JobNotFound } from "../../JobError.js"
import * as JobMetrics from "../../JobMetrics.js"
import * as JobState from "../../JobState.js"
import { type JobPatch, type JobRow, JobStore, JobStoreError } from "../../JobStore.js"
import * as JobType from "../../JobType.js"
import * as EngineItems from "../engineItems.js"
import { JobEvents } from "../jobEvents.js"
import * as TextSafety from "../textSafety.js"
import { issuesOf, join, toJson } from "./query.js"
import { toJob } from "../jobRow.js"

/** Options of the engine. */
export interface Options {
  /** Job types this process knows (definitions; handlers come from `JobType.toLayer`). */
  readonly types?: ReadonlyArray<JobType.Any>
  /** Log lines kept per job when the engine writes one. Default 10 000. */
  readonly logCap?: number
  /** Where an idempotency key is unique (see `Jobs.LayerOptions`). */
  readonly idempotencyKeys?: "owner" | "global"
}

/** How often an action re-reads and decides again when the job's status changed under it. */
export const raceRetries = 5

/** What the engine's modules share. */
export type Shared = Effect.Effect.Success<ReturnType<typeof make>>

/** The shared parts, read from the engine's services. */
export const make = (options: Options) =>
  Effect.gen(function* () {
    // the store errors the engine meets are counted (`jobloom_store_errors_total`)
    const store = JobMetrics.countStoreErrors(yield* JobStore)
    const registry = yield* JobType.JobRegistry
    const bus = yield* JobEvents
    const logCap = options.logCap ?? 10_000
    const publish = bus.publish

    const publishStatus = (row: JobRow): Effect.Effect<void> =>
      publish({ _tag: "status", jobId: row.id, status: row.status, terminalReason: row.terminalReason })

    /** A line in the job's log for a user action; the action already happened, so a failed write only warns. */
    const logAction = (jobId: string, message: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* store.appendLogs({ entries: [{ jobId, at: now, level: "info", message }], cap: logCap })
        yield* publish({ _tag: "log", jobId, at: Job.formatTime(now), level: "info", message })
      }).pipe(Effect.catchAll((error) => Effect.logWarning("jobloom: could not write an action log line", error)))

    /** Validates params with the type's Schema and returns the encoded form as JSON text (defaults materialized). */
    const encodeParams = (
      type: JobType.Any,
      params: unknown,
      prefix: string
    ): Either.Either<string, ReadonlyArray<Issue>> => {
      const path = join(prefix, "params")
      // a field the type does not declare is an error, unless its Schema says otherwise (a record, or its own
      // `parseOptions` annotation): the published JSON Schema says `additionalProperties: false`
      const depth = TextSafety.inspect(params, path)
      if (depth !== undefined) return Either.left([depth])
      const decoded = Schema.decodeUnknownEither(type.params, { errors: "all", onExcessProperty: "error" })(params)
      if (Either.isLeft(decoded)) return Either.left(issuesOf(decoded.left, path))
      const encoded = Schema.encodeEither(type.params, { errors: "all" })(decoded.right)
      if (Either.isLeft(encoded)) return Either.left(issuesOf(encoded.left, path))
      const text = toJson(encoded.right)
      return text === undefined ? Either.left([{ path, message: "must be JSON" }]) : Either.right(text)
    }

    const getRow = (id: string): Effect.Effect<JobRow, JobNotFound | JobStoreError> =>
      // no job has an id no store can hold: not found, on every store alike
      TextSafety.isUnsafeText(id) || id.length > 1000
        ? Effect.fail(new JobNotFound({ jobId: id }))
        : Effect.flatMap(store.get({ id }), (row) =>
            Option.isSome(row) ? Effect.succeed(row.value) : Effect.fail(new JobNotFound({ jobId: id }))
          )
    const itemOps = EngineItems.make(store, getRow)

    const conflict = (id: string, action: string) =>
      new JobStoreError({
        reason: "Conflict",
        message: `job ${id} kept changing status while trying to ${action} it`
      })

    /**
     * Reads the job, asks the state machine, and writes `patch` guarded on the status it read. When the guard fails
     * (a worker or another request changed the job meanwhile), it reads and decides again.
     */
    const transition = <E = never>(
      id: string,
      action: JobState.Action,
      patchOf: (row: JobRow, now: number) => Effect.Effect<JobPatch, E> | JobPatch,
      message?: (row: JobRow) => string
    ): Effect.Effect<Job.Job, E | JobNotFound | InvalidTransition | JobStoreError> =>
      Effect.gen(function* () {
        for (let round = 0; round < raceRetries; round++) {
          const row = yield* getRow(id)
          const to = JobState.next(row.status, action)
          if (to === undefined) return yield* new InvalidTransition({ jobId: id, from: row.status, action })
          const now = yield* Clock.currentTimeMillis
          const made = patchOf(row, now)
          const patch = Effect.isEffect(made) ? yield* made : made
          const updated = yield* store.update({
            id,
            from: [row.status],
            patch: to === row.status ? patch : { ...patch, status: to },
            now
          })
          if (Option.isNone(updated)) continue
          if (updated.value.status !== row.status) {
            // a user's action that ends a job (a cancel of a queued one) counts as finished, as a settle does
            JobMetrics.recordFinished(updated.value.type, updated.value.queue, updated.value.status)
            yield* publishStatus(updated.value)
          }
          if (message !== undefined) yield* logAction(id, message(updated.value))
          return toJob(updated.value)
        }
        return yield* conflict(id, action)
      })
    return {
      options,
      store,
      registry,
      bus,
      logCap,
      publish,
      publishStatus,
      logAction,
      encodeParams,
      getRow,
      itemOps,
      conflict,
      transition
    }
  })
