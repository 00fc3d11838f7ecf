/**
 * The worker's engine room. One claim loop fills free slots in batches; each claimed job runs in its own fiber
 * under a supervisor fiber that owns its timeout, deadline and stop reason; a settler writes every finished attempt
 * in batches; a flusher writes coalesced progress and log lines in batches; a heartbeat renews leases; a signal
 * reader wakes the claim loop and reacts to cancels. Nothing here sleeps on a hot path: every wait is on a queue, a
 * latch or a timer that the work itself arms.
 */
import { hostname } from "node:os"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { uuidv7 } from "uuidv7"
import { formatTime, type JobStatus, type LogLevel, type TerminalReason } from "../Job.js"
import { JobStore, type JobRow, type NewLog, type Settlement, type StatusChange } from "../JobStore.js"
import { JobRegistry, type Any as AnyJobType, type JobContext } from "../JobType.js"
import { Jobs } from "../Jobs.js"
import type { WorkerOptions } from "../Worker.js"
import * as Callbacks from "./callbacks.js"
import { AttemptProgress, makeJobContext } from "./context.js"
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
  readonly queueLimits: Readonly<Record<string, number>>
  readonly typeLimits: Readonly<Record<string, number>>
  readonly leaseMs: number
  readonly heartbeat: Duration.Duration
  readonly poll: Duration.Duration
  readonly cancelPoll: Duration.Duration
  readonly flush: Duration.Duration
  readonly grace: Duration.Duration
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
    queueLimits: options.queueLimits ?? {},
    typeLimits,
    leaseMs: Duration.toMillis(options.leaseDuration ?? Duration.seconds(30)),
    heartbeat: Duration.decode(options.heartbeatInterval ?? Duration.seconds(10)),
    poll: Duration.decode(options.pollInterval ?? Duration.seconds(1)),
    cancelPoll: Duration.decode(options.cancelPollInterval ?? Duration.millis(500)),
    flush: Duration.decode(options.flushInterval ?? Duration.millis(250)),
    grace: Duration.decode(options.gracePeriod ?? Duration.seconds(10)),
    logCap: options.logCap ?? 10_000,
    maintenance: options.maintenance ?? true,
    rescueInterval: Duration.decode(options.rescueInterval ?? Maintenance.defaults.rescueInterval),
    expireInterval: Duration.decode(options.expireInterval ?? Maintenance.defaults.expireInterval)
  }
}

/** One claimed job, from claim until its settlement is written (or it is lost). */
interface Entry {
  readonly row: JobRow
  readonly type: AnyJobType | undefined
  readonly progress: AttemptProgress
  readonly context: JobContext
  stop: StopReason | null
  /** The fiber running the attempt, once it runs. */
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** `running` until the handler ended and a settlement was decided. */
  phase: "running" | "settling"
}

interface Pending {
  readonly entry: Entry
  readonly decision: Decision
}

// a failed settle is retried for about half a minute; after that the lease expiry hands the job to the rescuer
const settleRetry = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(5))),
  Schedule.intersect(Schedule.recurs(10))
)

const settleChunk = 500

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Builds and starts a worker in the current scope; closing the scope shuts it down gracefully. */
export const make = (
  options: WorkerOptions = {}
): Effect.Effect<WorkerHandle, never, Scope.Scope | Jobs | JobRegistry | JobStore> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const registry = yield* JobRegistry
    const jobs = yield* Jobs
    const config = resolve(options, registry)
    const { workerId } = config
    const queueSet = new Set(config.queues)
    // jobs held at most: running plus finished and waiting for their settlement to be written
    const maxHeld = config.concurrency * 2

    const held = new Map<string, Entry>()
    let executing = 0
    let draining = false
    const idle = yield* Effect.makeLatch(true)
    const busy = yield* Effect.makeLatch(false)

    const claimWake = yield* Queue.dropping<void>(1)
    const callbackWake = yield* Queue.dropping<void>(1)
    const flushWake = yield* Queue.dropping<void>(1)
    const settleQueue = yield* Queue.unbounded<Pending>()
    const logLock = yield* Effect.makeSemaphore(1)
    let logBuffer: Array<NewLog> = []
    const dirty = new Set<Entry>()
    let flushArmed = false

    const armFlush = () => {
      if (!flushArmed) {
        flushArmed = true
        flushWake.unsafeOffer(undefined)
      }
    }
    const pushLog = (jobId: string, at: number, level: LogLevel, message: string) => {
      logBuffer.push({ jobId, at, level, message })
      armFlush()
    }

    const hold = (entry: Entry) => {
      held.set(entry.row.id, entry)
      if (held.size === 1) {
        idle.unsafeClose()
        busy.unsafeOpen()
      }
    }
    const release = (entry: Entry) => {
      if (held.get(entry.row.id) !== entry) return
      held.delete(entry.row.id)
      dirty.delete(entry)
      if (held.size === 0) {
        busy.unsafeClose()
        idle.unsafeOpen()
      }
    }

    // --- writing progress and logs -------------------------------------------------------------------------------

    const flushLogs = logLock.withPermits(1)(
      Effect.suspend(() => {
        if (logBuffer.length === 0) return Effect.void
        const entries = logBuffer
        logBuffer = []
        return store.appendLogs({ entries, cap: config.logCap }).pipe(
          Effect.zipRight(
            Effect.forEach(
              entries,
              (line) =>
                jobs.publish({
                  _tag: "log",
                  jobId: line.jobId,
                  at: formatTime(line.at),
                  level: line.level,
                  message: line.message
                }),
              { discard: true }
            )
          ),
          Effect.catchAll((error) => Effect.logWarning(`jobloom: dropped ${entries.length} log lines`, error))
        )
      })
    )

    const flushProgress = Effect.gen(function* () {
      if (dirty.size === 0) return
      const updates: Array<{ readonly id: string; readonly progress: string }> = []
      const events = []
      for (const entry of dirty) {
        if (entry.phase !== "running") continue
        const progress = entry.progress.toProgress("RUNNING")
        entry.progress.dirty = false
        updates.push({ id: entry.row.id, progress: JSON.stringify(progress) })
        events.push({ _tag: "progress" as const, jobId: entry.row.id, progress })
      }
      dirty.clear()
      if (updates.length === 0) return
      const now = yield* Clock.currentTimeMillis
      yield* store.saveProgress({ workerId, now, updates }).pipe(
        Effect.zipRight(Effect.forEach(events, jobs.publish, { discard: true })),
        Effect.catchAll((error) => Effect.logWarning("jobloom: saving progress failed", error))
      )
    })

    const flushAll = Effect.zipRight(flushProgress, flushLogs)

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

    const stop = (entry: Entry, reason: StopReason): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (entry.stop !== null || entry.phase !== "running") return Effect.void
        entry.stop = reason
        // interruptFork: never wait here for a handler's finalizers
        return entry.fiber === undefined ? Effect.void : Fiber.interruptFork(entry.fiber)
      })

    /** Stops held jobs the store says this worker no longer runs as RUNNING. */
    const react = (ids: ReadonlyArray<string>, answer: ReadonlyArray<StatusChange>): Effect.Effect<void> =>
      Effect.suspend(() => {
        const statuses = new Map(answer.map((c) => [c.id, c.status]))
        const stops: Array<Effect.Effect<void>> = []
        for (const id of ids) {
          const entry = held.get(id)
          if (entry === undefined || entry.phase !== "running") continue
          const status = statuses.get(id)
          if (status === "RUNNING") continue
          stops.push(stop(entry, status === "CANCELLING" ? "cancel" : "lost"))
        }
        return Effect.all(stops, { discard: true })
      })

    const renew = (ids: ReadonlyArray<string>): Effect.Effect<void> =>
      ids.length === 0
        ? Effect.void
        : Clock.currentTimeMillis.pipe(
            Effect.flatMap((now) => store.heartbeat({ workerId, ids, now, leaseMs: config.leaseMs })),
            Effect.flatMap((answer) => react(ids, answer)),
            Effect.catchAll((error) => Effect.logWarning("jobloom: heartbeat failed", error))
          )

    // --- running attempts ------------------------------------------------------------------------------------------

    const decoders = new Map<string, (u: unknown) => Effect.Effect<unknown, ParseResult.ParseError>>()
    const encoders = new Map<string, (a: unknown) => Effect.Effect<unknown, ParseResult.ParseError>>()
    const decoderOf = (type: AnyJobType) => {
      let decode = decoders.get(type.key)
      if (decode === undefined) {
        decode = Schema.decodeUnknown(type.params)
        decoders.set(type.key, decode)
      }
      return decode
    }
    const encoderOf = (type: AnyJobType) => {
      let encode = encoders.get(type.key)
      if (encode === undefined) {
        encode = Schema.encodeUnknown(type.result)
        encoders.set(type.key, encode)
      }
      return encode
    }

    /** Decode, run, encode: the attempt itself. Succeeds with the result's JSON text. */
    const attempt = (entry: Entry): Effect.Effect<string, AttemptError> =>
      Effect.suspend(() => {
        const { row } = entry
        const handler = registry.handlers.get(row.type)
        if (handler === undefined) {
          return Effect.fail(new Unrunnable(`no handler is registered for job type "${row.type}"`))
        }
        let raw: unknown
        try {
          raw = JSON.parse(row.params)
        } catch (error) {
          return Effect.fail(new Unrunnable(`params are not valid JSON: ${messageOf(error)}`))
        }
        const type = handler.type
        return decoderOf(type)(raw).pipe(
          Effect.mapError(
            (error) =>
              new Unrunnable(
                `params do not match job type "${type.key}": ${ParseResult.TreeFormatter.formatErrorSync(error)}`
              )
          ),
          Effect.flatMap((params) =>
            Effect.mapError(handler.run(params, entry.context), (error) => new HandlerFailed(error))
          ),
          Effect.flatMap((value) =>
            Effect.mapError(
              encoderOf(type)(value),
              (error) =>
                new Unrunnable(
                  `result does not match job type "${type.key}": ${ParseResult.TreeFormatter.formatErrorSync(error)}`
                )
            )
          ),
          Effect.flatMap((encoded) =>
            Effect.try({
              try: () => JSON.stringify(encoded) ?? "null",
              catch: (error) => new Unrunnable(`result is not JSON-serializable: ${messageOf(error)}`)
            })
          )
        )
      })

    /** The earliest of the attempt's timeout and the job's deadline, with which one it is. */
    const limitOf = (row: JobRow): { readonly at: number; readonly reason: "timeout" | "deadline" } | null => {
      const started = row.startedAt ?? 0
      const timeoutAt = row.timeoutMs === null ? null : started + row.timeoutMs
      if (timeoutAt !== null && (row.deadline === null || timeoutAt < row.deadline)) {
        return { at: timeoutAt, reason: "timeout" }
      }
      return row.deadline === null ? null : { at: row.deadline, reason: "deadline" }
    }

    /**
     * Runs one attempt to its end and hands its settlement to the settler. The handler runs in this same fiber, in
     * an interruptible region: a stop interrupts the fiber, the region ends with an interrupted exit, and the rest
     * (deciding and handing over the settlement) runs on uninterruptibly. One fiber per job keeps the overhead low.
     */
    const supervise = (entry: Entry): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // known to `stop` only from here on: an interrupt sent before this fiber entered its uninterruptible
          // region would kill it before it could settle anything; earlier stops only set `entry.stop`
          yield* Effect.withFiberRuntime<void>((fiber) => {
            entry.fiber = fiber
            return Effect.void
          })
          const limit = limitOf(entry.row)
          if (limit !== null) {
            const now = yield* Clock.currentTimeMillis
            // a child timer: it dies with this fiber when the attempt ends first
            yield* Effect.fork(
              restore(Effect.zipRight(Effect.sleep(Math.max(0, limit.at - now)), stop(entry, limit.reason)))
            )
          }
          const exit: Exit.Exit<string, AttemptError> =
            entry.stop === null ? yield* Effect.exit(restore(attempt(entry))) : Exit.interrupt(FiberId.none)
          executing--
          claimWake.unsafeOffer(undefined)
          const now = yield* Clock.currentTimeMillis
          const { progress, row } = entry
          const decision = yield* decide({
            row,
            type: entry.type,
            exit,
            stop: entry.stop,
            now,
            progress: (status) => JSON.stringify(progress.toProgress(status)),
            successProgress: () => JSON.stringify(progress.toProgress("SUCCEEDED", 1)),
            newId: uuidv7
          })
          if (Option.isNone(decision)) {
            release(entry)
            return
          }
          entry.phase = "settling"
          pushLog(row.id, now, decision.value.level, decision.value.message)
          settleQueue.unsafeOffer({ entry, decision: decision.value })
        })
      )

    const supervisors = yield* FiberSet.make<void, never>()

    const start = (rows: ReadonlyArray<JobRow>, now: number) =>
      Effect.gen(function* () {
        // RUNNING is published before any attempt can settle, so subscribers see the statuses in order
        yield* Effect.forEach(
          rows,
          (row) => jobs.publish({ _tag: "status", jobId: row.id, status: "RUNNING", terminalReason: null }),
          { discard: true }
        )
        for (const row of rows) {
          const type = registry.handlers.get(row.type)?.type ?? registry.types.get(row.type)
          const progress = new AttemptProgress(type)
          const entry: Entry = {
            row,
            type,
            progress,
            context: makeJobContext(row, progress, {
              markDirty: () => {
                dirty.add(entry)
                armFlush()
              },
              log: (at, level, message) => pushLog(row.id, at, level, message),
              heartbeat: Effect.suspend(() => renew([row.id]))
            }),
            stop: null,
            fiber: undefined,
            phase: "running"
          }
          hold(entry)
          executing++
          pushLog(row.id, now, "info", `attempt ${row.attempt}/${row.maxAttempts} started on worker ${workerId}`)
          yield* FiberSet.run(supervisors, supervise(entry))
        }
      })

    // --- settling --------------------------------------------------------------------------------------------------

    const reasonOf = (change: StatusChange, pending: Pending): TerminalReason | null => {
      if (change.status === "CANCELLED") return "user"
      const settlement: Settlement = pending.decision.settlement
      return settlement._tag === "Fail" && change.status === settlement.status ? pending.decision.reason : null
    }

    const settleBatch = (batch: ReadonlyArray<Pending>) =>
      Effect.gen(function* () {
        // the attempt's end line is stored before its status changes, so a reader of a settled job sees it
        yield* flushLogs
        const now = yield* Clock.currentTimeMillis
        const changes = yield* store
          .settle({ workerId, now, settlements: batch.map((p) => p.decision.settlement) })
          .pipe(
            Effect.retry(settleRetry),
            Effect.catchAll((error) =>
              Effect.as(
                Effect.logWarning(`jobloom: settling ${batch.length} jobs failed; their leases will expire`, error),
                [] as ReadonlyArray<StatusChange>
              )
            )
          )
        const byId = new Map(batch.map((p) => [p.entry.row.id, p]))
        for (const p of batch) release(p.entry)
        let terminalWithCallback = false
        for (const change of changes) {
          const pending = byId.get(change.id)
          if (pending === undefined) continue
          const status: JobStatus = change.status
          yield* jobs.publish({ _tag: "status", jobId: change.id, status, terminalReason: reasonOf(change, pending) })
          yield* jobs.publish({
            _tag: "progress",
            jobId: change.id,
            progress: pending.entry.progress.toProgress(status, status === "SUCCEEDED" ? 1 : undefined)
          })
          if (status !== "QUEUED" && pending.entry.row.callbackUrl !== null) terminalWithCallback = true
        }
        if (terminalWithCallback) callbackWake.unsafeOffer(undefined)
        // type and queue limits count jobs until they are settled: a settle may open room for a claim
        claimWake.unsafeOffer(undefined)
      })

    const settler = Effect.forever(
      Effect.gen(function* () {
        const first = yield* Queue.take(settleQueue)
        const rest = yield* Queue.takeUpTo(settleQueue, settleChunk - 1)
        yield* settleBatch([first, ...rest])
      })
    )

    // --- claiming --------------------------------------------------------------------------------------------------

    const claimLoop = Effect.gen(function* () {
      while (!draining) {
        // backpressure: when settling falls behind (a slow store), held jobs pile up and claiming pauses
        const free = Math.min(config.concurrency - executing, maxHeld - held.size)
        let full = false
        if (free > 0 && config.queues.length > 0) {
          const now = yield* Clock.currentTimeMillis
          const rows = yield* store
            .claim({
              workerId,
              now,
              leaseMs: config.leaseMs,
              limit: free,
              queues: config.queues,
              typeLimits: config.typeLimits,
              queueLimits: config.queueLimits
            })
            .pipe(
              Effect.catchAll((error) =>
                Effect.as(Effect.logWarning("jobloom: claim failed", error), [] as ReadonlyArray<JobRow>)
              )
            )
          if (rows.length > 0) yield* start(rows, now)
          full = rows.length === free
        }
        // a full batch means more may be due: claim again at once; otherwise wait for a signal, a free slot or the poll
        if (!full) yield* Effect.ignore(Effect.timeout(Queue.take(claimWake), config.poll))
      }
    })

    // --- signals, heartbeats, cancel poll ----------------------------------------------------------------------------

    const signals = yield* store.subscribe
    const signalReader = Effect.forever(
      Effect.gen(function* () {
        const batch = yield* Queue.takeBetween(signals, 1, 1000)
        let wake = false
        const changed: Array<string> = []
        for (const signal of batch) {
          if (signal._tag === "Enqueued") {
            if (queueSet.has(signal.queue)) wake = true
          } else if (signal.status !== "RUNNING" && held.get(signal.id)?.phase === "running") {
            changed.push(signal.id)
          }
        }
        if (wake) claimWake.unsafeOffer(undefined)
        // signals are hints and may be stale: confirm with the store (lease owner included) before stopping anything
        if (changed.length > 0) yield* renew(changed)
      })
    )

    const heartbeats = Effect.forever(
      busy.await.pipe(
        Effect.zipRight(Effect.sleep(config.heartbeat)),
        Effect.zipRight(Effect.suspend(() => renew(Array.from(held.keys()))))
      )
    )

    const runningIds = () => {
      const ids: Array<string> = []
      for (const [id, entry] of held) if (entry.phase === "running") ids.push(id)
      return ids
    }

    const cancelPoll = Effect.forever(
      busy.await.pipe(
        Effect.zipRight(Effect.sleep(config.cancelPoll)),
        Effect.zipRight(
          Effect.suspend(() => {
            const ids = runningIds()
            if (ids.length === 0) return Effect.void
            return store.statuses({ ids }).pipe(
              Effect.flatMap((answer) => react(ids, answer)),
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
    yield* Effect.forkScoped(signalReader)
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
          log: pushLog
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
        yield* Effect.forEach(Array.from(held.values()), (entry) => stop(entry, "shutdown"), { discard: true })
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
