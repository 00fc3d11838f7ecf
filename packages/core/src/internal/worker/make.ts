/**
 * The worker, wired: its parts are services (`Config`, `Wakes`, `Held`, `Flusher`, `Finisher`, `Leases`,
 * `Launcher`, `Claimer`), each in its own file with its own state, built by one layer in dependency order, over the
 * process's `Settler` of the store (shared with every other worker of the process). `make`
 * builds them in the caller's scope, starts their loops (and maintenance, unless disabled), and adds the graceful
 * shutdown as the scope's last finalizer, so it runs first and the loops it relies on outlive it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { JobStore } from "../../JobStore.js"
import type { JobRegistry } from "../../JobType.js"
import { Jobs } from "../../Jobs.js"
import type { WorkerOptions } from "../../Worker.js"
import * as JobEvents from "../jobEvents.js"
import * as Maintenance from "../maintenance.js"
import * as Settler from "../settler.js"
import * as Claimer from "./Claimer.js"
import * as Config from "./Config.js"
import * as Flusher from "./Flusher.js"
import * as Held from "./Held.js"
import * as Launcher from "./Launcher.js"
import * as Leases from "./Leases.js"
import * as Finisher from "./Finisher.js"
import { shutdown } from "./Shutdown.js"
import * as Wakes from "./Wakes.js"
import * as JobMetrics from "../../JobMetrics.js"

/** What a running worker exposes (to tests and hosts). */
export interface WorkerHandle {
  /** This worker's lease owner id. */
  readonly workerId: string
  /** Handlers executing now. */
  readonly running: Effect.Effect<number>
  /** Ids this worker holds: claimed and not yet settled. */
  readonly held: Effect.Effect<ReadonlyArray<string>>
  /** Resolves when the worker holds no job (every claimed job settled or given up). */
  readonly awaitIdle: Effect.Effect<void>
  /** Wakes the claim loop now (as a store signal would). */
  readonly poll: Effect.Effect<void>
  /** Writes pending progress and log lines now. */
  readonly flush: Effect.Effect<void>
}

/** The parts of one worker, each built over the ones it needs. */
export const parts = (options: WorkerOptions) => {
  const base = Layer.mergeAll(Wakes.layer, Held.layer, Flusher.layer, Settler.layer).pipe(
    Layer.provideMerge(Config.layer(options))
  )
  const keeping = Layer.mergeAll(Finisher.layer, Leases.layer).pipe(Layer.provideMerge(base))
  return Claimer.layer.pipe(Layer.provideMerge(Launcher.layer.pipe(Layer.provideMerge(keeping))))
}

/** Starts the built parts in the current scope and returns the worker's handle. */
const start = Effect.gen(function* () {
  const config = yield* Config.Config
  const flusher = yield* Flusher.Flusher
  const held = yield* Held.Held
  const wakes = yield* Wakes.Wakes
  const claimer = yield* Claimer.Claimer
  // background fibers are forked before the shutdown finalizer is added, so they outlive it (finalizers run in
  // reverse order): heartbeats, settling and flushing go on while the shutdown drains
  yield* Effect.forkScoped((yield* Finisher.Finisher).run)
  yield* Effect.forkScoped(flusher.run)
  yield* Effect.forkScoped((yield* Leases.Leases).run)
  yield* Effect.forkScoped(claimer.listen)
  if (config.maintenance !== null) {
    // the first rescue runs before the first claim, so this worker's own jobs of a crashed run come back first
    yield* Maintenance.start(config.maintenance, {
      callbackWake: wakes.callbacks,
      log: (jobId, at, level, message) => Effect.sync(() => flusher.log(jobId, at, level, message))
    })
  }
  const claimLoop = yield* Effect.forkScoped(claimer.run)
  // `jobloom_workers_running` (and readiness) count this worker until its shutdown starts
  JobMetrics.recordWorker(1)
  yield* Effect.addFinalizer(() =>
    Effect.zipRight(
      Effect.sync(() => JobMetrics.recordWorker(-1)),
      shutdown(claimLoop)
    )
  )
  const handle: WorkerHandle = {
    workerId: config.workerId,
    running: Effect.sync(() => held.executing),
    held: Effect.sync(() => Array.from(held.byId.keys())),
    awaitIdle: held.idle.await,
    poll: Effect.sync(() => wakes.wakeClaim()),
    flush: flusher.flushAll
  }
  return handle
})

/**
 * Builds and starts a worker in the current scope; closing the scope shuts it down gracefully. It asks for `Jobs`
 * for the engine's event bus (`JobEvents`), read from the engine itself so that the worker's events reach the
 * engine's subscribers however the engine was given.
 */
export const make = (
  options: WorkerOptions = {}
): Effect.Effect<WorkerHandle, never, Scope.Scope | Jobs | JobRegistry | JobStore> =>
  Effect.flatMap(Effect.flatMap(Jobs, JobEvents.ofJobs), (bus) =>
    Effect.flatMap(Layer.build(parts(options)), (context) => Effect.provide(start, context)).pipe(
      Effect.provideService(JobEvents.JobEvents, bus),
      // the store errors the worker meets are counted (`jobloom_store_errors_total`)
      Effect.updateService(JobStore, JobMetrics.countStoreErrors)
    )
  )
