/**
 * The worker: claims due jobs with a lease, runs each in its own fiber with its job context, heartbeats leases,
 * settles every attempt with a guarded write, and shuts down gracefully when its scope closes.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"

/** Options of `Worker.layer`. */
export interface WorkerOptions {
  /** Identifies this worker in leases. Default: hostname, pid and a random suffix. */
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
  /** Log lines kept per job. Default 10 000. */
  readonly logCap?: number
  /** Run maintenance (rescue every 5 s, expire every 1 s, callbacks) in this worker. Default true. */
  readonly maintenance?: boolean
  /** Callback delivery: HMAC-SHA256 secret for the `X-Jobloom-Signature` header, and retry budget. */
  readonly callbacks?: {
    readonly secret?: string
    readonly maxAttempts?: number
    readonly timeout?: Duration.DurationInput
  }
}
