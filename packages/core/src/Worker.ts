/**
 * The worker: claims due jobs with a lease, runs each in its own fiber with its job context, heartbeats leases,
 * settles every attempt with a guarded write, and shuts down gracefully when its scope closes.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as AddressPolicy from "./internal/addressPolicy.js"
import * as internal from "./internal/worker/make.js"
import type { JobStore } from "./JobStore.js"
import type { RetentionOptions } from "./JobRetention.js"
import type { JobRegistry } from "./JobType.js"
import type { Jobs } from "./Jobs.js"

/** Options of `Worker.layer`. */
export interface WorkerOptions {
  /**
   * Identifies this worker in leases. Default: hostname, pid and a random suffix, unique per process (a fixed id
   * reused across restarts is allowed, since every write is also guarded by its claim's token, but it blurs logs).
   */
  readonly workerId?: string
  /** Jobs run at once by this worker. Default 10. */
  readonly concurrency?: number
  /** Queues to claim from. Default: the queues of the registered handlers, and `default`. */
  readonly queues?: ReadonlyArray<string>
  /** Limits per queue across every worker of the store. */
  readonly queueLimits?: Readonly<Record<string, number>>
  /** Lease length. Default 30 s. */
  readonly leaseDuration?: Duration.DurationInput
  /** Lease renewal interval. Default 10 s. */
  readonly heartbeatInterval?: Duration.DurationInput
  /** Fallback poll for new work when no signal arrives. Default 1 s. */
  readonly pollInterval?: Duration.DurationInput
  /** Poll of running jobs' statuses when the store's signals do not cross processes. Default 500 ms. */
  readonly cancelPollInterval?: Duration.DurationInput
  /** How often progress and log writes are flushed. Default 250 ms. */
  readonly flushInterval?: Duration.DurationInput
  /** Running jobs get this long to finish on shutdown before they are interrupted and released. Default 10 s. */
  readonly gracePeriod?: Duration.DurationInput
  /**
   * How long a stopped handler (cancelled, timed out, shut down, lost) may take to end before it is abandoned: its
   * attempt is then settled and its slot freed while it may still run, with a warning. Default 30 s.
   */
  readonly abandonAfter?: Duration.DurationInput
  /** Log lines kept per job. Default 10 000. */
  readonly logCap?: number
  /**
   * Run maintenance (rescue every 5 s, expire every 1 s, callbacks; see `Maintenance.layer`) in this worker. Default
   * true.
   */
  readonly maintenance?: boolean
  /** How often maintenance rescues expired leases. Default 5 s. */
  readonly rescueInterval?: Duration.DurationInput
  /** How often maintenance expires jobs past their deadline, and polls for due callbacks. Default 1 s. */
  readonly expireInterval?: Duration.DurationInput
  /** How often maintenance fires due schedule ticks (`JobSchedules`). Default 1 s. */
  readonly scheduleInterval?: Duration.DurationInput
  /** Maintenance's pruner of old terminal jobs (`JobRetention`); off when absent. */
  readonly retention?: RetentionOptions
  /** Callback delivery: HMAC-SHA256 secret for the `X-Jobloom-Signature` header, and retry budget. */
  readonly callbacks?: {
    readonly secret?: string
    readonly maxAttempts?: number
    readonly timeout?: Duration.DurationInput
    /** Delay before the first retry of a failed delivery, doubled for each later one (capped at 5 min). Default 1 s. */
    readonly retryDelay?: Duration.DurationInput
    /**
     * Hosts a delivery may reach although they resolve to a loopback, private, link-local, unique-local or other
     * non-public address: names or IP literals (exact, case-insensitive), or a predicate given each resolved
     * `{ hostname, address, port }`. By default only public addresses are reached.
     */
    readonly allow?: ReadonlyArray<string> | ((target: CallbackTarget) => boolean)
    /** Reach every address, private networks included (for development against local receivers). Default false. */
    readonly allowPrivateNetworks?: boolean
  }
}

/** One address a callback delivery would connect to, as the `callbacks.allow` predicate sees it. */
export type CallbackTarget = AddressPolicy.Target

/** A running worker: its id, and effects to observe and nudge it. */
export type WorkerHandle = internal.WorkerHandle

/**
 * Starts a worker in the current scope: it claims and runs jobs until the scope closes, then stops claiming, lets
 * running jobs finish for up to `gracePeriod`, interrupts the rest and releases their leases without spending an
 * attempt, and flushes pending progress, logs and settlements.
 */
export const make: (
  options?: WorkerOptions
) => Effect.Effect<WorkerHandle, never, Scope.Scope | Jobs | JobRegistry | JobStore> = internal.make

/** A worker for the life of the layer; closing the layer's scope is the graceful shutdown. */
export const layer = (options?: WorkerOptions): Layer.Layer<never, never, Jobs | JobRegistry | JobStore> =>
  Layer.scopedDiscard(internal.make(options))
