/**
 * Config: the worker's options resolved once, with their defaults, from `WorkerOptions` and the handlers registered
 * in the `JobRegistry` (the types it claims, their queues and concurrency limits). Every other part of the worker
 * reads its settings here rather than from the raw options.
 */
import { hostname } from "node:os"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { uuidv7 } from "uuidv7"
import { JobRegistry } from "../../JobType.js"
import type { WorkerOptions } from "../../Worker.js"
import * as Maintenance from "../maintenance.js"

/** The resolved options of one worker. */
export class Config extends Context.Tag("@jobloom/core/worker/Config")<Config, Config.Service>() {}

/** The types of the `Config` service. */
export declare namespace Config {
  /** Every setting of the worker, defaults applied. */
  export interface Service {
    readonly workerId: string
    readonly concurrency: number
    readonly queues: ReadonlyArray<string>
    /** The types this worker has handlers for: the only ones it claims. */
    readonly types: ReadonlyArray<string>
    readonly queueLimits: Readonly<Record<string, number>>
    readonly typeLimits: Readonly<Record<string, number>>
    /** Whether any type or queue limit applies (then a freed slot always wakes the claimer). */
    readonly limited: boolean
    readonly leaseMs: number
    /**
     * How long after a claim or a confirmed renewal the worker trusts its lease: the lease less a heartbeat interval
     * (at least half the lease), so an attempt that cannot renew (the store unreachable) stops before the lease can
     * expire and the job be given to another worker.
     */
    readonly leaseSafeMs: number
    readonly heartbeat: Duration.Duration
    readonly poll: Duration.Duration
    readonly cancelPoll: Duration.Duration
    readonly flush: Duration.Duration
    readonly grace: Duration.Duration
    readonly abandonAfter: Duration.Duration
    readonly logCap: number
    /** Jobs held at most: running, plus ended and waiting for their settlement to be written. */
    readonly maxHeld: number
    /** Maintenance options when this worker runs maintenance, else null. */
    readonly maintenance: Maintenance.Options | null
  }
}

/**
 * Settlements written per store call. Up to a full batch may wait while the previous one is written, so a slow store
 * gets bigger (fewer) batches, and claiming pauses only when settling falls a whole batch behind.
 */
export const settleChunk = 500

/** Resolves the options against the registered handlers. */
export const resolve = (options: WorkerOptions, registry: JobRegistry.Service): Config.Service => {
  const handlerTypes = Array.from(registry.handlers.values(), (h) => h.type)
  const typeLimits: Record<string, number> = {}
  for (const type of handlerTypes) if (type.concurrency !== null) typeLimits[type.key] = type.concurrency
  const queueLimits = options.queueLimits ?? {}
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 10))
  const leaseMs = Duration.toMillis(options.leaseDuration ?? Duration.seconds(30))
  const heartbeat = Duration.decode(options.heartbeatInterval ?? Duration.seconds(10))
  return {
    workerId: options.workerId ?? `${hostname()}:${process.pid}:${uuidv7().slice(-8)}`,
    concurrency,
    queues: options.queues ?? Array.from(new Set(["default", ...handlerTypes.map((t) => t.queue)])),
    types: handlerTypes.map((t) => t.key),
    queueLimits,
    typeLimits,
    limited: Object.keys(typeLimits).length > 0 || Object.keys(queueLimits).length > 0,
    leaseMs,
    leaseSafeMs: Math.max(leaseMs / 2, leaseMs - Duration.toMillis(heartbeat)),
    heartbeat,
    poll: Duration.decode(options.pollInterval ?? Duration.seconds(1)),
    cancelPoll: Duration.decode(options.cancelPollInterval ?? Duration.millis(500)),
    flush: Duration.decode(options.flushInterval ?? Duration.millis(250)),
    grace: Duration.decode(options.gracePeriod ?? Duration.seconds(10)),
    abandonAfter: Duration.decode(options.abandonAfter ?? Duration.seconds(30)),
    logCap: options.logCap ?? 10_000,
    maxHeld: concurrency + settleChunk,
    maintenance: options.maintenance === false ? null : Maintenance.resolve(options)
  }
}

/** The config of a worker with these options, over the registry in context. */
export const layer = (options: WorkerOptions): Layer.Layer<Config, never, JobRegistry> =>
  Layer.effect(
    Config,
    Effect.map(JobRegistry, (registry) => resolve(options, registry))
  )
