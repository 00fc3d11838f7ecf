/**
 * What every route group of the REST sub-app shares, built once per `JobsApi.make` from its options: the Hono app
 * with its error handler and request guards, engine calls whose failures become problems, the request's scope (asked
 * of the host once per request), the `authorize` checks, and a job as a response shows it (`userPermissions`).
 */
import { type Job, Jobs, type JobScope } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { HTTPException } from "hono/http-exception"
import type * as JobsApi from "../JobsApi.js"
import * as Problem from "../Problem.js"
import * as Events from "./events.js"
import * as OpenApi from "./openapi.js"
import * as QueryText from "./queryText.js"
import * as Runner from "./runner.js"
import * as Schemas from "./schemas.js"

/** The default body limit: 1 MiB. */
export const defaultBodyLimit = 1024 * 1024

/** Thrown inside handlers to answer with a problem; caught by the sub-app's own error handler. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem.Problem) {
    super(problem.detail)
  }
}

/** The shared parts the route groups are given. */
export interface Router<E extends Env> {
  readonly app: Hono<E>
  readonly options: JobsApi.Options<E>
  readonly runner: Runner.Runner
  /** How often an event stream polls its job (or its filter) for other processes' changes. */
  readonly pollInterval: Duration.Duration
  /** Runs an engine call; its failure is thrown as the mapped problem. */
  readonly exec: <A, Err>(f: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, Err>) => Promise<A>
  /** The problem a failed engine call answers with (logged when it is the server's fault). */
  readonly toProblemError: (cause: Cause.Cause<unknown>) => ProblemError
  /** The request's scope, asked of the host once per request. Every route that reads jobs passes it to the engine. */
  readonly scopeFor: (c: Context) => Promise<JobScope.JobScope | undefined>
  /** Whether `authorize` allows the action (everything is allowed without a hook). */
  readonly allowed: (c: Context, action: Schemas.Action, job?: Job.Job) => Promise<boolean>
  /** Throws a 403 unless `authorize` allows the action. */
  readonly guard: (c: Context, action: Schemas.Action, job?: Job.Job) => Promise<void>
  /** Reads the path's job inside the request's scope (outside it is a 404), then checks the action on it. */
  readonly jobFor: (c: Context, action: Schemas.Action) => Promise<Job.Job>
  /** A job as a response shows it: with the actions the caller may take on it. */
  readonly view: (c: Context, job: Job.Job, extra?: Record<string, unknown>) => Promise<unknown>
  /** Many jobs as a response shows them. */
  readonly views: (c: Context, jobs: ReadonlyArray<Job.Job>) => Promise<ReadonlyArray<unknown>>
}

const jsonMedia = /^application\/([\w.-]+\+)?json$/

/** A problem as the response, its `instance` the request's path. */
export const respond = (c: Context, problem: Problem.Problem, headers?: Problem.HeadersInit) =>
  Problem.toResponse(problem, { instance: c.req.path, ...(headers === undefined ? {} : { headers }) })

/** The app with its error handler and request guards (body size first, then query text, then media type). */
export const make = <E extends Env>(options: JobsApi.Options<E>): Router<E> => {
  OpenApi.register()
  const runner = Runner.make(options.runtime)
  const authorize = options.authorize
  const limit = options.bodyLimit ?? defaultBodyLimit
  const app = new Hono<E>({ strict: false })

  const logFailure = (cause: Cause.Cause<unknown>) => {
    runner.runFork(Effect.logError("jobloom http: request failed", cause))
  }

  app.onError((error, c) => {
    if (error instanceof ProblemError) return respond(c, error.problem)
    if (error instanceof HTTPException && error.status < 500) {
      // raised by the framework itself, e.g. malformed JSON in a body
      const detail = error.message || "bad request"
      return respond(
        c,
        error.status === 400
          ? Problem.validation([{ path: "", message: detail }], detail)
          : Problem.http(error.status, detail)
      )
    }
    logFailure(Cause.die(error))
    return respond(c, Problem.internal())
  })

  // used when the app is served on its own; mounted, unknown paths are the host's to answer
  app.notFound((c) => respond(c, Problem.http(404, `no route for ${c.req.method} ${c.req.path}`)))

  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      // the rest of the body is never read: closing the connection keeps it from being parsed as a next request
      onError: (c) => respond(c, Problem.payloadTooLarge(limit), { connection: "close" })
    })
  )
  app.use("*", async (c, next) => {
    const bad = QueryText.errors(c)
    if (bad.length > 0) throw new ProblemError(Problem.validation(bad))
    return next()
  })
  app.use("*", async (c, next) => {
    const header = c.req.header("content-type")
    const media = header?.split(";")[0]?.trim().toLowerCase() ?? ""
    if (jsonMedia.test(media) || !(await hasBody(c))) return next()
    throw new ProblemError(Problem.unsupportedMediaType(media))
  })

  const toProblemError = (cause: Cause.Cause<unknown>): ProblemError => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && Problem.isEngineError(failure.value)) {
      const problem = Problem.fromError(failure.value)
      if (problem.status === 503) {
        // one line per request: the store is down for every request alike, a stack each would bury the log
        const error = failure.value as { readonly message?: unknown }
        const message = String(error.message ?? "").replace(/\s+/g, " ")
        runner.runFork(Effect.logWarning(`jobloom http: store unavailable: ${message}`))
      } else if (problem.status >= 500) logFailure(cause)
      return new ProblemError(problem)
    }
    logFailure(cause)
    return new ProblemError(Problem.internal())
  }

  const exec = async <A, Err>(f: (jobs: Jobs.Jobs.Service) => Effect.Effect<A, Err>): Promise<A> => {
    const exit = await runner.runExit(Effect.flatMap(Jobs.Jobs, f))
    if (Exit.isSuccess(exit)) return exit.value
    throw toProblemError(exit.cause)
  }

  const scopes = new WeakMap<Context, Promise<JobScope.JobScope | undefined>>()
  const scopeFor = (c: Context): Promise<JobScope.JobScope | undefined> => {
    if (options.scope === undefined) return Promise.resolve(undefined)
    let scope = scopes.get(c)
    if (scope === undefined) {
      scope = Promise.resolve(options.scope(c as Context<E>))
      scopes.set(c, scope)
    }
    return scope
  }

  const allowed = async (c: Context, action: Schemas.Action, job?: Job.Job): Promise<boolean> =>
    authorize === undefined || (await authorize(action, job, c as Context<E>)) === true

  const guard = async (c: Context, action: Schemas.Action, job?: Job.Job): Promise<void> => {
    if (!(await allowed(c, action, job))) throw new ProblemError(Problem.forbidden(action, job?.id))
  }

  const jobFor = async (c: Context, action: Schemas.Action): Promise<Job.Job> => {
    const id = c.req.param("id") ?? ""
    const scope = await scopeFor(c)
    const job = await exec((jobs) => jobs.get(id, { scope }))
    await guard(c, action, job)
    return job
  }

  const view = async (c: Context, job: Job.Job, extra?: Record<string, unknown>) => {
    const granted = await Promise.all(Schemas.jobActions.map((action) => allowed(c, action, job)))
    return { ...job, userPermissions: Schemas.jobActions.filter((_, i) => granted[i]), ...extra }
  }

  return {
    app,
    options,
    runner,
    pollInterval: Duration.decode(options.pollInterval ?? Events.defaultPollInterval),
    exec,
    toProblemError,
    scopeFor,
    allowed,
    guard,
    jobFor,
    view,
    views: (c, jobs) => Promise.all(jobs.map((job) => view(c, job)))
  }
}

/** Whether the request carries a non-empty body. */
const hasBody = async (c: Context): Promise<boolean> => {
  const length = c.req.header("content-length")
  if (length !== undefined) return Number(length) > 0
  if (c.req.raw.body === null) return false
  return (await c.req.arrayBuffer()).byteLength > 0
}
