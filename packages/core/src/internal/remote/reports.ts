/**
 * What remote workers reported and this process has not written yet: progress and items of attempts, and log lines.
 * Reports only change memory; one flusher writes them every flush interval in batches (one write per lease owner and
 * kind), so a worker may report many times a second while the store sees a few writes. The lock keeps flushes and
 * settles one at a time: an older state never lands after a newer one, and lines stay in order.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as EngineLines from "../engineLines.js"
import * as Job from "../../Job.js"
import type { JobEvent } from "../../Jobs.js"
import type { JobEvents } from "../jobEvents.js"
import type { ItemRow, JobStore, LeaseRef, NewLog, ProgressUpdate } from "../../JobStore.js"
import type { RemoteAttempt } from "./attempt.js"

/** The pending reports of every remote attempt of this process. */
export interface Reports {
  /** Held by every flush and settle. */
  readonly lock: Effect.Semaphore
  /** The attempt's progress changed. */
  readonly progressChanged: (attempt: RemoteAttempt) => void
  /** The attempt's items changed. */
  readonly itemsChanged: (attempt: RemoteAttempt) => void
  /** Buffers a log line (with its claim's token). */
  readonly log: (line: NewLog) => void
  /** An attempt started: its start line waits aside until its first own line, or its end (see `engineLines`). */
  readonly started: (line: NewLog & { readonly token: string }) => void
  /**
   * The lines an attempt's end (`end`) travels with: none stored for a success (whose start line, when buffered and
   * not written yet, is taken back out), else its start line and `end`. Called before the settle takes the buffer.
   */
  readonly ended: (end: NewLog & { readonly token: string }, succeeded: boolean) => ReadonlyArray<NewLog>
  /** Drops the start line of an attempt that ended unwritten (lost). */
  readonly dropStart: (jobId: string, token: string) => void
  /** Takes every buffered line, to travel with a settle in its transaction. */
  readonly takeLogs: () => Array<NewLog>
  /** Puts lines back in front of the buffer (the settle that took them wrote nothing). */
  readonly restoreLogs: (lines: ReadonlyArray<NewLog>) => void
  /** Drops the attempt's pending progress and items (settled or lost). */
  readonly forget: (attempt: RemoteAttempt) => void
  /** Writes pending items; the caller holds the lock. */
  readonly flushItems: Effect.Effect<void>
  /** Writes everything pending, under the lock. */
  readonly flushAll: Effect.Effect<void>
}

/** Publishes events in order. */
export const publishAll = (bus: JobEvents.Service, events: ReadonlyArray<JobEvent>): Effect.Effect<void> =>
  bus.publishAll(events)

/** The log events of lines just stored (with the live lines that are published, not stored: see `engineLines`). */
export const logEvents = (entries: ReadonlyArray<NewLog>): Array<JobEvent> =>
  EngineLines.toPublish(entries).map((line) => ({
    _tag: "log",
    jobId: line.jobId,
    at: Job.formatTime(line.at),
    level: line.level,
    message: line.message
  }))

/** Builds the reports of a remote-worker service, with their flusher in the current scope. */
export const make = (
  store: JobStore.Service,
  bus: JobEvents.Service,
  options: { readonly flushInterval: Duration.Duration; readonly logCap: number }
): Effect.Effect<Reports, never, Scope.Scope> =>
  Effect.gen(function* () {
    const dirtyProgress = new Set<RemoteAttempt>()
    const dirtyItems = new Set<RemoteAttempt>()
    let logBuffer: Array<NewLog> = []
    const starts = new EngineLines.Starts()
    const lock = yield* Effect.makeSemaphore(1)
    const flushWake = yield* Queue.dropping<void>(1)
    let flushArmed = false
    const armFlush = () => {
      if (!flushArmed) {
        flushArmed = true
        flushWake.unsafeOffer(undefined)
      }
    }

    const flushItems = Effect.suspend(() => {
      if (dirtyItems.size === 0) return Effect.void
      const byOwner = new Map<string, { leases: Array<LeaseRef>; rows: Array<ItemRow> }>()
      for (const attempt of dirtyItems) {
        const rows = attempt.items?.drain() ?? []
        if (rows.length === 0) continue
        let group = byOwner.get(attempt.owner)
        if (group === undefined) byOwner.set(attempt.owner, (group = { leases: [], rows: [] }))
        group.leases.push({ id: attempt.id, token: attempt.token })
        group.rows.push(...rows)
      }
      dirtyItems.clear()
      return Effect.forEach(
        byOwner,
        ([workerId, group]) =>
          store
            .saveItems({ workerId, leases: group.leases, items: group.rows })
            .pipe(Effect.catchAll((error) => Effect.logWarning("jobloom remote: saving items failed", error))),
        { discard: true }
      )
    })

    const flushProgress = Effect.suspend(() => {
      if (dirtyProgress.size === 0) return Effect.void
      const byOwner = new Map<string, Array<ProgressUpdate>>()
      const events: Array<JobEvent> = []
      for (const attempt of dirtyProgress) {
        const progress = attempt.progress.toProgress("RUNNING")
        attempt.progress.dirty = false
        let updates = byOwner.get(attempt.owner)
        if (updates === undefined) byOwner.set(attempt.owner, (updates = []))
        const checkpoint = attempt.progress.checkpoint
        updates.push({
          id: attempt.id,
          token: attempt.token,
          progress: JSON.stringify(progress),
          ...(checkpoint === undefined ? {} : { checkpoint })
        })
        events.push({ _tag: "progress", jobId: attempt.id, progress })
      }
      dirtyProgress.clear()
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.forEach(byOwner, ([workerId, updates]) => store.saveProgress({ workerId, now, updates }), {
          discard: true
        }).pipe(
          Effect.zipRight(publishAll(bus, events)),
          Effect.catchAll((error) => Effect.logWarning("jobloom remote: saving progress failed", error))
        )
      )
    })

    const flushLogs = Effect.suspend(() => {
      if (logBuffer.length === 0) return Effect.void
      const entries = EngineLines.toStore(logBuffer)
      logBuffer = []
      starts.written()
      const written = entries.length === 0 ? Effect.void : store.appendLogs({ entries, cap: options.logCap })
      return written.pipe(
        Effect.zipRight(publishAll(bus, logEvents(entries))),
        Effect.catchAll((error) => Effect.logWarning(`jobloom remote: dropped ${entries.length} log lines`, error))
      )
    })

    const flushAll = lock.withPermits(1)(Effect.zipRight(flushItems, Effect.zipRight(flushProgress, flushLogs)))

    yield* Effect.forkScoped(
      Effect.forever(
        Queue.take(flushWake).pipe(
          Effect.zipRight(Effect.sleep(options.flushInterval)),
          Effect.zipRight(
            Effect.suspend(() => {
              flushArmed = false
              return flushAll
            })
          )
        )
      )
    )
    yield* Effect.addFinalizer(() => flushAll)

    return {
      lock,
      progressChanged: (attempt) => {
        dirtyProgress.add(attempt)
        armFlush()
      },
      itemsChanged: (attempt) => {
        dirtyItems.add(attempt)
        armFlush()
      },
      log: (line) => {
        const start = starts.before(line.jobId, line.token)
        if (start !== undefined) logBuffer.push(start)
        logBuffer.push(line)
        armFlush()
      },
      started: (line) => {
        const live = starts.started(line, bus.listening())
        if (live !== undefined) {
          logBuffer.push(live)
          armFlush()
        }
      },
      ended: (end, succeeded) => EngineLines.endLines(starts, logBuffer, end, succeeded, bus.listening()),
      dropStart: (jobId, token) => starts.forget(jobId, token),
      takeLogs: () => {
        const lines = logBuffer
        logBuffer = []
        starts.written()
        return lines
      },
      restoreLogs: (lines) => {
        logBuffer = [...lines, ...logBuffer]
      },
      forget: (attempt) => {
        dirtyProgress.delete(attempt)
        dirtyItems.delete(attempt)
      },
      flushItems,
      flushAll
    }
  })
