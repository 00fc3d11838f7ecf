/**
 * The Promise facade, for hosts that do not use Effect: one `make` call builds the store, the engine, the handlers
 * and a worker on a `ManagedRuntime`; every method returns a Promise that rejects with the engine's tagged error
 * values (`JobNotFound`, `InvalidTransition`, …), and `close()` is the graceful shutdown.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Delay from "./Delay.js"
import type { Job, JobResult } from "./Job.js"
import { InvalidInput, UnknownJobType } from "./JobError.js"
import * as JobRetention from "./JobRetention.js"
import type * as JobSchedule from "./JobSchedule.js"
import * as JobSchedules from "./JobSchedules.js"
import type { JobStore } from "./JobStore.js"
import * as JobType from "./JobType.js"
import * as Jobs from "./Jobs.js"
import * as Worker from "./Worker.js"

/** An async handler for one job type; it is interrupted through `context.signal`. */
export interface HandlerSpec<P = any, R = any> {
  /** The type definition, or the key of one given in `types` (or `"delay"`). */
  readonly type: JobType.JobType<P, any, R, any> | string
  readonly handler: (params: P, context: JobType.PromiseJobContext) => Promise<R>
}

/** An Effect handler as `JobType.toLayer` builds it, its own services provided (or provided through `layers`). */
export type HandlerLayer = Layer.Layer<never, unknown, any>

/** Pairs a type with its async handler, inferring the params and result types. */
export const handler = <P, PI, R, RI>(
  type: JobType.JobType<P, PI, R, RI>,
  run: (params: P, context: JobType.PromiseJobContext) => Promise<R>
): HandlerSpec<P, R> => ({ type, handler: run })

/** Options of {@link make}. */
export interface Options {
  /** The store, e.g. `MemoryJobStore.layer` or `SqliteJobStore.layer({ filename })`. */
  readonly store: Layer.Layer<JobStore, unknown>
  /** Type definitions this process knows (also the ones only created here and run elsewhere). */
  readonly types?: ReadonlyArray<JobType.Any>
  /**
   * Handlers this process runs; their types are registered too. Each is an async handler ({@link handler}) or an
   * Effect handler as a layer (`JobType.toLayer(type, run)`, with its services provided, or given in `layers`).
   */
  readonly handlers?: ReadonlyArray<HandlerSpec | HandlerLayer>
  /** Services the handler layers need (e.g. `Layer.succeed(Mailer, mailer)`), provided to each of them. */
  readonly layers?: Layer.Layer<any, unknown>
  /** Options of the worker, or `false` for a process that only creates and reads jobs. Default: a worker. */
  readonly worker?: Worker.WorkerOptions | false
  /** Log lines kept per job (the engine's and, unless `worker.logCap` says otherwise, the worker's). Default 10 000. */
  readonly logCap?: number
  /**
   * Schedules defined in code (`JobSchedule.make`), registered at start. Due ticks are fired by the worker's
   * maintenance; a process without a worker (or with `maintenance: false`) registers them but fires none.
   */
  readonly schedules?: ReadonlyArray<JobSchedule.Definition>
  /** The pruner of old terminal jobs, run by the worker's maintenance; off when absent. */
  readonly retention?: JobRetention.RetentionOptions
}

/** A method was called after `close()`. */
export class JobloomClosed extends Schema.TaggedError<JobloomClosed>()("JobloomClosed", {}) {
  override get message() {
    return "jobloom is closed"
  }
}

/** The services the facade's runtime provides (for the HTTP router, or Effect code running beside the facade). */
export type Services = Jobs.Jobs | JobType.JobRegistry | JobStore | JobSchedules.JobSchedules

/** Promise versions of the `JobSchedules` methods. */
export interface SchedulesFacade {
  readonly define: (definition: JobSchedule.Definition) => Promise<JobSchedule.Schedule>
  readonly create: (input: JobSchedule.ScheduleInput) => Promise<JobSchedule.Schedule>
  readonly put: (
    key: string,
    input: Omit<JobSchedule.ScheduleInput, "key">
  ) => Promise<{ readonly schedule: JobSchedule.Schedule; readonly created: boolean }>
  readonly get: (key: string) => Promise<JobSchedule.Schedule>
  readonly list: () => Promise<ReadonlyArray<JobSchedule.Schedule>>
  readonly delete: (key: string) => Promise<void>
  readonly pause: (key: string) => Promise<JobSchedule.Schedule>
  readonly resume: (key: string) => Promise<JobSchedule.Schedule>
  /** Fires the due ticks now (maintenance does it every second); returns the jobs created. */
  readonly tick: () => Promise<ReadonlyArray<Job>>
}

/** A running jobloom: Promise versions of the `Jobs` methods, events, the runtime and shutdown. */
export interface Jobloom {
  readonly create: (
    input: Jobs.CreateJob,
    options?: Jobs.CreateOptions
  ) => Promise<{ readonly job: Job; readonly created: boolean }>
  readonly createMany: (
    inputs: ReadonlyArray<Jobs.CreateJob>,
    options?: Jobs.CreateOptions
  ) => Promise<{ readonly batchId: string | null; readonly jobs: ReadonlyArray<Job> }>
  readonly enqueue: (input: Jobs.CreateJob) => Promise<Job>
  readonly get: (id: string) => Promise<Job>
  readonly list: (query?: Jobs.ListQuery) => Promise<Jobs.JobPage>
  readonly run: (id: string) => Promise<Job>
  readonly cancel: (id: string) => Promise<Job>
  readonly retry: (id: string) => Promise<Job>
  readonly pause: (id: string) => Promise<Job>
  readonly resume: (id: string) => Promise<Job>
  readonly update: (id: string, patch: Jobs.UpdateJob) => Promise<Job>
  readonly delete: (id: string, options?: { readonly force?: boolean }) => Promise<void>
  readonly deleteMany: (query: Parameters<Jobs.Jobs.Service["deleteMany"]>[0]) => Promise<number>
  readonly logs: (id: string, options?: { readonly limit?: number; readonly cursor?: string }) => Promise<Jobs.LogPage>
  readonly result: (id: string, options?: { readonly compact?: boolean }) => Promise<JobResult>
  readonly resultById: (resultId: string, options?: { readonly compact?: boolean }) => Promise<JobResult>
  readonly jobByResultId: (resultId: string) => Promise<Job>
  readonly stats: (query?: Jobs.JobQuery) => Promise<Jobs.JobStats>
  readonly batch: (batchId: string) => Promise<Jobs.BatchSummary>
  readonly types: () => ReadonlyArray<Jobs.JobTypeInfo>
  /** Recurring jobs: the schedules of this store. */
  readonly schedules: SchedulesFacade
  /** One pass of the pruner with these options (or the `retention` given to `make`); what it deleted. */
  readonly prune: (options?: JobRetention.RetentionOptions) => Promise<JobRetention.PruneReport>
  /**
   * Calls `listener` with every event from now on (of one job when `jobId` is given); subscribed before it returns.
   * Returns the function that unsubscribes.
   */
  readonly subscribe: (listener: (event: Jobs.JobEvent) => void, options?: { readonly jobId?: string }) => () => void
  /** The runtime behind the facade, e.g. for `JobsApi.make` or for Effect code. */
  readonly runtime: ManagedRuntime.ManagedRuntime<Services, unknown>
  /**
   * Graceful shutdown: unsubscribes every listener, stops claiming, lets running jobs finish for the worker's grace
   * period, then interrupts and releases the rest, and closes the store. Safe to call more than once.
   */
  readonly close: () => Promise<void>
}

/** The first typed failure of a cause, else its defect or interruption, as a rejection value. */
const rejection = (cause: Cause.Cause<unknown>): unknown =>
  Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))

/** Builds the layer: store, then engine, then handlers, then the worker (so it sees every handler at start). */
const layerOf = (options: Options): Either.Either<Layer.Layer<Services, unknown>, UnknownJobType> => {
  const known = new Map<string, JobType.Any>([[Delay.key, Delay.jobType]])
  for (const type of options.types ?? []) known.set(type.key, type)
  const handlerLayers: Array<Layer.Layer<never, unknown, JobType.JobRegistry>> = []
  for (const spec of options.handlers ?? []) {
    if (Layer.isLayer(spec)) {
      // the services come from `layers`; what neither provides fails at start-up as a missing service
      const layer = spec as Layer.Layer<never, unknown, JobType.JobRegistry>
      handlerLayers.push(options.layers === undefined ? layer : layer.pipe(Layer.provide(options.layers)))
      continue
    }
    const { type: key, handler: run } = spec as HandlerSpec
    const type = typeof key === "string" ? known.get(key) : key
    if (type === undefined) return Either.left(new UnknownJobType({ type: String(key) }))
    handlerLayers.push(JobType.toLayerPromise(type, run))
  }
  const engine = JobSchedules.layer({ schedules: options.schedules ?? [] }).pipe(
    Layer.provideMerge(
      Jobs.layer({
        ...(options.types === undefined ? {} : { types: options.types }),
        ...(options.logCap === undefined ? {} : { logCap: options.logCap })
      })
    ),
    Layer.provideMerge(options.store)
  )
  const registered = handlerLayers.reduce<Layer.Layer<Services, unknown>>(
    (layer, handlers) => Layer.provideMerge(handlers, layer),
    engine
  )
  if (options.worker === false) return Either.right(registered)
  // the facade's logCap is the worker's default too: the worker writes most of a job's lines
  const worker = { ...(options.logCap === undefined ? {} : { logCap: options.logCap }), ...options.worker }
  // maintenance fires the schedules' ticks and runs the pruner (the facade's `retention`, unless the worker's own)
  const withRetention = options.retention === undefined ? worker : { retention: options.retention, ...worker }
  return Either.right(Layer.provideMerge(Worker.layer(withRetention), registered))
}

/**
 * Starts jobloom. Resolves once the store is open, the handlers are registered and the worker runs; rejects with
 * the store's error when it cannot open, or `UnknownJobType` for a handler of a type it does not know.
 */
export const make = async (options: Options): Promise<Jobloom> => {
  const layer = layerOf(options)
  if (Either.isLeft(layer)) throw layer.left
  if (options.retention !== undefined) {
    // bad pruner options fail the start-up, not maintenance's background loop
    const checked = Effect.runSyncExit(JobRetention.agesOf(options.retention))
    if (Exit.isFailure(checked)) throw rejection(checked.cause)
  }
  const runtime = ManagedRuntime.make(layer.right)
  const built = await runtime.runPromiseExit(Jobs.Jobs)
  if (Exit.isFailure(built)) {
    await runtime.dispose()
    throw rejection(built.cause)
  }
  const jobs = built.value
  const schedules = await runtime.runPromise(JobSchedules.JobSchedules)
  const listeners = new Set<Fiber.RuntimeFiber<void>>()
  let closing: Promise<void> | undefined

  const run = <A, E>(effect: Effect.Effect<A, E, Services>): Promise<A> => {
    if (closing !== undefined) return Promise.reject(new JobloomClosed())
    return runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw rejection(exit.cause)
    })
  }

  const subscribe: Jobloom["subscribe"] = (listener, subscribeOptions) => {
    if (closing !== undefined) throw new JobloomClosed()
    // checked on each delivery, so no call reaches the listener once `unsubscribe` has returned
    let active = true
    const deliver = (event: Jobs.JobEvent) =>
      Effect.suspend(() => {
        if (!active) return Effect.void
        try {
          listener(event)
          return Effect.void
        } catch (error) {
          // one throwing listener must not end its own subscription, nor reach the engine
          return Effect.logWarning("jobloom: an event listener threw", error)
        }
      })
    // runSync: the subscription exists before `subscribe` returns, so no event after it is missed
    const fiber = runtime.runSync(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const stream = yield* Scope.extend(jobs.subscribe(subscribeOptions), scope)
        return yield* Effect.forkDaemon(
          Stream.runForEach(stream, deliver).pipe(Effect.ensuring(Scope.close(scope, Exit.void)))
        )
      })
    )
    listeners.add(fiber)
    return () => {
      active = false
      if (!listeners.delete(fiber)) return
      runtime.runFork(Fiber.interrupt(fiber))
    }
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const fibers = Array.from(listeners)
      listeners.clear()
      await runtime.runPromise(Fiber.interruptAll(fibers))
      await runtime.dispose()
    })()
    return closing
  }

  return {
    create: (input, createOptions) => run(jobs.create(input, createOptions)),
    createMany: (inputs, createOptions) => run(jobs.createMany(inputs, createOptions)),
    enqueue: (input) => run(jobs.enqueue(input)),
    get: (id) => run(jobs.get(id)),
    list: (query) => run(jobs.list(query)),
    run: (id) => run(jobs.run(id)),
    cancel: (id) => run(jobs.cancel(id)),
    retry: (id) => run(jobs.retry(id)),
    pause: (id) => run(jobs.pause(id)),
    resume: (id) => run(jobs.resume(id)),
    update: (id, patch) => run(jobs.update(id, patch)),
    delete: (id, deleteOptions) => run(jobs.delete(id, deleteOptions)),
    deleteMany: (query) => run(jobs.deleteMany(query)),
    logs: (id, logOptions) => run(jobs.logs(id, logOptions)),
    result: (id, resultOptions) => run(jobs.result(id, resultOptions)),
    resultById: (resultId, resultOptions) => run(jobs.resultById(resultId, resultOptions)),
    jobByResultId: (resultId) => run(jobs.jobByResultId(resultId)),
    stats: (query) => run(jobs.stats(query)),
    batch: (batchId) => run(jobs.batch(batchId)),
    types: () => jobs.types(),
    schedules: {
      define: (definition) => run(schedules.define(definition)),
      create: (input) => run(schedules.create(input)),
      put: (key, input) => run(schedules.put(key, input)),
      get: (key) => run(schedules.get(key)),
      list: () => run(schedules.list()),
      delete: (key) => run(schedules.delete(key)),
      pause: (key) => run(schedules.pause(key)),
      resume: (key) => run(schedules.resume(key)),
      tick: () => run(schedules.tick())
    },
    prune: (pruneOptions) => {
      const retention = pruneOptions ?? options.retention
      return retention === undefined
        ? Promise.reject(new InvalidInput({ issues: [{ path: "retention", message: "give the pruner's options" }] }))
        : run(JobRetention.prune(retention))
    },
    subscribe,
    runtime,
    close
  }
}
