/**
 * The native REST surface (DESIGN §5) as a Hono sub-app: `app.route("/api/v1", JobsApi.make({ runtime }))`.
 *
 * A thin adapter: it validates requests with the engine's own Effect Schemas (as Standard Schema validators), calls
 * the engine, and maps its tagged errors to `application/problem+json` in one place (`Problem.fromError`). The
 * OpenAPI 3.1 document is generated from the same Schemas by hono-openapi. The routes are in `internal/routes/`, one
 * file per group; what they share (engine calls, scope, `authorize`, request guards) is `internal/router.ts`.
 *
 * Authorization has two parts, both the host's: `scope` (the jobs a request may see at all, applied by the store to
 * every collection; outside it a job is a 404) and `authorize` (each action, on a job inside the scope; a 403).
 *
 * @since 0.1.0
 */
import type { Job, JobScope } from "@jobloom/core"
import type * as Duration from "effect/Duration"
import type { Context, Env, Hono } from "hono"
import * as Router from "./internal/router.js"
import * as EventRoutes from "./internal/routes/events.js"
import * as JobRoutes from "./internal/routes/job.js"
import * as CollectionRoutes from "./internal/routes/collection.js"
import * as MetaRoutes from "./internal/routes/meta.js"
import * as OutputRoutes from "./internal/routes/outputs.js"
import * as ScheduleRoutes from "./internal/routes/schedules.js"
import type * as Runner from "./internal/runner.js"
import type * as Schemas from "./internal/schemas.js"

/** An action `authorize` decides: `view`, `create`, `edit`, `run`, `cancel`, `retry`, `pause`, `resume`, `delete`. */
export type Action = Schemas.Action

/**
 * The host's authorization hook. `job` is given for actions on one job (read before the action, and only when it is
 * inside the request's scope); list, stats, batches, job types, create and bulk delete ask without a job, and what
 * they reach is narrowed by the scope (see {@link ScopeOf}). Its answers for a job also fill the job's
 * `userPermissions` in responses. Denial is a 403.
 */
export type Authorize<E extends Env = any> = (
  action: Action,
  job: Job.Job | undefined,
  c: Context<E>
) => boolean | Promise<boolean>

/**
 * The host's scope hook: the jobs the request's caller may see at all (e.g. `{ owners: [user.project] }`), computed
 * once per request. The store applies it to every collection route (list and its `total`, stats, batches, bulk
 * delete, results by id, idempotency lookups, many-job event streams); a job outside it is a 404 on every per-job
 * route, checked before `authorize`, so ids do not leak. A created job's `owner` must be inside it (omitted, a
 * one-owner scope's owner is used). `undefined` sees every job.
 */
export type ScopeOf<E extends Env = any> = (
  c: Context<E>
) => JobScope.JobScope | undefined | Promise<JobScope.JobScope | undefined>

/** Options of {@link make}. */
export interface Options<E extends Env = any> {
  /** Runs the engine: a `ManagedRuntime` (e.g. the Promise facade's) or a `Runtime` from `Effect.runtime<Jobs>()`. */
  readonly runtime: Runner.JobsRuntime
  /** The jobs each request may see at all (see {@link ScopeOf}); every job when absent. */
  readonly scope?: ScopeOf<E>
  /** Decides each action; everything is allowed when absent. */
  readonly authorize?: Authorize<E>
  /** Largest accepted request body in bytes; default 1 MiB. A larger one is a 413 that closes the connection. */
  readonly bodyLimit?: number
  /** How often an event stream polls its job for changes made by other processes; default 1 second. */
  readonly pollInterval?: Duration.DurationInput
  /** Serve the dashboard page at `/dashboard`; default true. */
  readonly dashboard?: boolean
  /** The OpenAPI document's `info`. */
  readonly info?: { readonly title?: string; readonly version?: string; readonly description?: string }
}

/** Builds the sub-app. Mount it anywhere with `host.route(prefix, app)`; trailing slashes are optional. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  const router = Router.make(options)
  // the order of registration is the order of matching: `/jobs/stats` before `/jobs/:id`
  CollectionRoutes.mount(router)
  JobRoutes.mount(router)
  OutputRoutes.mount(router)
  EventRoutes.mount(router)
  OutputRoutes.mountResults(router)
  ScheduleRoutes.mount(router)
  MetaRoutes.mount(router)
  return router.app
}
