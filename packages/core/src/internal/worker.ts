/**
 * The worker's engine room. One claim loop fills free slots in batches; each claimed job runs in its own fiber,
 * whose end is observed (not awaited) and decided at once; a settler writes every finished attempt in batches, with
 * the pending log lines in the same write; a flusher writes coalesced progress and the log lines of running jobs in
 * batches; a heartbeat renews leases; a signal reader wakes the claim loop and reacts to cancels. Nothing here sleeps
 * on a hot path: every wait is on a queue, a latch or a timer that the work itself arms.
 *
 * The per-job path is kept off the Effect runtime wherever it can be: a job's fiber runs only its handler (and a
 * timer when the job has a timeout or deadline), params are decoded synchronously when the Schema allows, the
 * decision and the attempt's log lines are plain values, and events are built only when someone listens.
 */
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { uuidv7 } from "uuidv7"
import { formatTime, type LogLevel, type TerminalReason } from "../Job.js"
import { JobStore, type JobRow, type NewLog, type Settlement, type StatusChange } from "../JobStore.js"
import { JobRegistry, type Any as AnyJobType, type Handler, type JobContext } from "../JobType.js"
import { Jobs, type JobEvent } from "../Jobs.js"
import type { WorkerOptions } from "../Worker.js"
import * as Callbacks from "./callbacks.js"
import { AttemptProgress, type ContextHost, makeJobContext } from "./context.js"
import { eventHubOf } from "./engine.js"
import * as ItemsFlusher from "./itemsFlusher.js"
import * as Maintenance from "./maintenance.js"
import {
  decide,
  HandlerFailed,
  Unrunnable,
  type AttemptError,
  type Decision,
  type StopReason
} from "./workerOutcome.js"

/** What a running worker exposes (to tests and hosts). */
export interface WorkerHandle {
  /** This worker's lease owner id. */
  readonly workerId: string
  /** Handlers executing now. */
  readonly running: Effect.Effect<number>
  /** Ids this worker holds: claimed and not yet settled. */
  readonly held: Effect.Effect<ReadonlyArray<string>>
  /** Resolves when the worker holds no job (every claimed job settled or given up). */
  readonly awaitIdle: Effect.Effect<void>
  /** Wakes the claim loop now (as a store signal would). */
  readonly poll: Effect.Effect<void>
  /** Writes pending progress and log lines now. */
  readonly flush: Effect.Effect<void>
}

interface Config {
  readonly workerId: string
  readonly concurrency: number
  readonly queues: ReadonlyArray<string>
  /** The types this worker has handlers for: the only ones it claims. */
  readonly types: ReadonlyArray<string>
  readonly queueLimits: Readonly<Record<string, number>>
  readonly typeLimits: Readonly<Record<string, number>>
  readonly leaseMs: number
  readonly heartbeat: Duration.Duration
  readonly poll: Duration.Duration
  readonly cancelPoll: Duration.Duration
  readonly flush: Duration.Duration
  readonly grace: Duration.Duration
  readonly abandonAfter: Duration.Duration
  readonly logCap: number
  readonly maintenance: boolean
  readonly rescueInterval: Duration.Duration
  readonly expireInterval: Duration.Duration
}

const resolve = (options: WorkerOptions, registry: JobRegistry): Config => {
  const handlerTypes = Array.from(registry.handlers.values(), (h) => h.type)
  const typeLimits: Record<string, number> = {}
  for (const type of handlerTypes) if (type.concurrency !== null) typeLimits[type.key] = type.concurrency
  return {
    workerId: options.workerId ?? `${hostname()}:${process.pid}:${uuidv7().slice(-8)}`,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? 10)),
    queues: options.queues ?? Array.from(new Set(["default", ...handlerTypes.map((t) => t.queue)])),
    types: handlerTypes.map((t) => t.key),
    queueLimits: options.queueLimits ?? {},
    typeLimits,
    leaseMs: Duration.toMillis(options.leaseDuration ?? Duration.seconds(30)),
    heartbeat: Duration.decode(options.heartbeatInterval ?? Duration.seconds(10)),
    poll: Duration.decode(options.pollInterval ?? Duration.seconds(1)),
    cancelPoll: Duration.decode(options.cancelPollInterval ?? Duration.millis(500)),
    flush: Duration.decode(options.flushInterval ?? Duration.millis(250)),
    grace: Duration.decode(options.gracePeriod ?? Duration.seconds(10)),
    abandonAfter: Duration.decode(options.abandonAfter ?? Duration.seconds(30)),
    logCap: options.logCap ?? 10_000,
    maintenance: options.maintenance ?? true,
    rescueInterval: Duration.decode(options.rescueInterval ?? Maintenance.defaults.rescueInterval),
    expireInterval: Duration.decode(options.expireInterval ?? Maintenance.defaults.expireInterval)
  }
}

/**
 * One claimed job, from claim until its settlement is written (or it is lost). Once the attempt is decided, the
 * entry lets go of the row, the context and the exit: a short job's row then dies young instead of waiting in the
 * old generation for the settle round trip.
 */
class Entry {
  readonly id: string
  /** The token of the claim that took the job: every write about this attempt is guarded by it. */
  readonly token: string
  readonly callbackUrl: string | null
  readonly progress: AttemptProgress
  /** The claimed row, until the attempt is decided. */
  row: JobRow | undefined
  /** The handler's context, until the attempt is decided. */
  context: JobContext | undefined
  /**
   * How the attempt is settled, decided when it ends: null when it must not be written, an Effect when a Schema or a
   * backoff schedule needs one (run by the settler); undefined while it runs.
   */
  decision: Decision | null | Effect.Effect<Decision | null> | undefined = undefined
  stop: StopReason | null = null
  /** The fiber running the handler, once it runs. */
  fiber: Fiber.RuntimeFiber<Exit.Exit<unknown, unknown>> | undefined = undefined
  /** `running` until the attempt ended; `settling` until its settlement is written. */
  phase: "running" | "settling" = "running"
  /** How the attempt ended: the handler's exit, or an `Unrunnable` failure when it never ran. */
  exit: Exit.Exit<unknown, unknown> | undefined = undefined
  /** When the attempt ended (epoch ms). */
  endedAt = 0
  /**
   * Until when the lease is known to hold (epoch ms, with a margin): the claim's or the last confirmed heartbeat's
   * time plus the lease. Past it, another worker may have been given the job, so the attempt stops.
   */
  confirmedUntil = 0
  /** The timer that abandons a stopped handler that does not end (see `abandonAfter`). */
  abandon: Fiber.RuntimeFiber<void> | undefined = undefined

  constructor(
    row: JobRow,
    token: string,
    readonly handler: Handler | undefined,
    readonly type: AnyJobType | undefined,
    host: ContextHost<Entry>
  ) {
    this.id = row.id
    this.token = token
    this.callbackUrl = row.callbackUrl
    this.row = row
    this.progress = new AttemptProgress(type)
    this.context = makeJobContext(row, this.progress, host, this, type)
  }
}

interface Pending {
  readonly entry: Entry
  readonly decision: Decision
}

/** How a handler is started: on a runtime that already holds its requirements, so no job pays for `provide`. */
interface Runner {
  readonly runtime: Runtime.Runtime<never>
  readonly run: (params: unknown, context: JobContext) => Effect.Effect<unknown, unknown>
}

// a failed settle is retried for about half a minute; after that the lease expiry hands the job to the rescuer
const settleRetry = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(5))),
  Schedule.intersect(Schedule.recurs(10))
)

const settleChunk = 500

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Schemas that accept and return any value as is: decoding or encoding with them is skipped. */
const isOpaque = (schema: Schema.Schema.Any): boolean =>
  schema.ast._tag === "UnknownKeyword" || schema.ast._tag === "AnyKeyword"

const asAttemptError = (error: unknown): AttemptError =>
  error instanceof Unrunnable ? error : new HandlerFailed(error)

type Coder = ((u: unknown) => Effect.Effect<unknown, ParseResult.ParseIssue>) | null

/** Builds and starts a worker in the current scope; closing the scope shuts it down gracefully. */
export const make = (
  options: WorkerOptions = {}
): Effect.Effect<WorkerHandle, never, Scope.Scope | Jobs | JobRegistry | JobStore> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const registry = yield* JobRegistry
    const jobs = yield* Jobs
    const hub = eventHubOf(jobs)
    // read without an Effect on the hot path; it is the fiber's Clock service, so TestClock drives it in tests
    const clock: Clock.Clock = yield* Effect.clock
    const config = resolve(options, registry)
    const { workerId } = config
    const queueSet = new Set(config.queues)
    // jobs held at most: running, plus finished and waiting for their settlement to be written. Up to a full settle
    // batch may wait: while one batch is written the next fills, so a slow store gets bigger (fewer) batches, and
    // claiming pauses only when settling falls a whole batch behind
    const maxHeld = config.concurrency + settleChunk

    /** The attempt of each job this worker holds (the newest, when it claimed a job again after losing it). */
    const held = new Map<string, Entry>()
    /**
     * Every attempt not yet done: held ones, and older attempts of a job claimed again whose handlers still run (their
     * slots stay taken and the shutdown waits for them too).
     */
    const attempts = new Set<Entry>()
    let executing = 0
    let draining = false
    const idle = yield* Effect.makeLatch(true)
    const busy = yield* Effect.makeLatch(false)

    const claimWake = yield* Queue.dropping<void>(1)
    const callbackWake = yield* Queue.dropping<void>(1)
    const flushWake = yield* Queue.dropping<void>(1)
    const settleWake = yield* Queue.dropping<void>(1)
    /** Attempts that ended and wait for the settler. */
    let finished: Array<Entry> = []
    let settleArmed = false
    const logLock = yield* Effect.makeSemaphore(1)
    let logBuffer: Array<NewLog> = []
    const dirty = new Set<Entry>()
    let flushArmed = false
    const itemsFlusher = yield* ItemsFlusher.make(store, workerId)

    const armFlush = () => {
      if (!flushArmed) {
        flushArmed = true
        flushWake.unsafeOffer(undefined)
      }
    }
    /** Buffers a line; an attempt's lines carry its claim's token, so a late line of a lost attempt is dropped. */
    const pushLog = (jobId: string, at: number, level: LogLevel, message: string, token?: string) => {
      logBuffer.push(token === undefined ? { jobId, at, level, message } : { jobId, at, level, message, token })
      armFlush()
    }

    const hold = (entry: Entry) => {
      const previous = held.get(entry.id)
      // claimed again while an older attempt still runs here: that attempt lost its lease, so stop it
      if (previous !== undefined) stop(previous, "lost")
      held.set(entry.id, entry)
      attempts.add(entry)
      if (attempts.size === 1) {
        idle.unsafeClose()
        busy.unsafeOpen()
      }
    }
    const release = (entry: Entry) => {
      if (!attempts.delete(entry)) return
      if (held.get(entry.id) === entry) held.delete(entry.id)
      dirty.delete(entry)
      if (attempts.size === 0) {
        busy.unsafeClose()
        idle.unsafeOpen()
      }
    }

    // --- writing progress and logs -------------------------------------------------------------------------------

    /** Log events of lines just written, when someone listens. */
    const publishLogs = (entries: ReadonlyArray<NewLog>): Effect.Effect<void> =>
      entries.length === 0 || !hub.listening()
        ? Effect.void
        : Effect.suspend(() =>
            hub.publishAll(
              entries.map((line): JobEvent => ({
                _tag: "log",
                jobId: line.jobId,
                at: formatTime(line.at),
                level: line.level,
                message: line.message
              }))
            )
          )

    const flushLogs = logLock.withPermits(1)(
      Effect.suspend(() => {
        if (logBuffer.length === 0) return Effect.void
        const entries = logBuffer
        logBuffer = []
        return Effect.zipRight(store.appendLogs({ entries, cap: config.logCap }), publishLogs(entries)).pipe(
          Effect.catchAll((error) => Effect.logWarning(`jobloom: dropped ${entries.length} log lines`, error))
        )
      })
    )

    const flushProgress = Effect.suspend(() => {
      if (dirty.size === 0) return Effect.void
      const updates: Array<{ readonly id: string; readonly token: string; readonly progress: string }> = []
      const events: Array<JobEvent> = []
      const listening = hub.listening()
      for (const entry of dirty) {
        if (entry.phase !== "running") continue
        const progress = entry.progress.toProgress("RUNNING")
        entry.progress.dirty = false
        updates.push({ id: entry.id, token: entry.token, progress: JSON.stringify(progress) })
        if (listening) events.push({ _tag: "progress", jobId: entry.id, progress })
      }
      dirty.clear()
      if (updates.length === 0) return Effect.void
      const now = clock.unsafeCurrentTimeMillis()
      return store.saveProgress({ workerId, now, updates }).pipe(
        Effect.zipRight(hub.publishAll(events)),
        Effect.catchAll((error) => Effect.logWarning("jobloom: saving progress failed", error))
      )
    })

    const flushAll = Effect.zipRight(itemsFlusher.flush, Effect.zipRight(flushProgress, flushLogs))

    const flusher = Effect.forever(
      Queue.take(flushWake).pipe(
        Effect.zipRight(Effect.sleep(config.flush)),
        Effect.zipRight(
          Effect.suspend(() => {
            flushArmed = false
            return flushAll
          })
        )
      )
    )

    // --- stopping attempts -----------------------------------------------------------------------------------------

    // the abandon timers run on the worker's runtime (TestClock in tests); they are rare, so Effect is fine here
    const timerRuntime = yield* Effect.runtime<never>()

    /**
     * Stops a running attempt: the first reason wins, and the fiber (once it runs) is interrupted, never awaited. The
     * attempt ends when the handler has really ended (a Promise handler's promise settled, finalizers run); one that
     * has not after `abandonAfter` is abandoned: its attempt ends without it, with a warning.
     */
    const stop = (entry: Entry, reason: StopReason): void => {
      if (entry.stop !== null || entry.phase !== "running") return
      entry.stop = reason
      entry.fiber?.unsafeInterruptAsFork(FiberId.none)
      entry.abandon = Runtime.runFork(timerRuntime)(
        Effect.sleep(config.abandonAfter).pipe(
          Effect.zipRight(
            Effect.suspend(() =>
              entry.phase !== "running"
                ? Effect.void
                : Effect.zipRight(
                    Effect.logWarning(
                      `jobloom: the handler of job ${entry.id} did not end within ${Duration.format(config.abandonAfter)} ` +
                        `of being stopped (${reason}); abandoned, its slot is freed while it may still run`
                    ),
                    Effect.sync(() => ended(entry, Exit.interrupt(FiberId.none)))
                  )
            )
          )
        )
      )
    }

    /** Stops held jobs the store says this worker no longer runs as RUNNING (by their claim). */
    const react = (entries: ReadonlyArray<Entry>, answer: ReadonlyArray<StatusChange>, renewedAt?: number): void => {
      const statuses = new Map(answer.map((c) => [c.id, c.status]))
      for (const entry of entries) {
        if (entry.phase !== "running") continue
        const status = statuses.get(entry.id)
        if (renewedAt !== undefined && status !== undefined) entry.confirmedUntil = renewedAt + leaseSafeMs
        if (status === "RUNNING") continue
        stop(entry, status === "CANCELLING" ? "cancel" : "lost")
      }
    }

    const renew = (entries: ReadonlyArray<Entry>): Effect.Effect<void> =>
      entries.length === 0
        ? Effect.void
        : Effect.suspend(() => {
            const now = clock.unsafeCurrentTimeMillis()
            return store
              .heartbeat({
                workerId,
                leases: entries.map((e) => ({ id: e.id, token: e.token })),
                now,
                leaseMs: config.leaseMs
              })
              .pipe(
                Effect.map((answer) => react(entries, answer, now)),
                Effect.catchAll((error) => Effect.logWarning("jobloom: heartbeat failed", error))
              )
          })

    /**
     * How long after a claim or a confirmed renewal the worker trusts its lease: the lease less a heartbeat interval
     * (at least half the lease), so an attempt that cannot renew (the store unreachable) stops before the lease can
     * expire and the job be given to another worker.
     */
    const leaseSafeMs = Math.max(config.leaseMs / 2, config.leaseMs - Duration.toMillis(config.heartbeat))

    /** Stops attempts whose lease could not be confirmed in time; a fiber of its own, as a renewal may hang. */
    const watchdog = Effect.forever(
      busy.await.pipe(
        Effect.zipRight(Effect.sleep(Duration.millis(Math.max(10, Math.min(1000, leaseSafeMs / 4))))),
        Effect.zipRight(
          Effect.suspend(() => {
            const now = clock.unsafeCurrentTimeMillis()
            const lapsed: Array<string> = []
            for (const entry of held.values()) {
              if (entry.phase !== "running" || entry.stop !== null || now < entry.confirmedUntil) continue
              lapsed.push(entry.id)
              stop(entry, "lost")
            }
            return lapsed.length === 0
              ? Effect.void
              : Effect.logWarning(
                  `jobloom: the leases of ${lapsed.length} jobs could not be renewed in time; their attempts stop`
                )
          })
        )
      )
    )

    const host: ContextHost<Entry> = {
      markDirty: (entry) => {
        dirty.add(entry)
        armFlush()
      },
      log: (entry, at, level, message) => pushLog(entry.id, at, level, message, entry.token),
      heartbeat: (entry) => Effect.suspend(() => renew([entry])),
      items: (entry) => itemsFlusher.host(armFlush, entry.token)
    }

    // --- running attempts ------------------------------------------------------------------------------------------

    // handlers run on the worker's own runtime (its services, TestClock in tests), always interruptible
    const base = yield* Effect.runtime<never>()
    const runtimeFlags = RuntimeFlags.enable(base.runtimeFlags, RuntimeFlags.Interruption)
    const runners = new Map<Handler, Runner>()
    const runnerOf = (handler: Handler): Runner => {
      let runner = runners.get(handler)
      if (runner === undefined) {
        const unprovided = handler.unprovided
        runner = {
          runtime: Runtime.make({
            context:
              unprovided === undefined
                ? base.context
                : (Context.merge(base.context, unprovided.context) as Context.Context<never>),
            fiberRefs: base.fiberRefs,
            runtimeFlags
          }),
          run: (unprovided?.run ?? handler.run) as Runner["run"]
        }
        runners.set(handler, runner)
      }
      return runner
    }

    const decoders = new Map<AnyJobType, Coder>()
    const encoders = new Map<AnyJobType, Coder>()
    const coderOf = (cache: Map<AnyJobType, Coder>, type: AnyJobType, schema: Schema.Schema.Any, decoding: boolean) => {
      let coder = cache.get(type)
      if (coder === undefined) {
        // ParseResult's parsers answer an Either (itself an Effect) when the Schema is synchronous
        coder = isOpaque(schema)
          ? null
          : decoding
            ? ParseResult.decodeUnknown(schema as Schema.Schema<unknown, unknown, never>)
            : ParseResult.encodeUnknown(schema as Schema.Schema<unknown, unknown, never>)
        cache.set(type, coder)
      }
      return coder
    }

    /** The handler's params from the row: a value, an `Unrunnable`, or an Effect for an asynchronous Schema. */
    const paramsOf = (
      type: AnyJobType,
      row: JobRow
    ): { readonly value: unknown } | Unrunnable | Effect.Effect<unknown, Unrunnable> => {
      let raw: unknown
      try {
        raw = JSON.parse(row.params)
      } catch (error) {
        return new Unrunnable(`params are not valid JSON: ${messageOf(error)}`)
      }
      const decode = coderOf(decoders, type, type.params, true)
      if (decode === null) return { value: raw }
      const unrunnable = (issue: ParseResult.ParseIssue) =>
        new Unrunnable(
          `params do not match job type "${type.key}": ${ParseResult.TreeFormatter.formatIssueSync(issue)}`
        )
      const decoded = decode(raw)
      if (Either.isEither(decoded)) {
        return Either.isRight(decoded) ? { value: decoded.right } : unrunnable(decoded.left as ParseResult.ParseIssue)
      }
      return Effect.mapError(decoded, unrunnable)
    }

    /**
     * The result's JSON text (null when the handler returned nothing: no result is stored), an `Unrunnable`, or an
     * Effect for an asynchronous Schema.
     */
    const resultOf = (
      type: AnyJobType,
      value: unknown
    ): string | null | Unrunnable | Effect.Effect<string | null, Unrunnable> => {
      const stringify = (encoded: unknown): string | null | Unrunnable => {
        if (encoded === undefined) return null
        try {
          return JSON.stringify(encoded) ?? "null"
        } catch (error) {
          return new Unrunnable(`result is not JSON-serializable: ${messageOf(error)}`)
        }
      }
      const encode = coderOf(encoders, type, type.result, false)
      if (encode === null) return stringify(value)
      const unrunnable = (issue: ParseResult.ParseIssue) =>
        new Unrunnable(
          `result does not match job type "${type.key}": ${ParseResult.TreeFormatter.formatIssueSync(issue)}`
        )
      const encoded = encode(value)
      if (Either.isEither(encoded)) {
        return Either.isRight(encoded) ? stringify(encoded.right) : unrunnable(encoded.left as ParseResult.ParseIssue)
      }
      return Effect.flatMap(Effect.mapError(encoded, unrunnable), (right) => {
        const text = stringify(right)
        return text instanceof Unrunnable ? Effect.fail(text) : Effect.succeed(text)
      })
    }

    /** The earliest of the attempt's timeout and the job's deadline, with which one it is. */
    const limitOf = (row: JobRow): { readonly at: number; readonly reason: "timeout" | "deadline" } | null => {
      const started = row.startedAt ?? 0
      const timeoutAt = row.timeoutMs === null ? null : started + row.timeoutMs
      if (timeoutAt !== null && (row.deadline === null || timeoutAt < row.deadline)) {
        return { at: timeoutAt, reason: "timeout" }
      }
      return row.deadline === null ? null : { at: row.deadline, reason: "deadline" }
    }

    /** The attempt ended (its fiber's observer, or at once when it could not run): hand it to the settler. */
    const ended = (entry: Entry, exit: Exit.Exit<unknown, unknown>): void => {
      if (entry.phase !== "running") return
      if (entry.abandon !== undefined) {
        entry.abandon.unsafeInterruptAsFork(FiberId.none)
        entry.abandon = undefined
      }
      entry.exit = exit
      entry.endedAt = clock.unsafeCurrentTimeMillis()
      entry.phase = "settling"
      // nothing interrupts a settling attempt: let the fiber go now rather than when its settlement is written (held
      // that long, every fiber would outlive a young-generation collection and fill the old generation)
      entry.fiber = undefined
      // decide now, and when no Effect is needed (the common case) let go of what only the decision needed
      const decision = decideEntry(entry)
      entry.decision = decision
      if (decision === null || !Effect.isEffect(decision)) {
        entry.row = undefined
        entry.context = undefined
        entry.exit = undefined
      }
      executing--
      finished.push(entry)
      if (!settleArmed) {
        settleArmed = true
        settleWake.unsafeOffer(undefined)
      }
      roomMade()
    }

    /**
     * Starts one attempt. The handler gets a fiber of its own (a stop interrupts it), started at once on the
     * caller's stack: a handler that never waits has ended before this returns. Its end is observed, not awaited.
     */
    const run = (entry: Entry, row: JobRow, context: JobContext, now: number): void => {
      const { handler } = entry
      if (handler === undefined) {
        return ended(entry, Exit.fail(new Unrunnable(`no handler is registered for job type "${row.type}"`)))
      }
      const params = paramsOf(handler.type, row)
      if (params instanceof Unrunnable) return ended(entry, Exit.fail(params))
      const runner = runnerOf(handler)
      let effect: Effect.Effect<unknown, unknown>
      if (Effect.isEffect(params)) {
        effect = Effect.flatMap(params, (value) => runner.run(value, context))
      } else {
        try {
          effect = runner.run(params.value, context)
        } catch (defect) {
          // a handler that throws instead of returning an Effect: a defect, like one thrown inside it
          return ended(entry, Exit.die(defect))
        }
      }
      const limit = limitOf(row)
      if (limit !== null) {
        // a child timer: it dies with the attempt's fiber when the attempt ends first
        const timer = Effect.zipRight(
          Effect.sleep(Math.max(0, limit.at - now)),
          Effect.sync(() => stop(entry, limit.reason))
        )
        effect = Effect.zipRight(Effect.fork(timer), effect)
      }
      // the fiber succeeds with the attempt's exit: a failed attempt is the worker's to report, and a fiber that
      // fails would log "Fiber terminated with an unhandled error" at Debug
      const fiber = Runtime.runFork(runner.runtime, Effect.exit(effect))
      entry.fiber = fiber
      fiber.addObserver((exit) => ended(entry, Exit.isSuccess(exit) ? exit.value : exit))
      // stopped while the handler ran its first synchronous steps (a heartbeat that found the lease gone)
      if (entry.stop !== null && entry.phase === "running") fiber.unsafeInterruptAsFork(FiberId.none)
    }

    const launch = (rows: ReadonlyArray<JobRow>, token: string, now: number): void => {
      for (const row of rows) {
        const handler = registry.handlers.get(row.type)
        const entry = new Entry(row, token, handler, handler?.type ?? registry.types.get(row.type), host)
        entry.confirmedUntil = now + leaseSafeMs
        hold(entry)
        executing++
        pushLog(row.id, now, "info", `attempt ${row.attempt}/${row.maxAttempts} started on worker ${workerId}`, token)
        run(entry, row, entry.context!, now)
      }
    }

    const start = (rows: ReadonlyArray<JobRow>, token: string, now: number): Effect.Effect<void> => {
      const go = Effect.sync(() => launch(rows, token, now))
      if (!hub.listening()) return go
      // RUNNING is published before any attempt can settle, so subscribers see the statuses in order
      const events = rows.map((row): JobEvent => ({
        _tag: "status",
        jobId: row.id,
        status: "RUNNING",
        terminalReason: null
      }))
      return Effect.zipRight(hub.publishAll(events), go)
    }

    // --- settling --------------------------------------------------------------------------------------------------

    /** How to settle an ended attempt: null when it must not be written, an Effect only when a Schema or a backoff schedule needs one. */
    const decideEntry = (entry: Entry): Decision | null | Effect.Effect<Decision | null> => {
      const raw = entry.exit!
      if (entry.stop === "lost") return null
      const decideWith = (exit: Exit.Exit<string | null, AttemptError>) =>
        decide({
          row: entry.row!,
          token: entry.token,
          type: entry.type,
          exit,
          stop: entry.stop,
          now: entry.endedAt,
          progress: entry.progress,
          newId: uuidv7
        })
      if (Exit.isFailure(raw)) return decideWith(Exit.failCause(Cause.map(raw.cause, asAttemptError)))
      const result = resultOf(entry.handler!.type, raw.value)
      if (typeof result === "string" || result === null) return decideWith(Exit.succeed(result))
      if (result instanceof Unrunnable) return decideWith(Exit.fail(result))
      return Effect.flatMap(Effect.exit(result), (exit) => {
        const decision = decideWith(exit)
        return decision !== null && Effect.isEffect(decision) ? decision : Effect.succeed(decision)
      })
    }

    const accept = (entry: Entry, decision: Decision | null, pending: Array<Pending>): void => {
      if (decision === null) {
        release(entry)
        return
      }
      pushLog(entry.id, entry.endedAt, decision.level, decision.message, entry.token)
      pending.push({ entry, decision })
    }

    /** Decides every attempt of the batch, in order; only the rare decision that is an Effect leaves the loop. */
    const decideAll = (
      batch: ReadonlyArray<Entry>,
      from: number,
      pending: Array<Pending>
    ): Effect.Effect<Array<Pending>> => {
      for (let i = from; i < batch.length; i++) {
        const entry = batch[i]
        const decision = entry.decision!
        if (decision !== null && Effect.isEffect(decision)) {
          return Effect.flatMap(decision, (decided) => {
            accept(entry, decided, pending)
            return decideAll(batch, i + 1, pending)
          })
        }
        accept(entry, decision, pending)
      }
      return Effect.succeed(pending)
    }

    const reasonOf = (change: StatusChange, pending: Pending): TerminalReason | null => {
      if (change.status === "CANCELLED") return "user"
      const settlement: Settlement = pending.decision.settlement
      return settlement._tag === "Fail" && change.status === settlement.status ? pending.decision.reason : null
    }

    const afterSettle = (batch: ReadonlyArray<Pending>, changes: ReadonlyArray<StatusChange>): Effect.Effect<void> => {
      const byId = new Map<string, Pending>()
      for (const p of batch) {
        byId.set(p.entry.id, p)
        release(p.entry)
      }
      const listening = hub.listening()
      const events: Array<JobEvent> = []
      let terminalWithCallback = false
      for (const change of changes) {
        const pending = byId.get(change.id)
        if (pending === undefined) continue
        const status = change.status
        if (listening) {
          events.push({ _tag: "status", jobId: change.id, status, terminalReason: reasonOf(change, pending) })
          events.push({
            _tag: "progress",
            jobId: change.id,
            progress: pending.entry.progress.toProgress(status, status === "SUCCEEDED" ? 1 : undefined)
          })
        }
        if (status !== "QUEUED" && pending.entry.callbackUrl !== null) terminalWithCallback = true
      }
      if (terminalWithCallback) callbackWake.unsafeOffer(undefined)
      // type and queue limits count jobs until they are settled: a settle may open room for a claim
      roomMade()
      return events.length === 0 ? Effect.void : hub.publishAll(events)
    }

    // Every pending log line (the batch's end lines among them, and the start lines of attempts that ended within a
    // flush interval) travels in the settle's own transaction: a reader who sees a settled job sees its lines, and a
    // short job costs one write. The log lock keeps lines in order against the flusher.
    const settleBatch = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
      batch.length === 0
        ? Effect.void
        : logLock
            .withPermits(1)(
              Effect.suspend(() => {
                const entries = logBuffer
                logBuffer = []
                return Effect.suspend(() =>
                  store.settle({
                    workerId,
                    now: clock.unsafeCurrentTimeMillis(),
                    settlements: batch.map((p) => p.decision.settlement),
                    logs: entries.length === 0 ? undefined : { entries, cap: config.logCap }
                  })
                ).pipe(
                  Effect.retry(settleRetry),
                  Effect.tap(() => publishLogs(entries)),
                  Effect.catchAll((error) =>
                    Effect.as(
                      Effect.logWarning(
                        `jobloom: settling ${batch.length} jobs failed; their leases will expire` +
                          (entries.length === 0 ? "" : ` (${entries.length} log lines dropped)`),
                        error
                      ),
                      [] as ReadonlyArray<StatusChange>
                    )
                  )
                )
              })
            )
            .pipe(Effect.flatMap((changes) => afterSettle(batch, changes)))

    /** Settles every ended attempt, in chunks, until none is left. */
    const settleFinished: Effect.Effect<void> = Effect.suspend(() => {
      if (finished.length === 0) return Effect.void
      let batch: Array<Entry>
      if (finished.length <= settleChunk) {
        batch = finished
        finished = []
      } else {
        batch = finished.splice(0, settleChunk)
      }
      // the batch's items are written first: a reader who sees a settled job sees its items as the handler left them
      return Effect.zipRight(itemsFlusher.flush, decideAll(batch, 0, [])).pipe(
        Effect.flatMap(settleBatch),
        Effect.zipRight(settleFinished)
      )
    })

    const settler = Effect.forever(
      Effect.zipRight(
        Queue.take(settleWake),
        Effect.suspend(() => {
          settleArmed = false
          return settleFinished
        })
      )
    )

    // --- claiming --------------------------------------------------------------------------------------------------

    /**
     * Whether due jobs may be left that a free slot could take: the last claim filled every slot it asked for,
     * failed, or could not ask. After a short claim every due job was taken, so a slot freed by an ending or settled
     * job wakes nobody: new jobs announce themselves (signals), and the poll finds the rest (retries coming due).
     * Under type or queue limits a short claim may only mean a full limit, so room always wakes the claim loop.
     */
    let backlog = true
    const limited = Object.keys(config.typeLimits).length > 0 || Object.keys(config.queueLimits).length > 0
    const roomMade = (): void => {
      if (backlog || limited) claimWake.unsafeOffer(undefined)
    }

    /** One claim: true when it filled every free slot (more may be due). */
    const claimOnce: Effect.Effect<boolean> = Effect.suspend(() => {
      // backpressure: when settling falls behind (a slow store), held jobs pile up and claiming pauses
      const free = Math.min(config.concurrency - executing, maxHeld - attempts.size)
      if (free <= 0 || config.queues.length === 0 || config.types.length === 0) {
        backlog = true
        return Effect.succeed(false)
      }
      const now = clock.unsafeCurrentTimeMillis()
      // a fresh token per claim: the jobs it takes are held by it, and every later write about them names it
      const token = randomUUID()
      return store
        .claim({
          workerId,
          token,
          now,
          leaseMs: config.leaseMs,
          limit: free,
          queues: config.queues,
          types: config.types,
          typeLimits: config.typeLimits,
          queueLimits: config.queueLimits
        })
        .pipe(
          Effect.flatMap((rows) => {
            if (rows.length < free) backlog = false
            return rows.length === 0 ? Effect.succeed(false) : Effect.as(start(rows, token, now), rows.length === free)
          }),
          Effect.catchAll((error) => {
            backlog = true
            return Effect.as(Effect.logWarning("jobloom: claim failed", error), false)
          })
        )
    })

    // a full batch means more may be due: claim again at once; otherwise wait for a signal, a free slot or the poll
    const claimLoop: Effect.Effect<void> = Effect.suspend(() =>
      draining
        ? Effect.void
        : Effect.flatMap(claimOnce, (full) => (full ? claimLoop : Effect.zipRight(Queue.take(claimWake), claimLoop)))
    )

    // the fallback poll: one timer for the worker's life rather than one per wait
    const poller = Effect.forever(
      Effect.zipRight(
        Effect.sleep(config.poll),
        Effect.sync(() => {
          claimWake.unsafeOffer(undefined)
        })
      )
    )

    // --- signals, heartbeats, cancel poll ----------------------------------------------------------------------------

    const signals = yield* store.subscribe
    const signalReader = Effect.forever(
      Effect.flatMap(Queue.takeBetween(signals, 1, 1000), (batch) => {
        let wake = false
        const changed = new Set<Entry>()
        for (const signal of batch) {
          if (signal._tag === "Enqueued") {
            if (queueSet.has(signal.queue)) wake = true
          } else if (signal.status !== "RUNNING") {
            const entry = held.get(signal.id)
            if (entry?.phase === "running") changed.add(entry)
          }
        }
        if (wake) claimWake.unsafeOffer(undefined)
        // signals are hints and may be stale: confirm with the store (lease owner included) before stopping anything
        return renew(Array.from(changed))
      })
    )

    const heartbeats = Effect.forever(
      busy.await.pipe(
        Effect.zipRight(Effect.sleep(config.heartbeat)),
        Effect.zipRight(Effect.suspend(() => renew(Array.from(held.values()))))
      )
    )

    const runningEntries = () => {
      const entries: Array<Entry> = []
      for (const entry of held.values()) if (entry.phase === "running") entries.push(entry)
      return entries
    }

    const cancelPoll = Effect.forever(
      busy.await.pipe(
        Effect.zipRight(Effect.sleep(config.cancelPoll)),
        Effect.zipRight(
          Effect.suspend(() => {
            const entries = runningEntries()
            if (entries.length === 0) return Effect.void
            return store.statuses({ ids: entries.map((e) => e.id) }).pipe(
              Effect.map((answer) => react(entries, answer)),
              Effect.catchAll((error) => Effect.logWarning("jobloom: status poll failed", error))
            )
          })
        )
      )
    )

    // --- start ---------------------------------------------------------------------------------------------------

    // background fibers are forked before the shutdown finalizer is added, so they outlive it (finalizers run in
    // reverse order): heartbeats, settling and flushing go on while the shutdown drains
    yield* Effect.forkScoped(settler)
    yield* Effect.forkScoped(flusher)
    yield* Effect.forkScoped(heartbeats)
    yield* Effect.forkScoped(watchdog)
    yield* Effect.forkScoped(signalReader)
    yield* Effect.forkScoped(poller)
    if (!store.crossProcessSignals) yield* Effect.forkScoped(cancelPoll)
    if (config.maintenance) {
      const onTerminal = Effect.sync(() => callbackWake.unsafeOffer(undefined))
      yield* Maintenance.rescue(store, jobs, onTerminal)
      yield* Effect.forkScoped(
        Maintenance.loops(store, jobs, {
          rescueInterval: config.rescueInterval,
          expireInterval: config.expireInterval,
          onTerminal
        })
      )
      const callbacks = options.callbacks ?? {}
      yield* Effect.forkScoped(
        Callbacks.loop(store, callbackWake, {
          secret: callbacks.secret,
          maxAttempts: callbacks.maxAttempts ?? 10,
          timeout: Duration.decode(callbacks.timeout ?? Duration.seconds(10)),
          retryDelay: Duration.decode(callbacks.retryDelay ?? Duration.seconds(1)),
          pollInterval: config.expireInterval,
          batchSize: 20,
          log: pushLog,
          policy: { allowPrivateNetworks: callbacks.allowPrivateNetworks === true, allow: callbacks.allow }
        })
      )
    }
    const claimFiber = yield* Effect.forkScoped(claimLoop)

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        draining = true
        claimWake.unsafeOffer(undefined)
        yield* Fiber.await(claimFiber)
        // finalizers run uninterruptibly, and the fiber closing this scope may carry a pending interrupt (runMain,
        // Layer.launch): only the inner wait is interruptible, so the timeout can end it, while the interrupt cannot
        yield* Effect.timeoutOption(Effect.interruptible(idle.await), config.grace)
        for (const entry of attempts) stop(entry, "shutdown")
        yield* idle.await
        yield* flushAll
      })
    )

    return {
      workerId,
      running: Effect.sync(() => executing),
      held: Effect.sync(() => Array.from(held.keys())),
      awaitIdle: idle.await,
      poll: Effect.sync(() => {
        claimWake.unsafeOffer(undefined)
      }),
      flush: flushAll
    }
  })
