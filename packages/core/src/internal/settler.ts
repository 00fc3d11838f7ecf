/**
 * Settler: the process's one group commit of settlements, one per store. Every worker of the process (its
 * `Finisher`) and the remote-worker service hand it their decided settlements with the log lines that travel with
 * them; one fiber writes everything handed in meanwhile in one `settle` call, the settlements of different workers
 * side by side (each naming its lease owner), so while one batch is written the next fills from every worker, and
 * eight workers of one process cost one transaction where they would cost eight. A piece handed in while nothing is
 * written or waiting is written at once by its caller (a lone worker pays no hop to the loop). It is the only settle
 * batcher: the stores write what it hands them as one batch.
 *
 * It is shared by reference count, keyed by the store service: the first user of a store starts its settler, the
 * last one to leave stops it. A write is never interrupted, and pieces handed in before the last user left are
 * written before it stops (a leaving worker has already waited for its own).
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as JobTracing from "../JobTracing.js"
import {
  JobStore,
  type JobStoreError,
  type NewLog,
  type OwnedSettlement,
  type Settlement,
  type StatusChange
} from "../JobStore.js"

/** The settler of the store in context, shared by every worker of the process. */
export class Settler extends Context.Tag("@jobloom/core/Settler")<Settler, Settler.Service>() {}

/** The types of the `Settler` service. */
export declare namespace Settler {
  /** What one worker hands in at once: its settlements and the log lines that must be written with them. */
  export interface Piece {
    /** The lease owner of the settlements. */
    readonly workerId: string
    readonly settlements: ReadonlyArray<Settlement>
    /** Lines appended in the same transaction (a settled job's lines are stored when its settlement is). */
    readonly logs: ReadonlyArray<NewLog>
    /** The worker's per-job line cap (pieces of one write share it). */
    readonly logCap: number
  }

  /** What the workers call. */
  export interface Service {
    /**
     * Writes the piece with what else is pending, in one `settle` call; answers the changes of the piece's own
     * settlements, in its order. A failure means nothing of the piece was written (the caller may hand it in again).
     */
    readonly settle: (piece: Piece) => Effect.Effect<ReadonlyArray<StatusChange>, JobStoreError>
  }
}

/**
 * Settlements per `settle` call at most (a piece is never split: one larger than this is written alone). Each
 * worker hands in at most its own chunk (`worker/Config.settleChunk`), so a few workers' pieces fill one call.
 */
export const groupMax = 2_000

/** A piece waiting for the next write, and its caller. */
interface Waiting {
  readonly piece: Settler.Piece
  readonly done: Deferred.Deferred<ReadonlyArray<StatusChange>, JobStoreError>
}

/** A running settler: its service, its loop and what is waiting. */
interface Running {
  readonly service: Settler.Service
  readonly fiber: Fiber.RuntimeFiber<never>
  /** Waits for the write in flight, then writes everything waiting (run when the loop stopped: nothing is left). */
  readonly drain: Effect.Effect<void>
  users: number
}

/** Takes the next write's pieces off `waiting`: one log cap, each job in one piece, up to `groupMax` settlements. */
const nextGroup = (waiting: Array<Waiting>): { readonly group: Array<Waiting>; readonly rest: Array<Waiting> } => {
  const group: Array<Waiting> = []
  const rest: Array<Waiting> = []
  const ids = new Set<string>()
  const cap = waiting[0]!.piece.logCap
  let count = 0
  for (const w of waiting) {
    const { settlements } = w.piece
    // a job settled by two claims (a lost one and the holder) goes in two writes, so each answer is its own
    const fits =
      w.piece.logCap === cap &&
      (group.length === 0 || count + settlements.length <= groupMax) &&
      settlements.every((s) => !ids.has(s.id))
    if (!fits) {
      rest.push(w)
      continue
    }
    for (const s of settlements) ids.add(s.id)
    count += settlements.length
    group.push(w)
  }
  return { group, rest }
}

/** Starts the settler of `store`: its loop runs detached from the caller, until the last user stops it. */
const start = (store: JobStore.Service): Effect.Effect<Running> =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock
    const wake = yield* Queue.dropping<void>(1)
    let waiting: Array<Waiting> = []

    /** One `settle` call for the group; each caller gets the changes of its own settlements. */
    const write = (group: ReadonlyArray<Waiting>): Effect.Effect<void> => {
      const first = group[0]!.piece
      const settlements: Array<OwnedSettlement> = []
      const logs: Array<NewLog> = []
      for (const { piece } of group) {
        for (const s of piece.settlements)
          settlements.push(piece.workerId === first.workerId ? s : { ...s, workerId: piece.workerId })
        for (const line of piece.logs) logs.push(line)
      }
      return Effect.suspend(() =>
        JobTracing.settle(
          store.settle({
            workerId: first.workerId,
            now: clock.unsafeCurrentTimeMillis(),
            settlements,
            logs: logs.length === 0 ? undefined : { entries: logs, cap: first.logCap }
          }),
          { workerId: first.workerId, count: settlements.length }
        )
      ).pipe(
        Effect.exit,
        Effect.map((exit) => {
          if (Exit.isFailure(exit) || group.length === 1) {
            for (const { done } of group) Deferred.unsafeDone(done, exit)
            return
          }
          const statuses = new Map(exit.value.map((c) => [c.id, c.status]))
          for (const { done, piece } of group) {
            const changes: Array<StatusChange> = []
            for (const { id } of piece.settlements) {
              const status = statuses.get(id)
              if (status !== undefined) changes.push({ id, status })
            }
            Deferred.unsafeDone(done, Exit.succeed(changes))
          }
        })
      )
    }

    /** Whether a write is in flight (by the loop, or by a caller that found the settler idle); `idle` opens when not. */
    let writing = false
    const idle = yield* Effect.makeLatch(true)
    const setWriting = (value: boolean) => {
      writing = value
      if (value) idle.unsafeClose()
      else idle.unsafeOpen()
    }

    /** Writes until nothing waits; uninterruptible, so a write in flight is never cut. */
    const drain: Effect.Effect<void> = Effect.uninterruptible(
      Effect.suspend(function loop(): Effect.Effect<void> {
        if (waiting.length === 0) {
          setWriting(false)
          return Effect.void
        }
        setWriting(true)
        const { group, rest } = nextGroup(waiting)
        waiting = rest
        return Effect.zipRight(write(group), Effect.suspend(loop))
      })
    )

    // interruptible between writes (it is started inside an acquire, which is not), never within one
    const fiber = yield* Effect.forkDaemon(
      Effect.interruptible(Effect.forever(Effect.zipRight(Queue.take(wake), drain)))
    )
    const service: Settler.Service = {
      settle: (piece) =>
        Effect.suspend(() => {
          if (piece.settlements.length === 0 && piece.logs.length === 0) return Effect.succeed([])
          const done = Deferred.unsafeMake<ReadonlyArray<StatusChange>, JobStoreError>(FiberId.none)
          if (!writing && waiting.length === 0) {
            // idle: the caller writes its own piece, without a hop to the loop (a lone worker always finds it so);
            // what others hand in meanwhile waits for the loop, woken when this write ends
            setWriting(true)
            return Effect.zipRight(
              Effect.uninterruptible(
                Effect.ensuring(
                  write([{ piece, done }]),
                  Effect.sync(() => {
                    setWriting(false)
                    if (waiting.length > 0) wake.unsafeOffer(undefined)
                  })
                )
              ),
              Deferred.await(done)
            )
          }
          // a write is in flight (its writer drains what waits, or wakes the loop to) or the loop is about to run
          waiting.push({ piece, done })
          return Deferred.await(done)
        })
    }
    return { service, fiber, drain: Effect.zipRight(idle.await, drain), users: 0 }
  })

/** The running settler of each store in this process. */
const running = new Map<JobStore.Service, Running>()

/** The settler of `store` for the life of the scope: the running one, or a new one when this is its first user. */
export const forStore = (store: JobStore.Service): Effect.Effect<Settler.Service, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const found = running.get(store)
      if (found !== undefined) {
        found.users++
        return Effect.succeed(found)
      }
      return Effect.flatMap(start(store), (fresh) =>
        Effect.suspend(() => {
          // another user may have started one while this one started: the first registered is the one
          const raced = running.get(store)
          if (raced !== undefined) {
            raced.users++
            return Effect.as(Fiber.interrupt(fresh.fiber), raced)
          }
          fresh.users = 1
          running.set(store, fresh)
          return Effect.succeed(fresh)
        })
      )
    }),
    (entry) =>
      Effect.suspend(() => {
        if (--entry.users > 0) return Effect.void
        if (running.get(store) === entry) running.delete(store)
        // the loop stops between writes; what was handed in after its last write is written here
        return Effect.zipRight(Fiber.interrupt(entry.fiber), entry.drain)
      })
  ).pipe(Effect.map((entry) => entry.service))

/** The settler of the store in context, shared with every other user of the same store service in this process. */
export const layer: Layer.Layer<Settler, never, JobStore> = Layer.scoped(Settler, Effect.flatMap(JobStore, forStore))
