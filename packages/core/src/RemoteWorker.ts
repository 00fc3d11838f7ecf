/**
 * Remote workers: the operations a process that is not a jobloom worker (a Python service on a GPU machine, reached
 * over HTTP) needs to run jobs with the same rules as an in-process worker. It claims jobs with a lease and a fresh
 * token per claim, renews the lease by heartbeats that tell it of a cancel, reports progress, items and log lines
 * (coalesced here, as an in-process worker coalesces its handler's reports), and settles each attempt; the engine
 * decides retries, backoff, timeouts and terminal reasons exactly as for an in-process attempt
 * (`internal/workerOutcome.ts`). Every write names the claim's token: a write about a claim that no longer holds the
 * job changes nothing and fails with `LeaseLost`.
 *
 * Leases and timeouts of a remote attempt: the lease is `leaseDuration` (default 30 s) from the claim or the last
 * heartbeat; a worker that stops calling loses the job when it expires, and the rescuer (run here every second over
 * the leases this process handed out, and by every in-process worker's maintenance) returns it to QUEUED or
 * FAILED/`stalled`. The job's `timeoutMs` and `deadline` are checked at each call of the worker: the first call past
 * either settles the attempt as an in-process timeout or deadline would (a heartbeat answers with `stop`); a worker
 * that stays silent past them is rescued when its lease expires (and a deadline is also expired by maintenance).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as internal from "./internal/remote/remoteWorker.js"
import { JobStatus, type Job, type LogLevel, type StageStatus } from "./Job.js"
import type { InvalidInput, JobNotFound, UnknownJobType } from "./JobError.js"
import type { JobStore, JobStoreError } from "./JobStore.js"
import type { JobRegistry } from "./JobType.js"
import type { Jobs } from "./Jobs.js"

/** Options of {@link layer}. */
export interface RemoteWorkerOptions {
  /** Lease of a remote claim, renewed by each heartbeat. Default 30 s. */
  readonly leaseDuration?: Duration.DurationInput
  /** How often reported progress, items and log lines are written. Default 250 ms. */
  readonly flushInterval?: Duration.DurationInput
  /** Fallback poll of a waiting claim when no store signal arrives (signals are hints). Default 1 s. */
  readonly pollInterval?: Duration.DurationInput
  /** How often this process rescues the expired leases it handed out. Default 1 s. */
  readonly rescueInterval?: Duration.DurationInput
  /** Limits per queue across every worker of the store, as `WorkerOptions.queueLimits`. */
  readonly queueLimits?: Readonly<Record<string, number>>
  /** Log lines kept per job. Default 10 000. */
  readonly logCap?: number
}

/** Longest wait a claim may ask for, in milliseconds (30 s). */
export const maxWaitMs = 30_000

/** Most jobs one claim may take. */
export const maxClaimLimit = 100

/** What a remote worker asks for when it claims. */
export interface ClaimRequest {
  /** Names the worker in leases (shown as `remote:<workerId>`) and logs. */
  readonly workerId: string
  /** The job types the worker serves: each must be registered in this process (a definition suffices). */
  readonly types: ReadonlyArray<string>
  /** Queues to claim from. Default: the queues of `types`. */
  readonly queues?: ReadonlyArray<string>
  /** Jobs at most, 1 to {@link maxClaimLimit}. Default 1. */
  readonly limit?: number
  /** Wait up to this long (ms, 0 to {@link maxWaitMs}) for a job when none is due. Default 0. */
  readonly waitMs?: number
}

/** One claimed job. */
export interface Claimed {
  /** The job as claimed: RUNNING, with this attempt's number in `attempt`. */
  readonly job: Job
  /** The claim's token: every later call about this job must present it. */
  readonly token: string
  /** When the lease expires unless renewed by a heartbeat. */
  readonly leaseExpiresAt: string
  /** How often the worker should heartbeat (a third of the lease), in milliseconds. */
  readonly heartbeatMs: number
}

/** Why a remote attempt should stop: cancelled, or past its timeout or the job's deadline (then already settled). */
export type StopReason = "cancel" | "timeout" | "deadline"

/** The answer to a heartbeat. */
export interface HeartbeatAnswer {
  /** The job's status after the heartbeat. */
  readonly status: JobStatus
  /** Stop working on the job, and why; null: keep going. After `cancel`, settle (either settle call: it is CANCELLED). */
  readonly stop: StopReason | null
  /** When the renewed lease expires; null when the attempt was settled by this heartbeat. */
  readonly leaseExpiresAt: string | null
}

/** A stage report: any of status, progress (never lowered within the attempt) and params by key. */
export interface StageReport {
  readonly key: string
  readonly status?: StageStatus
  readonly progress?: number
  readonly params?: Readonly<Record<string, unknown>>
}

/** A progress report: stages, and bare item counters for jobs whose items have no names. */
export interface ProgressReport {
  readonly stages?: ReadonlyArray<StageReport>
  readonly items?: { readonly total?: number; readonly completed?: number; readonly failed?: number }
}

/** A named item's new state: PENDING adds it (with its input), RUNNING starts it, SUCCEEDED/FAILED end it. */
export interface ItemReport {
  readonly key: string
  readonly status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED"
  readonly input?: unknown
  readonly output?: unknown
  readonly error?: string
}

/** A log line of the attempt. */
export interface LogLine {
  readonly level: LogLevel
  readonly message: string
}

/** How a remote attempt failed. */
export interface Failure {
  readonly message: string
  /** Retry with the type's backoff while attempts are left. Default true. */
  readonly retryable?: boolean
  /** Recorded when not retried. Default `error`. */
  readonly terminalReason?: "error" | "threshold"
}

/** The job's status after a settle. */
export interface Settled {
  readonly status: JobStatus
}

/** The claim no longer holds the job (settled, rescued, expired, claimed again): nothing was written. */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  jobId: Schema.String,
  /** The job's status now. */
  status: JobStatus
}) {
  override get message() {
    return `the token no longer holds job ${this.jobId} (it is ${this.status})`
  }
}

/** Errors of the calls about one claimed job. */
export type AttemptError = JobNotFound | LeaseLost | JobStoreError

/** The service Tag. */
export class RemoteWorker extends Context.Tag("@jobloom/core/RemoteWorker")<RemoteWorker, RemoteWorker.Service>() {}

/** The types of the `RemoteWorker` service. */
export declare namespace RemoteWorker {
  /** The remote-worker service. */
  export interface Service {
    /** Claims due jobs of the served types, waiting up to `waitMs` for one when none is due. */
    readonly claim: (
      request: ClaimRequest
    ) => Effect.Effect<ReadonlyArray<Claimed>, InvalidInput | UnknownJobType | JobStoreError>
    /** Renews the lease; answers whether to stop. */
    readonly heartbeat: (id: string, token: string) => Effect.Effect<HeartbeatAnswer, AttemptError>
    /** Reports stage progress and params, and bare item counters (coalesced). */
    readonly progress: (id: string, token: string, report: ProgressReport) => Effect.Effect<void, AttemptError>
    /** Reports named items (coalesced; an item output is encoded by the type's `items.output` Schema). */
    readonly items: (id: string, token: string, items: ReadonlyArray<ItemReport>) => Effect.Effect<void, AttemptError>
    /** Appends log lines (coalesced). */
    readonly log: (id: string, token: string, lines: ReadonlyArray<LogLine>) => Effect.Effect<void, AttemptError>
    /**
     * Settles the attempt as succeeded with `result` (the encoded form of the type's result Schema; undefined stores
     * no result). A result the Schema refuses is an `InvalidInput` naming `result`, and nothing is settled.
     */
    readonly succeed: (
      id: string,
      token: string,
      result?: unknown
    ) => Effect.Effect<Settled, AttemptError | InvalidInput>
    /** Settles the attempt as failed: retried with backoff while attempts are left, unless not `retryable`. */
    readonly fail: (id: string, token: string, failure: Failure) => Effect.Effect<Settled, AttemptError>
  }
}

/** The service for the life of the layer (its flusher and rescuer run in the layer's scope). */
export const layer = (options?: RemoteWorkerOptions): Layer.Layer<RemoteWorker, never, Jobs | JobRegistry | JobStore> =>
  Layer.scoped(RemoteWorker, internal.make(options ?? {}))
