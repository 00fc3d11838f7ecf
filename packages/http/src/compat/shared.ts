/**
 * What every compat router (Antenna, MCRIT, Modzy, super.AI) shares: the options they take (`JobsApi.make`'s), the
 * request's scope, an engine call that answers in the router's own error flavour, and offset paging over the
 * engine's keyset list (the seed systems page by offset; the engine by cursor).
 *
 * @since 0.1.0
 */
import { type Job, type JobItem, Jobs, type JobScope } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Context, Env } from "hono"
import type * as JobsApi from "../JobsApi.js"
import * as Runner from "../internal/runner.js"
import * as Problem from "../Problem.js"

/** The options every compat router takes: the same `runtime`, `authorize` and `scope` as `JobsApi.make`. */
export interface Options<E extends Env = any> {
  /** Runs the engine: a `ManagedRuntime` or a `Runtime` from `Effect.runtime<Jobs>()`. */
  readonly runtime: Runner.JobsRuntime
  /** Decides each action, as for `JobsApi.make`; everything is allowed when absent. */
  readonly authorize?: JobsApi.Authorize<E>
  /**
   * The jobs each request may see at all, as for `JobsApi.make` (the engine applies it on the store side); a job
   * outside it is a 404 and is never listed, counted or deleted. Every job when absent.
   */
  readonly scope?: JobsApi.ScopeOf<E>
  /** Largest accepted request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number
}

/** An engine failure, with the HTTP status the native API gives it (the one mapping, in `Problem.fromError`). */
export class EngineFailure extends Error {
  constructor(
    readonly status: number,
    readonly tag: string,
    message: string,
    readonly error: unknown
  ) {
    super(message)
  }
}

/** Runs engine calls for a router: a failure is thrown as an {@link EngineFailure}; defects are logged. */
export interface Engine {
  readonly exec: <A, E>(f: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, E>) => Promise<A>
  /** Logs an unexpected failure through the engine's runtime (its logger). */
  readonly logFailure: (message: string, cause: unknown) => void
}

/** An {@link Engine} over a runtime. */
export const engine = (runtime: Runner.JobsRuntime): Engine => {
  const runner = Runner.make(runtime)
  const logFailure = (message: string, cause: unknown) => {
    runner.runFork(Effect.logError(message, cause))
  }
  return {
    logFailure,
    exec: async (f) => {
      const exit = await runner.runExit(Effect.flatMap(Jobs.Jobs, f))
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && Problem.isEngineError(failure.value)) {
        const problem = Problem.fromError(failure.value)
        if (problem.status >= 500) logFailure("jobloom compat: request failed", exit.cause)
        throw new EngineFailure(problem.status, failure.value._tag, failure.value.message, failure.value)
      }
      logFailure("jobloom compat: request failed", exit.cause)
      throw new EngineFailure(500, "Defect", "internal error", undefined)
    }
  }
}

/** Options of {@link offsetPage}. */
export interface OffsetPageOptions {
  readonly sort: NonNullable<Jobs.ListQuery["sort"]>
  readonly order: "asc" | "desc"
  readonly offset: number
  /** Absent: every job from `offset` on. */
  readonly limit?: number | undefined
  /** A filter the store cannot apply, checked on each job (before paging, so counts and offsets include it). */
  readonly keep?: ((job: Job.Job) => boolean) | undefined
  /** An order the store cannot sort by; the store's order breaks its ties. */
  readonly compare?: ((a: Job.Job, b: Job.Job) => number) | undefined
}

/** Rows per engine call while paging (the engine's largest page). */
const chunk = 1000

/**
 * One offset page and the total count. Store-side filters and sorts page by cursor and stop once the page is full;
 * a `keep` or `compare` the store cannot apply reads every matching job first.
 */
export const offsetPage = async (
  engine: Engine,
  query: Jobs.JobQuery,
  options: OffsetPageOptions
): Promise<{ readonly total: number; readonly items: ReadonlyArray<Job.Job> }> => {
  const end = options.limit === undefined ? Infinity : options.offset + options.limit
  const whole = options.keep !== undefined || options.compare !== undefined
  const rows: Array<Job.Job> = []
  let total = 0
  let cursor: string | undefined
  for (let first = true; ; first = false) {
    const page = await engine.exec((jobs) =>
      jobs.list({
        ...query,
        sort: options.sort,
        order: options.order,
        // a store-side page reads no more than it shows; a whole read goes in the engine's largest pages
        limit: whole ? chunk : Math.max(1, Math.min(chunk, end - rows.length)),
        withTotal: first && !whole,
        ...(cursor === undefined ? {} : { cursor })
      })
    )
    if (first && !whole) total = page.total ?? 0
    for (const job of page.items) if (options.keep === undefined || options.keep(job)) rows.push(job)
    if (page.nextCursor === null || (!whole && rows.length >= end)) break
    cursor = page.nextCursor
  }
  if (whole) {
    total = rows.length
    // Array.prototype.sort is stable: equal jobs keep the store's order
    if (options.compare !== undefined) rows.sort(options.compare)
  }
  return { total, items: rows.slice(options.offset, end) }
}

/** Every item of a job, in order (Modzy and super.AI show a job with all its items). */
export const allItems = async (engine: Engine, id: string): Promise<Array<JobItem.JobItem>> => {
  const items: Array<JobItem.JobItem> = []
  let cursor: string | undefined
  for (;;) {
    const page = await engine.exec((jobs) =>
      jobs.items(id, { limit: chunk, ...(cursor === undefined ? {} : { cursor }) })
    )
    items.push(...page.items)
    if (page.nextCursor === null) return items
    cursor = page.nextCursor
  }
}

/** The job with this number, inside the scope, or undefined. */
export const jobByNumber = async (
  engine: Engine,
  scope: JobScope.JobScope | undefined,
  number: number
): Promise<Job.Job | undefined> => {
  const page = await engine.exec((jobs) =>
    jobs.list({ numbers: [number], limit: 1, ...(scope === undefined ? {} : { scope }) })
  )
  return page.items[0]
}

/** Asks `authorize` (everything is allowed without one). */
export const allowed = async <E extends Env>(
  authorize: JobsApi.Authorize<E> | undefined,
  c: Context<E>,
  action: JobsApi.Action,
  job?: Job.Job
): Promise<boolean> => authorize === undefined || (await authorize(action, job, c)) === true

/** The scope of this request, asked of the host once per request (undefined: every job). */
export const scopeOf = <E extends Env>(options: Options<E>, c: Context<E>): Promise<JobScope.JobScope | undefined> => {
  if (options.scope === undefined) return Promise.resolve(undefined)
  let scope = scopes.get(c)
  if (scope === undefined) {
    scope = Promise.resolve(options.scope(c))
    scopes.set(c, scope)
  }
  return scope
}

const scopes = new WeakMap<Context, Promise<JobScope.JobScope | undefined>>()

/** The query with the request's scope in it (the engine applies it with the other filters). */
export const withScope = <Q extends Jobs.JobQuery>(query: Q, scope: JobScope.JobScope | undefined): Q =>
  scope === undefined ? query : { ...query, scope }
