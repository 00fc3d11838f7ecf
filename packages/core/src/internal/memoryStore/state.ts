/**
 * The memory store's state and its one write path. Operations mutate it inside one synchronous block each, so every
 * operation is atomic (JavaScript runs a synchronous block to its end before any other fiber runs); signals are
 * published after the block, which is fine because they are hints.
 */
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import { uuidv7 } from "uuidv7"
import type { JobStatus } from "../../Job.js"
import { isTerminal } from "../../Job.js"
import type { CallbackRow, JobRow, LogRow, ResultRow, StoreSignal } from "../../JobStore.js"
import { JobStoreError } from "../../JobStore.js"
import * as Dependencies from "./dependencies.js"
import * as MemoryItems from "./items.js"
import { QueuedIndex } from "./queued.js"

/** A callback waiting for delivery. */
export interface PendingCallback extends CallbackRow {
  /** Not before this time may the callback be taken (its due time, or the end of a taker's lease). */
  readonly dueAt: number
}

/** Whether a job in this status is held by a worker's lease. */
export const held = (status: JobStatus) => status === "RUNNING" || status === "PAUSING" || status === "CANCELLING"

/** The key of an idempotency key within its owner (keys are unique per owner), or null without a key. */
const keyOf = (row: { readonly owner: string | null; readonly idempotencyKey: string | null }) =>
  row.idempotencyKey === null ? null : JSON.stringify([row.owner, row.idempotencyKey])

/** Whether a row is in the claim index: QUEUED and waiting on no dependency. */
const claimable = (row: JobRow) => row.status === "QUEUED" && (row.waitingOn ?? 0) === 0

/** Everything one memory store holds. */
export class MemoryState implements Dependencies.DependencyHost {
  /** Every job by id: the source of truth the indexes below follow. */
  readonly jobs = new Map<string, JobRow>()
  /** The QUEUED jobs that wait on no dependency, in claim order. */
  readonly queued = new QueuedIndex((row) => this.jobs.get(row.id) === row)
  /** The held (RUNNING, PAUSING, CANCELLING) jobs, which type and queue limits count. */
  readonly running = new Map<string, JobRow>()
  /** (owner, idempotencyKey) → id of the non-terminal job holding it. */
  private readonly keys = new Map<string, string>()
  /** jobId → its log lines, oldest first. */
  readonly logs = new Map<string, Array<LogRow>>()
  /** The last log line id handed out. */
  logCounter = 0
  /** The last job number handed out; never decreases, so a deleted job's number is never reused. */
  jobCounter = 0
  readonly results = new Map<string, ResultRow>()
  readonly callbacks = new Map<string, PendingCallback>()
  readonly items = MemoryItems.make((id) => this.jobs.get(id))
  /** Who waits on whom (`dependencies.ts`). */
  readonly edges = new Dependencies.DependencyEdges()
  /** Signals of dependents the current operation released or failed, published with the operation's own. */
  readonly pending: Array<StoreSignal> = []

  constructor(
    /** The hub `subscribe` reads: signals reach only this process. */
    readonly pubsub: PubSub.PubSub<StoreSignal>
  ) {}

  /** The non-terminal job holding this row's idempotency key, if any. */
  holderOf(row: { readonly owner: string | null; readonly idempotencyKey: string | null }): JobRow | undefined {
    const key = keyOf(row)
    if (key === null) return undefined
    const id = this.keys.get(key)
    return id === undefined ? undefined : this.jobs.get(id)
  }

  /** Whether the worker holds the job by this claim. */
  holds(row: JobRow | undefined, workerId: string, token: string): row is JobRow {
    return row !== undefined && row.leaseOwner === workerId && row.leaseToken === token && held(row.status)
  }

  /** Stores a row; every job write goes through here, so the indexes stay right. */
  put(row: JobRow): void {
    const prev = this.jobs.get(row.id)
    const prevKey = prev === undefined ? null : keyOf(prev)
    if (prevKey !== null && this.keys.get(prevKey) === row.id) this.keys.delete(prevKey)
    this.jobs.set(row.id, row)
    if (prev !== undefined && claimable(prev)) this.queued.markStale()
    if (claimable(row)) this.queued.add(row)
    if (held(row.status)) this.running.set(row.id, row)
    else this.running.delete(row.id)
    const key = keyOf(row)
    if (key !== null && !isTerminal(row.status)) this.keys.set(key, row.id)
  }

  /** Writes a row; a move into a terminal status with a callbackUrl also records the pending callback. */
  write(prev: JobRow, next: JobRow, now: number): void {
    this.put(next)
    // the dependents count the end in the same block (and so on down the chain)
    if (isTerminal(next.status) && !isTerminal(prev.status)) Dependencies.ended(this, next.id, next.status, now)
    if (next.callbackUrl !== null && isTerminal(next.status) && next.status !== prev.status) {
      const id = uuidv7()
      this.callbacks.set(id, {
        id,
        jobId: next.id,
        url: next.callbackUrl,
        status: next.status,
        terminalReason: next.terminalReason,
        resultId: next.resultId,
        finishedAt: next.finishedAt,
        attempts: 0,
        dueAt: now
      })
    }
  }

  /** Deletes a job with everything that hangs off it: logs, items, result and callbacks. */
  remove(id: string): void {
    const row = this.jobs.get(id)
    if (row === undefined) return
    const key = keyOf(row)
    if (key !== null && this.keys.get(key) === id) this.keys.delete(key)
    this.jobs.delete(id)
    if (claimable(row)) this.queued.markStale()
    // a job deleted before it ended is, to the jobs still waiting on it, a failed one
    if (!isTerminal(row.status)) Dependencies.ended(this, id, "FAILED", row.updatedAt)
    this.edges.drop(row)
    this.running.delete(id)
    this.logs.delete(id)
    this.items.drop(id)
    for (const [resultId, result] of this.results) if (result.jobId === id) this.results.delete(resultId)
    for (const [callbackId, callback] of this.callbacks) if (callback.jobId === id) this.callbacks.delete(callbackId)
  }

  /** Publishes signals to this process's subscribers. */
  publish(signals: ReadonlyArray<StoreSignal>): Effect.Effect<void> {
    const all = this.pending.length === 0 ? signals : [...signals, ...this.pending.splice(0)]
    return all.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(this.pubsub, all))
  }
}

/** The error of a write that would break a uniqueness rule (an existing id, a held idempotency key). */
export const conflict = (message: string) => new JobStoreError({ reason: "Conflict", message })

/** One Enqueued signal per distinct queue. */
export const enqueued = (queues: Iterable<string>): Array<StoreSignal> =>
  Array.from(new Set(queues), (queue) => ({ _tag: "Enqueued", queue }))

/** A fresh, empty state with its own signal hub. */
export const make: Effect.Effect<MemoryState> = Effect.map(
  PubSub.unbounded<StoreSignal>(),
  (pubsub) => new MemoryState(pubsub)
)
