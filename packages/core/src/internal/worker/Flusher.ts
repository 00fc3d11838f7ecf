/**
 * Flusher: coalesced writes of what running attempts report. Progress marks an attempt dirty, log lines go to a
 * buffer, items mark their attempt's items changed; the first change arms one timer, and when it fires every dirty
 * progress, buffered line and changed item is written in one call each. A handler may report thousands of times a
 * second while the store sees a few writes (DESIGN §4.2). The settler takes the buffered lines into its own write
 * (`withLogs`), under the same lock, so lines stay in order.
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { formatTime, type LogLevel } from "../../Job.js"
import type { JobEvent } from "../../Jobs.js"
import { JobStore, type NewLog, type ProgressUpdate } from "../../JobStore.js"
import type { ItemsHost } from "../attemptItems.js"
import * as ItemsFlusher from "../itemsFlusher.js"
import * as EngineLines from "../engineLines.js"
import { JobEvents } from "../jobEvents.js"
import type { Attempt } from "./Attempt.js"
import { Config } from "./Config.js"

/** The progress, log and items writer of one worker. */
export class Flusher extends Context.Tag("@jobloom/core/worker/Flusher")<Flusher, Flusher.Service>() {}

/** The types of the `Flusher` service. */
export declare namespace Flusher {
  /** What the other parts call. */
  export interface Service {
    /** Buffers a line; an attempt's lines carry its claim's token, so a late line of a lost attempt is dropped. */
    readonly log: (jobId: string, at: number, level: LogLevel, message: string, token?: string) => void
    /** An attempt started: its start line waits aside until its first own line, or its end (see `engineLines`). */
    readonly started: (line: NewLog & { readonly token: string }) => void
    /** An attempt ended with `end`: a success stores no line, another end its start line and `end`. */
    readonly ended: (end: NewLog & { readonly token: string }, succeeded: boolean) => void
    /** The attempt's progress changed. */
    readonly markDirty: (attempt: Attempt) => void
    /** Forgets a released attempt's unwritten progress (it was settled with its final progress). */
    readonly forget: (attempt: Attempt) => void
    /** The items host of one attempt, whose writes are guarded by its claim's `token`. */
    readonly itemsHost: (token: string) => ItemsHost
    /** Writes changed items now. */
    readonly flushItems: Effect.Effect<void>
    /** Writes everything pending now. */
    readonly flushAll: Effect.Effect<void>
    /** Takes every buffered line into `write`, under the log lock; their log events follow a successful write. */
    readonly withLogs: <A, E>(write: (entries: ReadonlyArray<NewLog>) => Effect.Effect<A, E>) => Effect.Effect<A, E>
    /** Publishes log events of lines just written, when someone listens. */
    readonly publishLogs: (entries: ReadonlyArray<NewLog>) => Effect.Effect<void>
    /** The flush loop, forever (forked by the worker). */
    readonly run: Effect.Effect<never>
  }
}

/** Builds the flusher of one worker. */
export const make = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* JobStore
  const events = yield* JobEvents
  const clock: Clock.Clock = yield* Effect.clock
  const { workerId } = config
  const wake = yield* Queue.dropping<void>(1)
  const logLock = yield* Effect.makeSemaphore(1)
  const items = yield* ItemsFlusher.make(store, workerId)
  const dirty = new Set<Attempt>()
  let lines: Array<NewLog> = []
  const starts = new EngineLines.Starts()
  let armed = false

  const arm = () => {
    if (!armed) {
      armed = true
      wake.unsafeOffer(undefined)
    }
  }

  const publishLogs = (entries: ReadonlyArray<NewLog>): Effect.Effect<void> => {
    if (!events.listening()) return Effect.void
    // the live start and success lines are published without being stored (see `engineLines`)
    const published = EngineLines.toPublish(entries)
    return published.length === 0
      ? Effect.void
      : events.publishAll(
          published.map((line): JobEvent => ({
            _tag: "log",
            jobId: line.jobId,
            at: formatTime(line.at),
            level: line.level,
            message: line.message
          }))
        )
  }

  const withLogs = <A, E>(write: (entries: ReadonlyArray<NewLog>) => Effect.Effect<A, E>) =>
    logLock.withPermits(1)(
      Effect.suspend(() => {
        const entries = lines
        lines = []
        starts.written()
        return write(EngineLines.toStore(entries))
      })
    )

  const flushLogs = withLogs((entries) =>
    entries.length === 0
      ? publishLogs(entries)
      : Effect.zipRight(store.appendLogs({ entries, cap: config.logCap }), publishLogs(entries)).pipe(
          Effect.catchAll((error) => Effect.logWarning(`jobloom: dropped ${entries.length} log lines`, error))
        )
  )

  const flushProgress = Effect.suspend(() => {
    if (dirty.size === 0) return Effect.void
    const updates: Array<ProgressUpdate> = []
    const published: Array<JobEvent> = []
    const listening = events.listening()
    for (const attempt of dirty) {
      if (!attempt.running) continue
      const progress = attempt.progress.toProgress("RUNNING")
      attempt.progress.dirty = false
      const checkpoint = attempt.progress.checkpoint
      updates.push(
        checkpoint === undefined
          ? { id: attempt.id, token: attempt.token, progress: JSON.stringify(progress) }
          : { id: attempt.id, token: attempt.token, progress: JSON.stringify(progress), checkpoint }
      )
      if (listening) published.push({ _tag: "progress", jobId: attempt.id, progress })
    }
    dirty.clear()
    if (updates.length === 0) return Effect.void
    const now = clock.unsafeCurrentTimeMillis()
    return store.saveProgress({ workerId, now, updates }).pipe(
      Effect.zipRight(events.publishAll(published)),
      Effect.catchAll((error) => Effect.logWarning("jobloom: saving progress failed", error))
    )
  })

  const flushAll = Effect.zipRight(items.flush, Effect.zipRight(flushProgress, flushLogs))

  const service: Flusher.Service = {
    log: (jobId, at, level, message, token) => {
      const start = starts.before(jobId, token)
      if (start !== undefined) lines.push(start)
      lines.push(token === undefined ? { jobId, at, level, message } : { jobId, at, level, message, token })
      arm()
    },
    started: (line) => {
      const live = starts.started(line, events.listening())
      if (live !== undefined) {
        lines.push(live)
        arm()
      }
    },
    ended: (end, succeeded) => {
      const add = EngineLines.endLines(starts, lines, end, succeeded, events.listening())
      if (add.length === 0) return
      for (const line of add) lines.push(line)
      arm()
    },
    markDirty: (attempt) => {
      dirty.add(attempt)
      arm()
    },
    forget: (attempt) => {
      dirty.delete(attempt)
      starts.forget(attempt.id, attempt.token)
    },
    itemsHost: (token) => items.host(arm, token),
    flushItems: items.flush,
    flushAll,
    withLogs,
    publishLogs,
    run: Effect.forever(
      Queue.take(wake).pipe(
        Effect.zipRight(Effect.sleep(config.flush)),
        Effect.zipRight(
          Effect.suspend(() => {
            armed = false
            return flushAll
          })
        )
      )
    )
  }
  return service
})

/** The flusher, over the worker's config and the store (and the event bus, a reference). */
export const layer: Layer.Layer<Flusher, never, Config | JobStore> = Layer.effect(Flusher, make)
