/**
 * Maintenance: the rescuer (expired leases back to QUEUED, or FAILED/stalled) at start and every 5 s, the expirer
 * (deadlines → TIMED_OUT/expired) every second, and callback delivery. It needs only the store and the event bus, so
 * a host may run it with or without a worker (`Maintenance.layer`); a worker runs it too unless told not to. Every
 * pass is a guarded store write that any number of processes may run at once: two rescuers never double a change.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { LogLevel, TerminalReason } from "../Job.js"
import { formatTime } from "../Job.js"
import { JobStore, type JobStoreError, type StatusChange } from "../JobStore.js"
import type { MaintenanceOptions } from "../Maintenance.js"
import * as JobRetention from "../JobRetention.js"
import type { RetentionOptions } from "../JobRetention.js"
import * as JobSchedules from "../JobSchedules.js"
import * as Callbacks from "./callbacks.js"
import { JobEvents } from "./jobEvents.js"
import { closeProgressText } from "./stages.js"

/** Resolved options of maintenance. */
export interface Options {
  readonly rescueInterval: Duration.Duration
  readonly expireInterval: Duration.Duration
  readonly callbacks: Omit<Callbacks.CallbackOptions, "log">
  readonly scheduleInterval: Duration.Duration
  readonly retention: RetentionOptions | null
}

/** Default intervals (DESIGN §4.4: rescue at least every 5 s, deadlines within a second). */
export const defaults = {
  rescueInterval: Duration.seconds(5),
  expireInterval: Duration.seconds(1),
  scheduleInterval: Duration.seconds(1)
} as const

/** Resolves the options, defaults applied. */
export const resolve = (options: MaintenanceOptions): Options => {
  const callbacks = options.callbacks ?? {}
  const expireInterval = Duration.decode(options.expireInterval ?? defaults.expireInterval)
  return {
    rescueInterval: Duration.decode(options.rescueInterval ?? defaults.rescueInterval),
    expireInterval,
    scheduleInterval: Duration.decode(options.scheduleInterval ?? defaults.scheduleInterval),
    retention: options.retention ?? null,
    callbacks: {
      secret: callbacks.secret,
      maxAttempts: callbacks.maxAttempts ?? 10,
      timeout: Duration.decode(callbacks.timeout ?? Duration.seconds(10)),
      retryDelay: Duration.decode(callbacks.retryDelay ?? Duration.seconds(1)),
      pollInterval: expireInterval,
      batchSize: 20,
      policy: { allowPrivateNetworks: callbacks.allowPrivateNetworks === true, allow: callbacks.allow }
    }
  }
}

const rescueReason = (change: StatusChange): TerminalReason | null =>
  change.status === "FAILED" ? "stalled" : change.status === "CANCELLED" ? "user" : null

const publishChanges = (
  events: JobEvents.Service,
  changes: ReadonlyArray<StatusChange>,
  reasonOf: (change: StatusChange) => TerminalReason | null
) =>
  changes.length === 0 || !events.listening()
    ? Effect.void
    : events.publishAll(
        changes.map((change) => ({
          _tag: "status" as const,
          jobId: change.id,
          status: change.status,
          terminalReason: reasonOf(change)
        }))
      )

const hasTerminal = (changes: ReadonlyArray<StatusChange>) => changes.some((c) => c.status !== "QUEUED")

/**
 * Closes the open stages of jobs the store just made terminal (DESIGN §4.4): the store wrote the status without
 * reading the progress, so core rewrites it, guarded by that status (a retry meanwhile wins).
 */
const closeStagesOf = (
  store: JobStore.Service,
  changes: ReadonlyArray<StatusChange>
): Effect.Effect<void, JobStoreError> =>
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
export const rescue = (store: JobStore.Service, events: JobEvents.Service, onTerminal: Effect.Effect<void>) =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => store.rescue({ now })),
    Effect.tap((changes) => closeStagesOf(store, changes)),
    Effect.tap((changes) => publishChanges(events, changes, rescueReason)),
    Effect.tap((changes) => (hasTerminal(changes) ? onTerminal : Effect.void)),
    Effect.catchAll((error) => Effect.logWarning("jobloom: rescue failed", error)),
    Effect.asVoid
  )

/** One pass of the expirer; store failures are logged, never raised. */
export const expire = (store: JobStore.Service, events: JobEvents.Service, onTerminal: Effect.Effect<void>) =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => store.expire({ now })),
    Effect.tap((changes) => closeStagesOf(store, changes)),
    Effect.tap((changes) => publishChanges(events, changes, () => "expired")),
    Effect.tap((changes) => (changes.length > 0 ? onTerminal : Effect.void)),
    Effect.catchAll((error) => Effect.logWarning("jobloom: expire failed", error)),
    Effect.asVoid
  )

const every = (interval: Duration.Duration, pass: Effect.Effect<void>): Effect.Effect<never> =>
  Effect.forever(Effect.zipRight(Effect.sleep(interval), pass))

/** How maintenance is hooked to a worker that runs it, or on its own when none is given. */
export interface Hooks {
  /** Woken when a job with a callback became terminal (by a settle or by maintenance itself). */
  readonly callbackWake: Queue.Queue<void>
  /** Writes a line to a job's log (a worker buffers it with its own lines). */
  readonly log: (jobId: string, at: number, level: LogLevel, message: string) => Effect.Effect<void>
}

/** Hooks of maintenance that runs on its own: its own wake-up, and log lines written at once. */
const ownHooks = (store: JobStore.Service, events: JobEvents.Service, logCap: number): Effect.Effect<Hooks> =>
  Effect.map(Queue.dropping<void>(1), (callbackWake) => ({
    callbackWake,
    log: (jobId, at, level, message) =>
      store.appendLogs({ entries: [{ jobId, at, level, message }], cap: logCap }).pipe(
        Effect.zipRight(events.publish({ _tag: "log", jobId, at: formatTime(at), level, message })),
        Effect.catchAll((error) => Effect.logWarning("jobloom: could not write a callback log line", error))
      )
  }))

/**
 * Starts maintenance in the current scope: one rescue now (before a worker claims, so its jobs come back first), then
 * the rescue, expire and callback loops as fibers of the scope.
 */
export const start = (
  options: Options,
  hooks?: Hooks,
  logCap = 10_000
): Effect.Effect<void, never, Scope.Scope | JobStore> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const events = yield* JobEvents
    const { callbackWake, log } = hooks ?? (yield* ownHooks(store, events, logCap))
    const onTerminal = Effect.asVoid(Queue.offer(callbackWake, undefined))
    yield* rescue(store, events, onTerminal)
    yield* Effect.forkScoped(every(options.rescueInterval, rescue(store, events, onTerminal)))
    yield* Effect.forkScoped(every(options.expireInterval, expire(store, events, onTerminal)))
    yield* Effect.forkScoped(Callbacks.loop(store, callbackWake, { ...options.callbacks, log }))
    // schedules live in the store: any process running maintenance fires them, each tick once across all of them
    yield* Effect.forkScoped(JobSchedules.ticker({ interval: options.scheduleInterval }))
    if (options.retention !== null) {
      yield* Effect.forkScoped(
        JobRetention.pruner(options.retention).pipe(
          Effect.catchAll((error) => Effect.logError("jobloom: the pruner's options are invalid", error))
        )
      )
    }
  })
