/**
 * Maintenance a worker runs unless told not to: the rescuer (expired leases back to QUEUED, or FAILED/stalled) at
 * start and every 5 s, and the expirer (deadlines → TIMED_OUT/expired) every second. Both are store writes that any
 * number of workers may run at once: each is a guarded write, so two rescuers never double a change.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { TerminalReason } from "../Job.js"
import * as Option from "effect/Option"
import type { JobStore, JobStoreError, StatusChange } from "../JobStore.js"
import type { Jobs } from "../Jobs.js"
import { closeProgressText } from "./stages.js"

/** Options of the maintenance loops. */
export interface MaintenanceOptions {
  readonly rescueInterval: Duration.Duration
  readonly expireInterval: Duration.Duration
  /** Called after changes that made jobs terminal (to wake callback delivery). */
  readonly onTerminal: Effect.Effect<void>
}

const rescueReason = (change: StatusChange): TerminalReason | null =>
  change.status === "FAILED" ? "stalled" : change.status === "CANCELLED" ? "user" : null

const publishChanges = (
  jobs: Jobs,
  changes: ReadonlyArray<StatusChange>,
  reasonOf: (change: StatusChange) => TerminalReason | null
) =>
  Effect.forEach(
    changes,
    (change) =>
      jobs.publish({ _tag: "status", jobId: change.id, status: change.status, terminalReason: reasonOf(change) }),
    { discard: true }
  )

const hasTerminal = (changes: ReadonlyArray<StatusChange>) => changes.some((c) => c.status !== "QUEUED")

/**
 * Closes the open stages of jobs the store just made terminal (DESIGN §4.4): the store wrote the status without
 * reading the progress, so core rewrites it, guarded by that status (a retry meanwhile wins).
 */
const closeStagesOf = (store: JobStore, changes: ReadonlyArray<StatusChange>): Effect.Effect<void, JobStoreError> =>
  Effect.forEach(
    changes.filter((c) => c.status !== "QUEUED"),
    (change) =>
      Effect.gen(function* () {
        const row = yield* store.get({ id: change.id })
        if (Option.isNone(row) || row.value.status !== change.status) return
        const progress = closeProgressText(row.value.progress, change.status)
        if (progress === null) return
        const now = yield* Clock.currentTimeMillis
        yield* store.update({ id: change.id, from: [change.status], patch: { progress }, now })
      }),
    { discard: true }
  )

/** One pass of the rescuer; store failures are logged, never raised. */
export const rescue = (store: JobStore, jobs: Jobs, onTerminal: Effect.Effect<void>): Effect.Effect<void> =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => store.rescue({ now })),
    Effect.tap((changes) => closeStagesOf(store, changes)),
    Effect.tap((changes) => publishChanges(jobs, changes, rescueReason)),
    Effect.tap((changes) => (hasTerminal(changes) ? onTerminal : Effect.void)),
    Effect.catchAll((error) => Effect.logWarning("jobloom: rescue failed", error)),
    Effect.asVoid
  )

/** One pass of the expirer; store failures are logged, never raised. */
export const expire = (store: JobStore, jobs: Jobs, onTerminal: Effect.Effect<void>): Effect.Effect<void> =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => store.expire({ now })),
    Effect.tap((changes) => closeStagesOf(store, changes)),
    Effect.tap((changes) => publishChanges(jobs, changes, () => "expired")),
    Effect.tap((changes) => (changes.length > 0 ? onTerminal : Effect.void)),
    Effect.catchAll((error) => Effect.logWarning("jobloom: expire failed", error)),
    Effect.asVoid
  )

const every = (interval: Duration.Duration, pass: Effect.Effect<void>): Effect.Effect<never> =>
  Effect.forever(Effect.zipRight(Effect.sleep(interval), pass))

/** The maintenance loops, forever (fork them). The first rescue is the caller's, before the worker claims. */
export const loops = (store: JobStore, jobs: Jobs, options: MaintenanceOptions): Effect.Effect<never> =>
  Effect.all(
    [
      every(options.rescueInterval, rescue(store, jobs, options.onTerminal)),
      every(options.expireInterval, expire(store, jobs, options.onTerminal))
    ],
    { concurrency: "unbounded", discard: true }
  ).pipe(Effect.zipRight(Effect.never))

/** Default intervals (DESIGN §4.4: rescue at least every 5 s, deadlines within a second). */
export const defaults = {
  rescueInterval: Duration.seconds(5),
  expireInterval: Duration.seconds(1)
} as const
