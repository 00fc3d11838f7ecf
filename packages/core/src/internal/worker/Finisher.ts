/**
 * Finisher: the worker's side of settling. Ended attempts queue here with their verdicts; one fiber takes everything
 * queued (up to a chunk), runs the rare verdict that needs an Effect, and hands the batch, with every pending log line
 * of the worker, to the process's `Settler` (the one group commit of the store, shared by every worker of the
 * process). While one batch is written the next fills. After the write it releases the attempts, publishes their
 * status and progress, and wakes the claimer and callback delivery.
 */
import * as JobMetrics from "../../JobMetrics.js"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type { TerminalReason } from "../../Job.js"
import type { JobEvent } from "../../Jobs.js"
import type { StatusChange } from "../../JobStore.js"
import { succeeds } from "../engineLines.js"
import { JobEvents } from "../jobEvents.js"
import { Settler } from "../settler.js"
import type { Decision } from "../workerOutcome.js"
import type { Attempt } from "./Attempt.js"
import { Config, settleChunk } from "./Config.js"
import { Flusher } from "./Flusher.js"
import { Held } from "./Held.js"
import { Wakes } from "./Wakes.js"
import { Runs } from "../metricRuns.js"

/** The settle queue of one worker. */
export class Finisher extends Context.Tag("@jobloom/core/worker/Finisher")<Finisher, Finisher.Service>() {}

/** The types of the `Finisher` service. */
export declare namespace Finisher {
  /** What the other parts call. */
  export interface Service {
    /** Queues an ended attempt (its verdict is set) for the next batch. */
    readonly submit: (attempt: Attempt) => void
    /** The settle loop, forever (forked by the worker). */
    readonly run: Effect.Effect<never>
  }
}

// a failed settle is retried for about half a minute; after that the lease expiry hands the job to the rescuer
const settleRetry = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(5))),
  Schedule.intersect(Schedule.recurs(10))
)

/** An attempt with its decision, ready to write. */
interface Pending {
  readonly attempt: Attempt
  readonly decision: Decision
}

const reasonOf = (change: StatusChange, pending: Pending): TerminalReason | null => {
  if (change.status === "CANCELLED") return "user"
  const settlement = pending.decision.settlement
  return settlement._tag === "Fail" && change.status === settlement.status ? pending.decision.reason : null
}

/** Builds the settle queue of one worker. */
export const make = Effect.gen(function* () {
  const config = yield* Config
  const settler = yield* Settler
  const events = yield* JobEvents
  const flusher = yield* Flusher
  const held = yield* Held
  const wakes = yield* Wakes
  const { workerId } = config
  const wake = yield* Queue.dropping<void>(1)
  /** Attempts that ended and wait for the next batch. */
  let finished: Array<Attempt> = []
  let armed = false

  const accept = (attempt: Attempt, decision: Decision | null, pending: Array<Pending>): void => {
    if (decision === null) {
      held.release(attempt)
      flusher.forget(attempt)
      return
    }
    flusher.ended(
      {
        jobId: attempt.id,
        at: attempt.endedAt,
        level: decision.level,
        message: decision.message,
        token: attempt.token
      },
      succeeds(decision)
    )
    pending.push({ attempt, decision })
  }

  /** Decides every attempt of the batch, in order; only the rare verdict that needs an Effect leaves the loop. */
  const decideAll = (
    batch: ReadonlyArray<Attempt>,
    from: number,
    pending: Array<Pending>
  ): Effect.Effect<Array<Pending>> => {
    for (let i = from; i < batch.length; i++) {
      const attempt = batch[i]
      const verdict = attempt.verdict
      switch (verdict._tag) {
        case "Deciding":
          return Effect.flatMap(verdict.decision, (decided) => {
            attempt.row = undefined
            attempt.context = undefined
            accept(attempt, decided, pending)
            return decideAll(batch, i + 1, pending)
          })
        case "Decision":
          accept(attempt, verdict, pending)
          break
        case "Lost":
        case "Running":
          // a running attempt never gets here; a lost one is released unwritten
          accept(attempt, null, pending)
      }
    }
    return Effect.succeed(pending)
  }

  const afterSettle = (batch: ReadonlyArray<Pending>, changes: ReadonlyArray<StatusChange>): Effect.Effect<void> => {
    const byId = new Map<string, Pending>()
    for (const p of batch) {
      byId.set(p.attempt.id, p)
      held.release(p.attempt)
      flusher.forget(p.attempt)
    }
    const listening = events.listening()
    const published: Array<JobEvent> = []
    let terminalWithCallback = false
    // the finished counter once per run of one type, queue and status (a batch mostly shares them)
    const finished = new Runs<StatusChange["status"]>((type, queue, status, count) =>
      JobMetrics.recordFinished(type, queue, status, count)
    )
    for (const change of changes) {
      const pending = byId.get(change.id)
      if (pending === undefined) continue
      const status = change.status
      finished.add(pending.attempt.jobType, pending.attempt.queue, status)
      if (listening) {
        published.push({ _tag: "status", jobId: change.id, status, terminalReason: reasonOf(change, pending) })
        published.push({
          _tag: "progress",
          jobId: change.id,
          progress: pending.attempt.progress.toProgress(status, status === "SUCCEEDED" ? 1 : undefined)
        })
      }
      if (status !== "QUEUED" && pending.attempt.callbackUrl !== null) terminalWithCallback = true
    }
    finished.flush()
    if (terminalWithCallback) wakes.wakeCallbacks()
    // type and queue limits count jobs until they are settled: a settle may open room for a claim
    wakes.roomMade()
    return published.length === 0 ? Effect.void : events.publishAll(published)
  }

  // Every pending log line (the batch's end lines among them, and the start lines of attempts that ended within a
  // flush interval) travels in the settle's own transaction: a reader who sees a settled job sees its lines, and a
  // short job costs one write. The log lock keeps lines in order against the flusher.
  const settleBatch = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
    batch.length === 0
      ? Effect.void
      : flusher
          .withLogs((entries) =>
            settler
              .settle({
                workerId,
                settlements: batch.map((p) => p.decision.settlement),
                logs: entries,
                logCap: config.logCap
              })
              .pipe(
                Effect.retry(settleRetry),
                Effect.tap(() => flusher.publishLogs(entries)),
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
          )
          .pipe(Effect.flatMap((changes) => afterSettle(batch, changes)))

  /** Settles every ended attempt, in chunks, until none is left. */
  const settleFinished: Effect.Effect<void> = Effect.suspend(() => {
    if (finished.length === 0) return Effect.void
    let batch: Array<Attempt>
    if (finished.length <= settleChunk) {
      batch = finished
      finished = []
    } else {
      batch = finished.splice(0, settleChunk)
    }
    // the batch's items are written first: a reader who sees a settled job sees its items as the handler left them
    return Effect.zipRight(flusher.flushItems, decideAll(batch, 0, [])).pipe(
      Effect.flatMap(settleBatch),
      Effect.zipRight(settleFinished)
    )
  })

  const service: Finisher.Service = {
    submit: (attempt) => {
      finished.push(attempt)
      if (!armed) {
        armed = true
        wake.unsafeOffer(undefined)
      }
    },
    run: Effect.forever(
      Effect.zipRight(
        Queue.take(wake),
        Effect.suspend(() => {
          armed = false
          return settleFinished
        })
      )
    )
  }
  return service
})

/** The settle queue, over the worker's other parts and the process's settler of the store. */
export const layer: Layer.Layer<Finisher, never, Config | Settler | Flusher | Held | Wakes> = Layer.effect(
  Finisher,
  make
)
