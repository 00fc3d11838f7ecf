/**
 * Retention: the pruner deletes terminal jobs older than a configured age per status (with their logs, items,
 * results and pending callbacks), in bounded batches so that it never holds a long lock, publishes a `deleted` event
 * for each, and reports what it deleted. Off unless the host configures it (the quickstart does); maintenance runs it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { JobStatus } from "./Job.js"
import { InvalidInput } from "./JobError.js"
import { JobStore, type JobStoreError, type PruneBound } from "./JobStore.js"
import * as JobTracing from "./JobTracing.js"
import { JobEvents } from "./internal/jobEvents.js"

/** The statuses the pruner may delete. */
export type TerminalStatus = "SUCCEEDED" | "FAILED" | "CANCELLED" | "TIMED_OUT"

const terminal: ReadonlyArray<TerminalStatus> = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]

/** How the pruner works. */
export interface RetentionOptions {
  /**
   * How long after `finishedAt` a terminal job is deleted: one age for every terminal status, or an age per status
   * (a status left out is kept forever), e.g. `{ SUCCEEDED: "1 day", FAILED: "30 days" }`.
   */
  readonly olderThan: Duration.DurationInput | Partial<Record<TerminalStatus, Duration.DurationInput>>
  /** Jobs deleted per transaction. Default 500. */
  readonly batchSize?: number
  /** How often the pruner runs in maintenance. Default 1 minute. */
  readonly interval?: Duration.DurationInput
}

/** What one pass of the pruner deleted. */
export interface PruneReport {
  readonly deleted: number
  readonly byStatus: Readonly<Partial<Record<TerminalStatus, number>>>
  /** Transactions it took (each deletes at most `batchSize` jobs). */
  readonly batches: number
}

const isAgeRecord = (
  value: RetentionOptions["olderThan"]
): value is Partial<Record<TerminalStatus, Duration.DurationInput>> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !Duration.isDuration(value)

/** The age of each pruned status in milliseconds, or an `InvalidInput` naming the bad option. */
export const agesOf = (
  options: RetentionOptions
): Effect.Effect<ReadonlyArray<readonly [TerminalStatus, number]>, InvalidInput> =>
  Effect.suspend(() => {
    const given = isAgeRecord(options.olderThan)
      ? Object.entries(options.olderThan).map(([status, age]) => [status, age, `olderThan.${status}`] as const)
      : terminal.map((status) => [status, options.olderThan, "olderThan"] as const)
    const ages: Array<readonly [TerminalStatus, number]> = []
    for (const [status, age, path] of given) {
      if (!terminal.includes(status as TerminalStatus)) {
        return Effect.fail(new InvalidInput({ issues: [{ path, message: "is not a terminal status" }] }))
      }
      const millis = Duration.decodeUnknown(age).pipe((decoded) =>
        decoded._tag === "Some" ? Duration.toMillis(decoded.value) : Number.NaN
      )
      if (!(millis >= 0) || !Number.isFinite(millis)) {
        return Effect.fail(new InvalidInput({ issues: [{ path, message: "must be a finite duration" }] }))
      }
      ages.push([status as TerminalStatus, millis])
    }
    const batchSize = options.batchSize ?? 500
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      return Effect.fail(
        new InvalidInput({ issues: [{ path: "batchSize", message: "must be an integer from 1 to 10000" }] })
      )
    }
    return Effect.succeed(ages)
  })

/**
 * One pass of the pruner: deletes, batch after batch, every terminal job older than its status's age, publishing a
 * `deleted` event for each. Other work gets the store between batches.
 */
export const prune = (options: RetentionOptions): Effect.Effect<PruneReport, InvalidInput | JobStoreError, JobStore> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const events = yield* JobEvents
    const ages = yield* agesOf(options)
    const limit = options.batchSize ?? 500
    const now = yield* Clock.currentTimeMillis
    const bounds: ReadonlyArray<PruneBound> = ages.map(([status, age]): PruneBound => ({
      status: status as JobStatus,
      before: now - age
    }))
    const byStatus: Partial<Record<TerminalStatus, number>> = {}
    let deleted = 0
    let batches = 0
    if (bounds.length === 0) return { deleted, byStatus, batches }
    for (;;) {
      const batch = yield* store.prune({ bounds, limit })
      batches++
      deleted += batch.length
      for (const change of batch) {
        const status = change.status as TerminalStatus
        byStatus[status] = (byStatus[status] ?? 0) + 1
        yield* events.publish({ _tag: "deleted", jobId: change.id })
      }
      if (batch.length < limit) return { deleted, byStatus, batches }
      // the store's lock was released with the batch: let claims and settles in before the next one
      yield* Effect.yieldNow()
    }
  })

/**
 * The pruner loop maintenance forks: a pass now and then every `interval` (default 1 minute); a pass that deleted
 * anything is logged with its report, a failed one is logged and the next tries again. Invalid options fail at once.
 */
export const pruner = (options: RetentionOptions): Effect.Effect<never, InvalidInput, JobStore> =>
  Effect.zipRight(
    agesOf(options),
    prune(options).pipe(
      // a span per pass, counting the jobs it deleted
      (self) =>
        JobTracing.traced(self, JobTracing.spanNames.maintenance("prune"), {
          annotate: (report) => ({
            [JobTracing.attributes.count]: report.deleted,
            "jobloom.prune.batches": report.batches
          })
        }),
      Effect.tap((report) =>
        report.deleted > 0 ? Effect.logInfo(`jobloom: pruned ${report.deleted} jobs`, report.byStatus) : Effect.void
      ),
      Effect.catchAll((error) => Effect.logWarning("jobloom: the pruner failed", error)),
      Effect.repeat(Schedule.spaced(Duration.decode(options.interval ?? Duration.minutes(1)))),
      Effect.zipRight(Effect.never)
    )
  )
