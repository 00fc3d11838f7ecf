/**
 * The settler of remote attempts: a settle is decided at once by the engine's own `decide` (the same rules as an
 * in-process attempt: retries, backoff, timeouts, terminal reasons), then handed with the settlements that arrived
 * meanwhile, one piece per lease owner, to the process's `Settler` of the store (shared with the in-process workers),
 * with the pending log lines in the same transaction: a worker that settles a batch of jobs at once costs one
 * transaction, not one per job, and so do remote and in-process workers settling at the same time. Items are written
 * first, so a reader who sees a settled job sees its items as the worker left them.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { uuidv7 } from "uuidv7"
import type { JobEvent } from "../../Jobs.js"
import type { JobEvents } from "../jobEvents.js"
import type { JobStore, NewLog } from "../../JobStore.js"
import * as Settler from "../settler.js"
import type * as RemoteWorker from "../../RemoteWorker.js"
import { decide, type AttemptError, type Decision, type StopReason } from "../workerOutcome.js"
import type { RemoteAttempt } from "./attempt.js"
import * as EngineLines from "../engineLines.js"
import * as Reports from "./reports.js"
import * as JobMetrics from "../../JobMetrics.js"

/** Settles one attempt with the exit the worker reported and why it stopped (null: it was not told to). */
export type Settle = (
  attempt: RemoteAttempt,
  exit: Exit.Exit<string | null, AttemptError>,
  stop: Exclude<StopReason, "lost"> | null
) => Effect.Effect<RemoteWorker.Settled, RemoteWorker.AttemptError>

/** What the settler needs from the service. */
export interface SettlerHost {
  readonly store: JobStore.Service
  readonly bus: JobEvents.Service
  readonly reports: Reports.Reports
  readonly logCap: number
  /** Lets go of a settled attempt. */
  readonly forget: (attempt: RemoteAttempt) => void
  /** Why a claim no longer holds its job (a 404 or a `LeaseLost`). */
  readonly lost: (id: string) => Effect.Effect<never, RemoteWorker.AttemptError>
}

/** Starts the settler in the current scope. */
export const make = (host: SettlerHost): Effect.Effect<Settle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { bus, logCap, lost, reports, store } = host
    const forget = host.forget
    /** A decided settlement waiting for the settler, and the caller waiting for its outcome. */
    interface PendingSettle {
      readonly attempt: RemoteAttempt
      readonly decision: Decision
      readonly now: number
      readonly done: Deferred.Deferred<RemoteWorker.Settled, RemoteWorker.AttemptError>
    }
    let settleQueue: Array<PendingSettle> = []
    const settleWake = yield* Queue.dropping<void>(1)
    const clock = yield* Effect.clock
    const settler = yield* Settler.forStore(store)

    /**
     * Settles an attempt: decided here by the engine's `decide`, written by the settler with the settlements that
     * arrived meanwhile in one `settle` call per lease owner (a worker settling a batch of jobs at once costs one
     * transaction, not one per job).
     */
    const settle = (
      attempt: RemoteAttempt,
      exit: Exit.Exit<string | null, AttemptError>,
      stop: Exclude<StopReason, "lost"> | null
    ): Effect.Effect<RemoteWorker.Settled, RemoteWorker.AttemptError> =>
      Effect.suspend(() => {
        if (attempt.settled) return lost(attempt.id)
        attempt.settled = true
        reports.forget(attempt)
        const now = clock.unsafeCurrentTimeMillis()
        const decided = decide({
          row: attempt.row,
          token: attempt.token,
          type: attempt.type,
          exit,
          stop,
          now,
          progress: attempt.progress,
          newId: uuidv7
        })
        // `decide` answers null only for a lost attempt, which is never settled here
        const decision = decided === null || Effect.isEffect(decided) ? decided : Effect.succeed(decided)
        if (decision === null) return lost(attempt.id)
        return Effect.flatMap(decision, (decision) => {
          const done = Deferred.unsafeMake<RemoteWorker.Settled, RemoteWorker.AttemptError>(FiberId.none)
          settleQueue.push({ attempt, decision, now, done })
          settleWake.unsafeOffer(undefined)
          return Deferred.await(done)
        })
      })

    /** Writes one lease owner's settlements (with `carried`, the lines waiting for the flusher) and answers them. */
    const settleGroup = (
      workerId: string,
      group: ReadonlyArray<PendingSettle>,
      carried: ReadonlyArray<NewLog>,
      ends: ReadonlyMap<PendingSettle, ReadonlyArray<NewLog>>
    ) => {
      const entries: Array<NewLog> = [...carried]
      for (const pending of group) for (const line of ends.get(pending) ?? []) entries.push(line)
      const stored = EngineLines.toStore(entries)
      return Effect.flatMap(
        Effect.either(
          settler.settle({
            workerId,
            settlements: group.map((p) => p.decision.settlement),
            logs: stored,
            logCap
          })
        ),
        (written) => {
          if (Either.isLeft(written)) {
            // nothing was written: each worker may settle again, and the carried lines wait for the flusher
            reports.restoreLogs(carried)
            for (const { attempt, done } of group) {
              attempt.settled = false
              Deferred.unsafeDone(done, Effect.fail(written.left))
            }
            return Effect.void
          }
          const statuses = new Map(written.right.map((c) => [c.id, c.status]))
          const events: Array<JobEvent> = Reports.logEvents(stored)
          for (const { attempt, decision, done } of group) {
            forget(attempt)
            const status = statuses.get(attempt.id)
            if (status === undefined) {
              Deferred.unsafeDone(done, lost(attempt.id))
              continue
            }
            JobMetrics.recordFinished(attempt.row.type, attempt.row.queue, status)
            const settlement = decision.settlement
            const reason =
              status === "CANCELLED"
                ? "user"
                : settlement._tag === "Fail" && settlement.status === status
                  ? decision.reason
                  : null
            events.push(
              { _tag: "status", jobId: attempt.id, status, terminalReason: reason },
              {
                _tag: "progress",
                jobId: attempt.id,
                progress: attempt.progress.toProgress(status, status === "SUCCEEDED" ? 1 : undefined)
              }
            )
            Deferred.unsafeDone(done, Exit.succeed({ status }))
          }
          return Reports.publishAll(bus, events)
        }
      )
    }

    const settleBatch = (batch: ReadonlyArray<PendingSettle>) =>
      reports.lock.withPermits(1)(
        Effect.gen(function* () {
          // items first: a reader who sees a settled job sees its items as the worker left them
          yield* reports.flushItems
          const byOwner = new Map<string, Array<PendingSettle>>()
          for (const pending of batch) {
            const group = byOwner.get(pending.attempt.owner)
            if (group === undefined) byOwner.set(pending.attempt.owner, [pending])
            else group.push(pending)
          }
          // the lines waiting for the flusher travel with the first owner's piece: a settled job's lines are all
          // stored; the pieces are handed in together, so the process's settler writes them in one call
          // each end's engine lines: a success stores neither (the row presents them), another end its start line
          // and its end line; taken before the buffer, which a success's start line may leave
          const ends = new Map<PendingSettle, ReadonlyArray<NewLog>>()
          for (const pending of batch) {
            const { attempt, decision, now } = pending
            const end = { jobId: attempt.id, at: now, level: decision.level, message: decision.message }
            ends.set(pending, reports.ended({ ...end, token: attempt.token }, EngineLines.succeeds(decision)))
          }
          const carried = reports.takeLogs()
          yield* Effect.forEach(
            Array.from(byOwner),
            ([workerId, group], i) => settleGroup(workerId, group, i === 0 ? carried : [], ends),
            { concurrency: "unbounded", discard: true }
          )
        })
      )

    const settleAll: Effect.Effect<void> = Effect.suspend(() => {
      if (settleQueue.length === 0) return Effect.void
      const batch = settleQueue
      settleQueue = []
      return Effect.zipRight(settleBatch(batch), settleAll)
    })

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(
          Queue.take(settleWake),
          settleAll.pipe(Effect.catchAllCause((cause) => Effect.logError("jobloom remote: settling failed", cause)))
        )
      )
    )

    return settle
  })
