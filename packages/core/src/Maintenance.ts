/**
 * Maintenance without a worker: rescue expired leases (back to QUEUED, or FAILED/stalled), expire jobs past their
 * deadline (TIMED_OUT/expired) and deliver callbacks of terminal jobs. A worker runs it too unless its `maintenance`
 * option is false; a host whose workers run elsewhere (or with `maintenance: false`) runs this layer instead. Any
 * number of processes may run it at once: every pass is a guarded store write.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as JobEvents from "./internal/jobEvents.js"
import * as internal from "./internal/maintenance.js"
import { Jobs } from "./Jobs.js"
import type { JobStore } from "./JobStore.js"
import type { WorkerOptions } from "./Worker.js"

/** Options of `Maintenance.layer`: the same names, meanings and defaults as the worker's. */
export interface MaintenanceOptions {
  /** How often expired leases are rescued. Default 5 s. */
  readonly rescueInterval?: WorkerOptions["rescueInterval"]
  /** How often jobs past their deadline are expired, and due callbacks polled. Default 1 s. */
  readonly expireInterval?: WorkerOptions["expireInterval"]
  /** Callback delivery: signature secret, retry budget and address policy (see `WorkerOptions.callbacks`). */
  readonly callbacks?: WorkerOptions["callbacks"]
  /** Log lines kept per job when delivery writes one. Default 10 000. */
  readonly logCap?: number
  /** How often due schedule ticks are fired (see `JobSchedules`). Default 1 s. */
  readonly scheduleInterval?: WorkerOptions["scheduleInterval"]
  /** The pruner of old terminal jobs (see `JobRetention`); off when absent. */
  readonly retention?: WorkerOptions["retention"]
}

/**
 * Maintenance for the life of the layer: one rescue when it starts, then the rescue, expire and callback loops. It
 * requires the engine (`Jobs`) so that its changes reach that engine's event subscribers, as a worker's do.
 */
export const layer = (options: MaintenanceOptions = {}): Layer.Layer<never, never, JobStore | Jobs> =>
  Layer.scopedDiscard(
    Effect.flatMap(Effect.flatMap(Jobs, JobEvents.ofJobs), (bus) =>
      internal
        .start(internal.resolve(options), undefined, options.logCap)
        .pipe(Effect.provideService(JobEvents.JobEvents, bus))
    )
  )
