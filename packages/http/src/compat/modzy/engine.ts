/**
 * Engine calls for the Modzy and super.AI routers: a failure is thrown with the HTTP status the native API gives it,
 * so each router answers in its own error flavour; offset paging over the engine's keyset list (both systems page by
 * number). Mirrors `compat/shared.ts` of the Antenna/MCRIT routers (issue #16), which this branch does not have yet.
 */
import { type Job, type JobItem, Jobs } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runner from "../../internal/runner.js"
import * as Problem from "../../Problem.js"

/** An engine failure, with the HTTP status the native API gives it. */
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

/** Runs engine calls for a router. */
export interface Engine {
  readonly exec: <A, E>(f: (jobs: Jobs.Jobs) => Effect.Effect<A, E>) => Promise<A>
  /** Logs an unexpected failure through the engine's runtime. */
  readonly logFailure: (message: string, cause: unknown) => void
}

/** An {@link Engine} over a runtime. */
export const make = (runtime: Runner.JobsRuntime): Engine => {
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

/** Rows per engine call while paging (the engine's largest page). */
const chunk = 1000

/**
 * One offset page and the total. With `keep` (a filter the store cannot apply) every matching job is read first;
 * otherwise the store filters and the walk stops once the page is full.
 */
export const offsetPage = async (
  engine: Engine,
  query: Jobs.JobQuery,
  options: {
    readonly sort: NonNullable<Jobs.ListQuery["sort"]>
    readonly order: "asc" | "desc"
    readonly offset: number
    readonly limit: number
    readonly keep?: ((job: Job.Job) => boolean) | undefined
    readonly compare?: ((a: Job.Job, b: Job.Job) => number) | undefined
  }
): Promise<{ readonly total: number; readonly items: ReadonlyArray<Job.Job> }> => {
  const end = options.offset + options.limit
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
        limit: chunk,
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
    if (options.compare !== undefined) rows.sort(options.compare)
  }
  return { total, items: rows.slice(options.offset, end) }
}

/** Every item of a job, in order. */
export const allItems = async (engine: Engine, id: string): Promise<Array<JobItem.JobItem>> => {
  const items: Array<JobItem.JobItem> = []
  let cursor: string | undefined
  for (;;) {
    const page = await engine.exec((jobs) =>
      jobs.items(id, { limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
    )
    items.push(...page.items)
    if (page.nextCursor === null) return items
    cursor = page.nextCursor
  }
}
