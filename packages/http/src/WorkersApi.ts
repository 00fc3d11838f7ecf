/**
 * Remote workers over HTTP: a Hono sub-app with the routes a worker in any language uses to run jobs, over the core
 * `RemoteWorker` service. Mount it beside the jobs API: `app.route("/api", WorkersApi.make({ runtime }))` serves
 * `/api/workers/claim`, `/api/workers/jobs/{id}/heartbeat`, … and `/api/workers/openapi.json` (this sub-app's own
 * OpenAPI document, so a client can be generated).
 *
 * One job's life: `POST /workers/claim` (long-poll with `waitMs`) answers jobs with a `token` each; the worker then
 * heartbeats every `heartbeatMs` (`POST /workers/jobs/{id}/heartbeat`; the answer's `stop` says cancel), reports
 * `progress`, `items` and `logs`, and settles with `succeed` or `fail`. Every call after the claim presents the
 * token: a stale one changes nothing and is a 409 naming the job's current status; an unknown job is a 404.
 *
 * Authorization is the host's, as for the jobs API: its own middleware, its `authorize` hook asked for the action
 * `work` on every call (without a job: a worker is trusted as a worker, not per job, and reading each job would cost
 * every progress report a query), and its `scope`: a worker serves every owner, since a claim takes whichever job is
 * due, so a caller whose scope is narrower than every job is refused (403).
 *
 * @since 0.1.0
 */
import { RemoteWorker } from "@jobloom/core"
import type { StandardSchemaV1 } from "@standard-schema/spec"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Schema from "effect/Schema"
import type { Context, Env, MiddlewareHandler } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { HTTPException } from "hono/http-exception"
import { describeRoute, generateSpecs, resolver, validator } from "hono-openapi"
import type { DescribeRouteOptions } from "hono-openapi"
import * as OpenApi from "./internal/openapi.js"
import * as Schemas from "./internal/workers/schemas.js"
import type { Authorize, ScopeOf } from "./JobsApi.js"
import * as Problem from "./Problem.js"

/** Where the worker routes run their Effects: anything that provides the `RemoteWorker` service. */
export type WorkersRuntime =
  ManagedRuntime.ManagedRuntime<RemoteWorker.RemoteWorker, unknown> | Runtime.Runtime<RemoteWorker.RemoteWorker>

/** Options of {@link make}. */
export interface Options<E extends Env = any> {
  readonly runtime: WorkersRuntime
  /** The host's scope hook (as the jobs API's); a scope narrower than every job is refused. */
  readonly scope?: ScopeOf<E>
  /** The host's authorize hook (as the jobs API's), asked for `work` on every call. */
  readonly authorize?: Authorize<E>
  /** Largest accepted request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number
  /** The OpenAPI document's `info`. */
  readonly info?: { readonly title?: string; readonly version?: string }
}

/** Thrown inside handlers to answer with a problem; caught by the sub-app's own error handler. */
class ProblemError extends Error {
  constructor(readonly problem: Problem.Problem) {
    super(problem.detail)
  }
}

/** 409: the token no longer holds the job. */
const leaseLost = (error: RemoteWorker.LeaseLost): Problem.Problem => ({
  type: "urn:jobloom:problem:lease-lost",
  title: "Conflict",
  status: 409,
  detail: error.message,
  jobId: error.jobId,
  currentStatus: error.status,
  action: "work"
})

const problemOf = (failure: unknown): Problem.Problem | undefined => {
  if (failure instanceof RemoteWorker.LeaseLost) return leaseLost(failure)
  return Problem.isEngineError(failure) ? Problem.fromError(failure) : undefined
}

/** Standard Schema issues as field errors with dotted paths, without the `Expected undefined` noise of optional fields. */
const fieldErrors = (issues: ReadonlyArray<StandardSchemaV1.Issue>, data: unknown): Array<Problem.FieldError> => {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return [{ path: "", message: "must be a JSON object" }]
  }
  const all = issues.map((issue) => ({
    path: (issue.path ?? []).map((s) => String(typeof s === "object" ? s.key : s)).join("."),
    message: issue.message
  }))
  const seen = new Set<string>()
  return all.filter((error) => {
    if (/^Expected (undefined|null)\b/.test(error.message) && all.some((o) => o.path === error.path && o !== error)) {
      return false
    }
    const key = `${error.path}\u0000${error.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const problemDescriptions: Record<number, string> = {
  400: "invalid request: `errors` names each bad field",
  403: "the authorize hook refused `work`, or the caller's scope is narrower than every job",
  404: "unknown job",
  409: "the token no longer holds the job (settled, rescued, claimed again): `currentStatus` names its status",
  413: "body over the limit; the connection is closed"
}

/** Builds the sub-app; mount it with `host.route(prefix, app)` (its routes start with `/workers`). */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  OpenApi.register()
  const runtime = options.runtime
  const limit = options.bodyLimit ?? 1024 * 1024
  const app = new Hono<E>({ strict: false })

  const run = <A, Err>(
    effect: Effect.Effect<A, Err, RemoteWorker.RemoteWorker>,
    signal?: AbortSignal
  ): Promise<Exit.Exit<A, unknown>> =>
    ManagedRuntime.isManagedRuntime(runtime)
      ? (runtime as ManagedRuntime.ManagedRuntime<RemoteWorker.RemoteWorker, unknown>).runPromiseExit(effect, {
          signal
        })
      : Runtime.runPromiseExit(runtime as Runtime.Runtime<RemoteWorker.RemoteWorker>)(effect, { signal })

  const respond = (c: Context, problem: Problem.Problem, headers?: Problem.HeadersInit) =>
    Problem.toResponse(problem, { instance: c.req.path, ...(headers === undefined ? {} : { headers }) })

  app.onError((error, c) => {
    if (error instanceof ProblemError) return respond(c, error.problem)
    if (error instanceof HTTPException && error.status < 500) {
      const detail = error.message || "bad request"
      return respond(
        c,
        error.status === 400
          ? Problem.validation([{ path: "", message: detail }], detail)
          : Problem.http(error.status, detail)
      )
    }
    console.error("jobloom workers: request failed", error)
    return respond(c, Problem.internal())
  })
  app.notFound((c) => respond(c, Problem.http(404, `no route for ${c.req.method} ${c.req.path}`)))

  /** Runs a service call; a failure becomes its problem. */
  const exec = async <A, Err>(
    c: Context,
    f: (service: RemoteWorker.RemoteWorker.Service) => Effect.Effect<A, Err>
  ): Promise<A> => {
    // the request's signal ends a long-poll whose client went away
    const exit = await run(Effect.flatMap(RemoteWorker.RemoteWorker, f), c.req.raw.signal)
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    const problem = Option.isSome(failure) ? problemOf(failure.value) : undefined
    if (problem !== undefined && problem.status < 500) throw new ProblemError(problem)
    if (Cause.isInterruptedOnly(exit.cause)) throw new ProblemError(Problem.http(499, "request aborted"))
    console.error("jobloom workers: request failed", Cause.pretty(exit.cause))
    throw new ProblemError(problem ?? Problem.internal())
  }

  /** The host's checks, on every route: `authorize("work")`, then a scope that sees every job. */
  const guard = async (c: Context): Promise<void> => {
    if (options.authorize !== undefined && (await options.authorize("work", undefined, c as Context<E>)) !== true) {
      throw new ProblemError(Problem.forbidden("work"))
    }
    if (options.scope !== undefined) {
      const scope = await options.scope(c as Context<E>)
      if (scope?.owners !== undefined) {
        throw new ProblemError({
          ...Problem.forbidden("work"),
          detail: "a worker serves every owner's jobs: this caller's scope is narrower"
        })
      }
    }
  }

  // only its own paths: mounted beside the jobs API under one prefix, it must not guard that API's requests
  app.use(
    "/workers/*",
    bodyLimit({
      maxSize: limit,
      onError: (c) => respond(c, Problem.payloadTooLarge(limit), { connection: "close" })
    })
  )

  const json = <A, I>(schema: Schema.Schema<A, I, never>) =>
    validator("json", OpenApi.standard(schema, { onExcessProperty: "error" }), (result, c) => {
      if (result.success) return
      return respond(c, Problem.validation(fieldErrors(result.error ?? [], result.data)))
    }) as unknown as MiddlewareHandler<E>
  const valid = <A>(c: Context): A => c.req.valid("json" as never) as A

  const answer = (description: string, schema: Schema.Schema.AnyNoContext, status = "200") => ({
    [status]: { description, content: { "application/json": { schema: resolver(OpenApi.standard(schema)) } } }
  })
  const noContent = { "204": { description: "accepted; written within the flush interval" } }
  const problems = (...statuses: ReadonlyArray<number>) =>
    Object.fromEntries(
      statuses.map((status) => [
        String(status),
        {
          description: problemDescriptions[status] ?? "error",
          content: { "application/problem+json": { schema: resolver(OpenApi.standard(Problem.Problem)) } }
        }
      ])
    )
  const describe = (spec: DescribeRouteOptions) =>
    describeRoute({ tags: ["workers"], ...spec }) as unknown as MiddlewareHandler<E>
  const jobParam = [{ name: "id", in: "path" as const, required: true, schema: { type: "string" as const } }]

  app.post(
    "/workers/claim",
    describe({
      operationId: "claimJobs",
      summary: "Claim due jobs of the types the worker serves (long-poll with waitMs)",
      description:
        "Each job comes with the claim's `token` and its lease; the type's concurrency limit holds across every " +
        "worker, in-process and remote. With `waitMs`, an idle worker waits until a job is due (woken within " +
        "milliseconds of its creation) or the wait ends: then `jobs` is empty.",
      responses: { ...answer("the claimed jobs", Schemas.ClaimAnswer), ...problems(400, 403, 413) }
    }),
    json(Schemas.ClaimBody),
    async (c) => {
      const body = valid<typeof Schemas.ClaimBody.Type>(c)
      await guard(c)
      const jobs = await exec(c, (service) => service.claim(body))
      return c.json({ jobs })
    }
  )

  app.post(
    "/workers/jobs/:id/heartbeat",
    describe({
      operationId: "heartbeatJob",
      summary: "Renew the lease; the answer says whether to stop (cancel, timeout, deadline)",
      parameters: jobParam,
      responses: {
        ...answer("the job's status and whether to stop", Schemas.HeartbeatAnswer),
        ...problems(400, 403, 404, 409)
      }
    }),
    json(Schemas.HeartbeatBody),
    async (c) => {
      const body = valid<typeof Schemas.HeartbeatBody.Type>(c)
      await guard(c)
      return c.json(await exec(c, (service) => service.heartbeat(c.req.param("id") ?? "", body.token)))
    }
  )

  app.post(
    "/workers/jobs/:id/progress",
    describe({
      operationId: "reportProgress",
      summary: "Report stage status, progress and params, and bare item counters",
      description: "Coalesced: the store sees a few writes a second per job however often a worker reports.",
      parameters: jobParam,
      responses: { ...noContent, ...problems(400, 403, 404, 409) }
    }),
    json(Schemas.ProgressBody),
    async (c) => {
      const { token, ...report } = valid<typeof Schemas.ProgressBody.Type>(c)
      await guard(c)
      await exec(c, (service) => service.progress(c.req.param("id") ?? "", token, report))
      return c.body(null, 204)
    }
  )

  app.post(
    "/workers/jobs/:id/items",
    describe({
      operationId: "reportItems",
      summary: "Report named items: PENDING adds, RUNNING starts, SUCCEEDED or FAILED ends each",
      parameters: jobParam,
      responses: { ...noContent, ...problems(400, 403, 404, 409) }
    }),
    json(Schemas.ItemsBody),
    async (c) => {
      const body = valid<typeof Schemas.ItemsBody.Type>(c)
      await guard(c)
      await exec(c, (service) => service.items(c.req.param("id") ?? "", body.token, body.items))
      return c.body(null, 204)
    }
  )

  app.post(
    "/workers/jobs/:id/logs",
    describe({
      operationId: "appendLogs",
      summary: "Append log lines to the job",
      parameters: jobParam,
      responses: { ...noContent, ...problems(400, 403, 404, 409) }
    }),
    json(Schemas.LogsBody),
    async (c) => {
      const body = valid<typeof Schemas.LogsBody.Type>(c)
      await guard(c)
      await exec(c, (service) => service.log(c.req.param("id") ?? "", body.token, body.lines))
      return c.body(null, 204)
    }
  )

  app.post(
    "/workers/jobs/:id/succeed",
    describe({
      operationId: "succeedJob",
      summary: "Settle the attempt as succeeded with its result",
      description:
        "The result is checked by the job type's result Schema (a refused one is a 400 naming `result`, and the " +
        "attempt goes on). After a cancel the job becomes CANCELLED, never SUCCEEDED.",
      parameters: jobParam,
      responses: { ...answer("the job's status now", Schemas.Settled), ...problems(400, 403, 404, 409) }
    }),
    json(Schemas.SucceedBody),
    async (c) => {
      const body = valid<typeof Schemas.SucceedBody.Type>(c)
      await guard(c)
      return c.json(await exec(c, (service) => service.succeed(c.req.param("id") ?? "", body.token, body.result)))
    }
  )

  app.post(
    "/workers/jobs/:id/fail",
    describe({
      operationId: "failJob",
      summary: "Settle the attempt as failed: retried with the type's backoff while attempts are left",
      description: "`retryable: false` fails the job for good (with `terminalReason`). After a cancel: CANCELLED.",
      parameters: jobParam,
      responses: { ...answer("the job's status now", Schemas.Settled), ...problems(400, 403, 404, 409) }
    }),
    json(Schemas.FailBody),
    async (c) => {
      const { token, ...failure } = valid<typeof Schemas.FailBody.Type>(c)
      await guard(c)
      return c.json(await exec(c, (service) => service.fail(c.req.param("id") ?? "", token, failure)))
    }
  )

  let document: Promise<unknown> | undefined
  app.get(
    "/workers/openapi.json",
    describe({
      operationId: "workersOpenApi",
      summary: "This OpenAPI 3.1 document of the worker routes",
      responses: { "200": { description: "the document", content: { "application/json": {} } } }
    }),
    async (c) => {
      if (document === undefined) {
        const path = c.req.path.replace(/\/+$/, "")
        const base = path.slice(0, path.length - "/workers/openapi.json".length)
        document = generateSpecs(
          app,
          {
            documentation: {
              info: {
                title: options.info?.title ?? "jobloom workers",
                version: options.info?.version ?? "0.1.0",
                description: "Remote workers: claim, heartbeat, report and settle jobs over HTTP."
              },
              servers: [{ url: base === "" ? "/" : base }]
            },
            excludeStaticFile: false,
            defaultValidationErrorResponse: false
          },
          c as never
        )
        document.catch(() => {
          document = undefined
        })
      }
      return c.json(await document)
    }
  )

  return app
}
