/**
 * The native REST surface (DESIGN §5) as a Hono sub-app: `app.route("/api/v1", JobsApi.make({ runtime }))`.
 *
 * A thin adapter: it validates requests with the engine's own Effect Schemas (as Standard Schema validators), calls
 * the engine, and maps its tagged errors to `application/problem+json` in one place (`Problem.fromError`). The
 * OpenAPI 3.1 document is generated from the same Schemas by hono-openapi.
 *
 * Authorization has two parts, both the host's: `scope` (the jobs a request may see at all, applied by the store to
 * every collection; outside it a job is a 404) and `authorize` (each action, on a job inside the scope; a 403).
 *
 * @since 0.1.0
 */
import { Job, JobError, Jobs, JobScope } from "@jobloom/core"
import type { StandardSchemaV1 } from "@standard-schema/spec"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { Context, Env, MiddlewareHandler } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { HTTPException } from "hono/http-exception"
import { describeRoute, generateSpecs, resolver, validator } from "hono-openapi"
import type { DescribeRouteOptions } from "hono-openapi"
import * as Dashboard from "./dashboard/Dashboard.js"
import * as Docs from "./Docs.js"
import * as CollectionEvents from "./internal/collectionEvents.js"
import * as Events from "./internal/events.js"
import * as OpenApi from "./internal/openapi.js"
import * as QueryText from "./internal/queryText.js"
import * as Runner from "./internal/runner.js"
import * as Schemas from "./internal/schemas.js"
import * as Problem from "./Problem.js"

/** An action the `authorize` hook decides: `view`, `create`, `edit`, `run`, `cancel`, `retry`, `pause`, `resume`, `delete`. */
export type Action = Schemas.Action

/** Every action, in the order above. */
export const actions: ReadonlyArray<Action> = Schemas.Action.literals

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

/** The default body limit: 1 MiB. */
export const defaultBodyLimit = 1024 * 1024

/** Thrown inside handlers to answer with a problem; caught by the sub-app's own error handler. */
class ProblemError extends Error {
  constructor(readonly problem: Problem.Problem) {
    super(problem.detail)
  }
}

const jsonMedia = /^application\/([\w.-]+\+)?json$/

/** Builds the sub-app. Mount it anywhere with `host.route(prefix, app)`; trailing slashes are optional. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  OpenApi.register()
  const runner = Runner.make(options.runtime)
  const authorize = options.authorize
  const limit = options.bodyLimit ?? defaultBodyLimit
  const pollInterval = Duration.decode(options.pollInterval ?? Events.defaultPollInterval)
  const app = new Hono<E>({ strict: false })

  const logFailure = (cause: Cause.Cause<unknown>) => {
    runner.runFork(Effect.logError("jobloom http: request failed", cause))
  }

  const respond = (c: Context, problem: Problem.Problem, headers?: Problem.HeadersInit) =>
    Problem.toResponse(problem, { instance: c.req.path, ...(headers === undefined ? {} : { headers }) })

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

  /** Runs an engine call; its failure becomes the mapped problem. */
  const exec = async <A, Err>(f: (jobs: Jobs.Jobs) => Effect.Effect<A, Err>): Promise<A> => {
    const exit = await runner.runExit(Effect.flatMap(Jobs.Jobs, f))
    if (Exit.isSuccess(exit)) return exit.value
    throw toProblemError(exit.cause)
  }

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

  const scopes = new WeakMap<Context, Promise<JobScope.JobScope | undefined>>()
  /** The request's scope, asked of the host once per request. Every route that reads jobs passes it to the engine. */
  const scopeFor = (c: Context): Promise<JobScope.JobScope | undefined> => {
    if (options.scope === undefined) return Promise.resolve(undefined)
    let scope = scopes.get(c)
    if (scope === undefined) {
      scope = Promise.resolve(options.scope(c as Context<E>))
      scopes.set(c, scope)
    }
    return scope
  }

  const allowed = async (c: Context, action: Action, job?: Job.Job): Promise<boolean> =>
    authorize === undefined || (await authorize(action, job, c as Context<E>)) === true

  const guard = async (c: Context, action: Action, job?: Job.Job): Promise<void> => {
    if (!(await allowed(c, action, job))) throw new ProblemError(Problem.forbidden(action, job?.id))
  }

  /** Reads the job inside the request's scope (outside it is a 404), then checks the action on it. */
  const jobFor = async (c: Context, action: Action): Promise<Job.Job> => {
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

  const views = (c: Context, jobs: ReadonlyArray<Job.Job>) => Promise.all(jobs.map((job) => view(c, job)))

  // ---- request guards: body size first, then media type ----

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

  // ---- validation ----

  const onInvalid =
    (reparse?: (data: unknown) => StandardSchemaV1) =>
    async (result: { success: boolean; error?: ReadonlyArray<StandardSchemaV1.Issue>; data: unknown }, c: Context) => {
      if (result.success) return
      let issues = result.error ?? []
      if (reparse !== undefined) {
        // a union's issues mix every member's; report those of the member the body meant
        const again = await reparse(result.data)["~standard"].validate(result.data)
        if (again.issues !== undefined) issues = again.issues
      }
      return respond(c, Problem.validation(fieldErrors(issues, result.data)))
    }

  const query = <A, I>(schema: Schema.Schema<A, I, never>) =>
    validator("query", OpenApi.standard(schema), onInvalid()) as unknown as MiddlewareHandler<E>

  const json = <A, I>(schema: Schema.Schema<A, I, never>, reparse?: (data: unknown) => StandardSchemaV1) =>
    validator(
      "json",
      OpenApi.standard(schema, { onExcessProperty: "error" }),
      onInvalid(reparse)
    ) as unknown as MiddlewareHandler<E>

  const valid = <A>(c: Context, target: "query" | "json"): A => c.req.valid(target as never) as A

  const createOne = OpenApi.standard(Jobs.CreateJob, { onExcessProperty: "error" })
  const createMany = OpenApi.standard(Schemas.CreateMany, { onExcessProperty: "error" })
  const pickCreate = (data: unknown) =>
    typeof data === "object" && data !== null && "jobs" in data ? createMany : createOne

  // ---- documentation helpers ----

  const body = (description: string, schema: Schema.Schema.AnyNoContext, status = "200") => ({
    [status]: { description, content: { "application/json": { schema: resolver(OpenApi.standard(schema)) } } }
  })
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
  const describe = (spec: DescribeRouteOptions) => describeRoute(spec) as unknown as MiddlewareHandler<E>
  const paths = (path: string) => [path, `${path}/`]

  // ---- routes ----

  app.on(
    "GET",
    paths("/jobs"),
    describe({
      operationId: "listJobs",
      tags: ["jobs"],
      summary: "List jobs",
      description: "Filters apply before paging. `status` takes one status, a comma list, `active` or `terminal`.",
      responses: { ...body("a page of jobs", Schemas.JobPageView), ...problems(400, 403) }
    }),
    query(Schemas.ListQuery),
    async (c) => {
      const q = valid<typeof Schemas.ListQuery.Type>(c, "query")
      await guard(c, "view")
      const scope = await scopeFor(c)
      const page = await exec((jobs) =>
        jobs.list({
          ...filters(q),
          scope,
          ...(q.sort === undefined ? {} : { sort: q.sort }),
          ...(q.order === undefined ? {} : { order: q.order }),
          ...(q.limit === undefined ? {} : { limit: q.limit }),
          ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
          ...(q.withTotal === undefined ? {} : { withTotal: q.withTotal })
        })
      )
      return c.json({
        items: await views(c, page.items),
        nextCursor: page.nextCursor,
        ...(page.total === undefined ? {} : { total: page.total })
      })
    }
  )

  app.on(
    "POST",
    paths("/jobs"),
    describe({
      operationId: "createJobs",
      tags: ["jobs"],
      summary: "Create one job, or many with { jobs: [...] }",
      description:
        "201 with the job, or 200 with the existing job when a non-terminal job holds the `idempotencyKey`. " +
        "`{ jobs: [...] }` creates all or none and answers 201 `{ batchId, jobs }`. `?startNow=true` " +
        "(or Antenna's `?start_now=true`) queues at once.",
      responses: {
        ...body("the existing job of an idempotency key", Schemas.JobView),
        ...body("the created job, or `{ batchId, jobs }`", Schemas.CreatedView, "201"),
        ...problems(400, 403, 413, 415)
      }
    }),
    query(Schemas.CreateQuery),
    json(Schemas.CreateBody, pickCreate),
    async (c) => {
      const q = valid<typeof Schemas.CreateQuery.Type>(c, "query")
      const input = valid<typeof Schemas.CreateBody.Type>(c, "json")
      const startNow = q.startNow ?? q.start_now ?? false
      await guard(c, "create")
      const scope = await scopeFor(c)
      if ("jobs" in input) {
        const created = await exec((jobs) => jobs.createMany(input.jobs, { startNow, scope }))
        return c.json({ batchId: created.batchId, jobs: await views(c, created.jobs) }, 201)
      }
      const { job, created } = await exec((jobs) => jobs.create(input, { startNow, scope }))
      // an existing holder is inside the scope (keys are looked up there); the caller must still be allowed to see it
      if (!created) await guard(c, "view", job)
      if (created) c.header("location", `${c.req.path.replace(/\/+$/, "")}/${encodeURIComponent(job.id)}`)
      return c.json(await view(c, job), created ? 201 : 200)
    }
  )

  app.on(
    "DELETE",
    paths("/jobs"),
    describe({
      operationId: "deleteJobs",
      tags: ["jobs"],
      summary: "Delete CREATED and terminal jobs matching every given filter",
      description: "No filter at all is a 400 unless `all=true`.",
      responses: { ...body("how many jobs were deleted", Schemas.Deleted), ...problems(400, 403) }
    }),
    query(Schemas.DeleteManyQuery),
    async (c) => {
      const q = valid<typeof Schemas.DeleteManyQuery.Type>(c, "query")
      await guard(c, "delete")
      const scope = await scopeFor(c)
      const deleted = await exec((jobs) =>
        jobs.deleteMany({
          scope,
          ...(q.status === undefined ? {} : { statuses: q.status }),
          ...(q.type === undefined ? {} : { types: q.type }),
          ...(q.owner === undefined ? {} : { owner: q.owner }),
          ...(q.createdBefore === undefined ? {} : { createdBefore: q.createdBefore }),
          ...(q.finishedBefore === undefined ? {} : { finishedBefore: q.finishedBefore }),
          ...(q.all === undefined ? {} : { all: q.all })
        })
      )
      return c.json({ deleted })
    }
  )

  app.on(
    "GET",
    paths("/jobs/stats"),
    describe({
      operationId: "jobStats",
      tags: ["jobs"],
      summary: "Counts of jobs by status and by type",
      responses: { ...body("the counts; byStatus lists all nine statuses", Jobs.JobStats), ...problems(400, 403) }
    }),
    query(Schemas.StatsQuery),
    async (c) => {
      const q = valid<typeof Schemas.StatsQuery.Type>(c, "query")
      await guard(c, "view")
      const scope = await scopeFor(c)
      return c.json(await exec((jobs) => jobs.stats({ ...filters(q), scope })))
    }
  )

  app.on(
    "GET",
    paths("/jobs/:id"),
    describe({
      operationId: "getJob",
      tags: ["jobs"],
      summary: "One job",
      description: "`?logs=N` embeds the newest N log lines as `logs`.",
      responses: { ...body("the job", Schemas.JobView), ...problems(400, 403, 404) }
    }),
    query(Schemas.GetQuery),
    async (c) => {
      const q = valid<typeof Schemas.GetQuery.Type>(c, "query")
      const job = await jobFor(c, "view")
      if (q.logs === undefined || q.logs === 0) return c.json(await view(c, job))
      const logs = await exec((jobs) => jobs.logs(job.id, { limit: q.logs }))
      return c.json(await view(c, job, { logs: logs.items }))
    }
  )

  app.on(
    "PATCH",
    paths("/jobs/:id"),
    describe({
      operationId: "updateJob",
      tags: ["jobs"],
      summary: "Edit a CREATED, QUEUED or PAUSED job",
      responses: { ...body("the edited job", Schemas.JobView), ...problems(400, 403, 404, 409, 413, 415) }
    }),
    json(Jobs.UpdateJob),
    async (c) => {
      const patch = valid<typeof Jobs.UpdateJob.Type>(c, "json")
      const job = await jobFor(c, "edit")
      return c.json(await view(c, await exec((jobs) => jobs.update(job.id, patch))))
    }
  )

  app.on(
    "DELETE",
    paths("/jobs/:id"),
    describe({
      operationId: "deleteJob",
      tags: ["jobs"],
      summary: "Delete a CREATED or terminal job, with its logs and result",
      description: "Any other status is a 409 unless `?force=true`, which cancels first.",
      responses: { "204": { description: "deleted" }, ...problems(400, 403, 404, 409) }
    }),
    query(Schemas.DeleteQuery),
    async (c) => {
      const q = valid<typeof Schemas.DeleteQuery.Type>(c, "query")
      const job = await jobFor(c, "delete")
      await exec((jobs) => jobs.delete(job.id, { force: q.force ?? false }))
      return c.body(null, 204)
    }
  )

  const transitions = [
    ["run", "Queue a CREATED job"],
    ["cancel", "Cancel a job (a RUNNING job goes CANCELLING until its handler is interrupted)"],
    ["retry", "Queue a terminal job again with a fresh attempt budget"],
    ["pause", "Pause a QUEUED job"],
    ["resume", "Queue a PAUSED job again"]
  ] as const
  for (const [action, summary] of transitions) {
    app.on(
      "POST",
      paths(`/jobs/:id/${action}`),
      describe({
        operationId: `${action}Job`,
        tags: ["actions"],
        summary,
        description:
          "Takes no body. Not allowed from the job's status: 409 naming `currentStatus`." +
          (action === "retry"
            ? " A retry keeps the job's SUCCEEDED items and hands the handler the others; `?full=true` reruns all."
            : ""),
        responses: { ...body("the job after the action", Schemas.JobView), ...problems(400, 403, 404, 409, 413, 415) }
      }),
      query(action === "retry" ? Schemas.RetryQuery : Schemas.NoQuery),
      async (c) => {
        const q = valid<{ readonly full?: boolean }>(c, "query")
        const job = await jobFor(c, action)
        const done = await exec((jobs) =>
          action === "retry" ? jobs.retry(job.id, { full: q.full ?? false }) : jobs[action](job.id)
        )
        return c.json(await view(c, done))
      }
    )
  }

  app.on(
    "GET",
    paths("/jobs/:id/items"),
    describe({
      operationId: "jobItems",
      tags: ["jobs"],
      summary: "A job's items (per-input records) in order",
      description: "`status` takes one item status or a comma list; pages follow `nextCursor`.",
      responses: { ...body("a page of items", Schemas.ItemPageView), ...problems(400, 403, 404) }
    }),
    query(Schemas.ItemsQuery),
    async (c) => {
      const q = valid<typeof Schemas.ItemsQuery.Type>(c, "query")
      const job = await jobFor(c, "view")
      return c.json(
        await exec((jobs) =>
          jobs.items(job.id, {
            ...(q.status === undefined ? {} : { statuses: q.status }),
            ...(q.limit === undefined ? {} : { limit: q.limit }),
            ...(q.cursor === undefined ? {} : { cursor: q.cursor })
          })
        )
      )
    }
  )

  app.on(
    "GET",
    paths("/jobs/:id/logs"),
    describe({
      operationId: "jobLogs",
      tags: ["jobs"],
      summary: "A job's log lines, newest first",
      responses: { ...body("a page of log lines", Schemas.LogPageView), ...problems(400, 403, 404) }
    }),
    query(Schemas.LogsQuery),
    async (c) => {
      const q = valid<typeof Schemas.LogsQuery.Type>(c, "query")
      const job = await jobFor(c, "view")
      return c.json(await exec((jobs) => jobs.logs(job.id, q)))
    }
  )

  app.on(
    "GET",
    paths("/jobs/:id/result"),
    describe({
      operationId: "jobResult",
      tags: ["results"],
      summary: "A job's result; 404 while it has none",
      responses: { ...body("the result", Job.JobResult), ...problems(400, 403, 404) }
    }),
    query(Schemas.ResultQuery),
    async (c) => {
      const q = valid<typeof Schemas.ResultQuery.Type>(c, "query")
      const job = await jobFor(c, "view")
      return c.json(await exec((jobs) => jobs.result(job.id, { compact: q.compact ?? false })))
    }
  )

  app.on(
    "GET",
    paths("/jobs/:id/events"),
    describe({
      operationId: "jobEvents",
      tags: ["jobs"],
      summary: "Server-Sent Events of a job until it is terminal",
      description:
        "Events: `snapshot` (the job, first), then `status`, `progress` and `log` in order, and `deleted`; the " +
        "stream ends after a terminal status. It is subscribed before the snapshot is read, so nothing between " +
        "them is missed. Event ids increase within one stream; a reconnecting client (`Last-Event-ID` or not) " +
        "gets a fresh snapshot first, and older log lines from `GET /jobs/{id}/logs`.",
      responses: {
        "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } },
        ...problems(403, 404)
      }
    }),
    (c) =>
      Events.respond(c, {
        runner,
        jobId: c.req.param("id") ?? "",
        pollInterval,
        open: async (read) => {
          if (Exit.isFailure(read)) throw toProblemError(read.cause)
          if (!JobScope.contains(await scopeFor(c), read.value)) {
            throw new ProblemError(Problem.fromError(new JobError.JobNotFound({ jobId: read.value.id })))
          }
          await guard(c, "view", read.value)
        },
        snapshot: (job) => view(c, job)
      })
  )

  app.on(
    "GET",
    paths("/events"),
    describe({
      operationId: "events",
      tags: ["jobs"],
      summary: "Server-Sent Events of every job matching a list filter",
      description:
        "Takes the filters of `GET /jobs`. Events: `snapshot` first (`{ items, nextCursor }`: the first page by " +
        "`sort`, `order` and `limit`), then for matching jobs `created` and `entered` (the whole job: new, or " +
        "brought into the filter by a status), `status`, `progress`, `log` (with `logs=true`), `left` (a status " +
        "took it out of the filter) and `deleted`. Only jobs inside the request's scope that " +
        "`authorize('view', job)` allows are streamed. Other processes' changes arrive by polling. The " +
        "stream stays open; a reconnecting client gets a fresh snapshot.",
      responses: {
        "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } },
        ...problems(400, 403)
      }
    }),
    query(Schemas.EventsQuery),
    async (c) => {
      const q = valid<typeof Schemas.EventsQuery.Type>(c, "query")
      await guard(c, "view")
      // the request's scope joins the filter: the store applies it to the snapshot and polls, the stream to events
      const filter = { ...filters(q), scope: await scopeFor(c) }
      return CollectionEvents.respond(c, {
        runner,
        filter,
        page: {
          ...(q.sort === undefined ? {} : { sort: q.sort }),
          ...(q.order === undefined ? {} : { order: q.order }),
          ...(q.limit === undefined ? {} : { limit: q.limit })
        },
        logs: q.logs ?? false,
        mayView: (job) => allowed(c, "view", job),
        view: (job) => view(c, job),
        pollInterval,
        toError: toProblemError
      })
    }
  )

  app.on(
    "GET",
    paths("/results/:resultId"),
    describe({
      operationId: "getResult",
      tags: ["results"],
      summary: "A result by its id",
      responses: { ...body("the result", Job.JobResult), ...problems(400, 403, 404) }
    }),
    query(Schemas.ResultQuery),
    async (c) => {
      const q = valid<typeof Schemas.ResultQuery.Type>(c, "query")
      const resultId = c.req.param("resultId") ?? ""
      const scope = await scopeFor(c)
      await guard(c, "view", await exec((jobs) => jobs.jobByResultId(resultId, { scope })))
      return c.json(await exec((jobs) => jobs.resultById(resultId, { compact: q.compact ?? false, scope })))
    }
  )

  app.on(
    "GET",
    paths("/results/:resultId/job"),
    describe({
      operationId: "getResultJob",
      tags: ["results"],
      summary: "The job that produced a result",
      responses: { ...body("the job", Schemas.JobView), ...problems(403, 404) }
    }),
    async (c) => {
      const scope = await scopeFor(c)
      const job = await exec((jobs) => jobs.jobByResultId(c.req.param("resultId") ?? "", { scope }))
      await guard(c, "view", job)
      return c.json(await view(c, job))
    }
  )

  app.on(
    "GET",
    paths("/batches/:batchId"),
    describe({
      operationId: "getBatch",
      tags: ["jobs"],
      summary: "A batch's counts by status and overall state",
      responses: { ...body("the batch", Jobs.BatchSummary), ...problems(403, 404) }
    }),
    async (c) => {
      await guard(c, "view")
      const scope = await scopeFor(c)
      return c.json(await exec((jobs) => jobs.batch(c.req.param("batchId") ?? "", { scope })))
    }
  )

  app.on(
    "GET",
    paths("/job-types"),
    describe({
      operationId: "listJobTypes",
      tags: ["job types"],
      summary: "Registered job types with their stages and params JSON Schema",
      responses: { ...body("the job types", Schemas.JobTypeList), ...problems(403) }
    }),
    async (c) => {
      await guard(c, "view")
      return c.json({ items: await exec((jobs) => Effect.sync(() => jobs.types())) })
    }
  )

  const documents = new Map<string, Promise<unknown>>()
  app.on(
    "GET",
    paths("/openapi.json"),
    describe({
      operationId: "openApi",
      tags: ["meta"],
      summary: "This OpenAPI 3.1 document",
      responses: { "200": { description: "the document", content: { "application/json": {} } } }
    }),
    async (c) => {
      const base = basePath(c, "/openapi.json")
      let document = documents.get(base)
      if (document === undefined) {
        document = generateSpecs(
          app,
          {
            documentation: {
              info: {
                title: options.info?.title ?? "jobloom",
                version: options.info?.version ?? "0.1.0",
                description: options.info?.description ?? "Jobs: create, watch, run, cancel, retry, pause and resume."
              },
              servers: [{ url: base === "" ? "/" : base }]
            },
            // every route is also registered with a trailing slash; the document lists each once
            exclude: [/.\/$/],
            excludeStaticFile: false,
            defaultValidationErrorResponse: false
          },
          c
        )
        document.catch(() => documents.delete(base))
        documents.set(base, document)
      }
      return c.json(await document)
    }
  )

  Docs.mount(app, describe, options.info?.title)

  // the dashboard page talks to this router, wherever the host mounted it
  if (options.dashboard !== false) {
    const dashboard = Dashboard.make<E>({
      api: (mount) => mount.slice(0, mount.length - "/dashboard".length),
      ...(options.info?.title === undefined ? {} : { title: options.info.title })
    })
    for (const path of paths("/dashboard")) app.route(path, dashboard)
  }

  return app
}

/** The same as {@link make}, under the name the design uses. */
export const jobsApi = make

const problemDescriptions: Record<number, string> = {
  400: "invalid request: `errors` names each bad field",
  403: "the authorize hook refused",
  404: "unknown job, result or batch",
  409: "not allowed from the job's status: `currentStatus` names it",
  413: "body over the limit; the connection is closed",
  415: "a body with a content type other than JSON"
}

/** The mount prefix, from the request path and the route's own path. */
const basePath = (c: Context, suffix: string): string => {
  const path = c.req.path.replace(/\/+$/, "")
  return path.endsWith(suffix) ? path.slice(0, -suffix.length) : ""
}

/** Whether the request carries a non-empty body. */
const hasBody = async (c: Context): Promise<boolean> => {
  const length = c.req.header("content-length")
  if (length !== undefined) return Number(length) > 0
  if (c.req.raw.body === null) return false
  return (await c.req.arrayBuffer()).byteLength > 0
}

/** The filters shared by list and stats, from query fields that are already decoded. */
const filters = (q: {
  readonly number?: ReadonlyArray<number>
  readonly status?: ReadonlyArray<Job.JobStatus>
  readonly type?: ReadonlyArray<string>
  readonly queue?: ReadonlyArray<string>
  readonly owner?: string
  readonly tag?: string
  readonly batchId?: string
  readonly q?: string
  readonly createdAfter?: string
  readonly createdBefore?: string
  readonly finishedBefore?: string
}): Jobs.JobQuery => ({
  ...(q.number === undefined ? {} : { numbers: q.number }),
  ...(q.status === undefined ? {} : { statuses: q.status }),
  ...(q.type === undefined ? {} : { types: q.type }),
  ...(q.queue === undefined ? {} : { queues: q.queue }),
  ...(q.owner === undefined ? {} : { owner: q.owner }),
  ...(q.tag === undefined ? {} : { tag: q.tag }),
  ...(q.batchId === undefined ? {} : { batchId: q.batchId }),
  ...(q.q === undefined ? {} : { q: q.q }),
  ...(q.createdAfter === undefined ? {} : { createdAfter: q.createdAfter }),
  ...(q.createdBefore === undefined ? {} : { createdBefore: q.createdBefore }),
  ...(q.finishedBefore === undefined ? {} : { finishedBefore: q.finishedBefore })
})

/** Standard Schema issues as field errors: `path` dotted, the `Expected undefined`/`null` noise of optional fields gone. */
const fieldErrors = (
  issues: ReadonlyArray<StandardSchemaV1.Issue>,
  data: unknown
): ReadonlyArray<Problem.FieldError> => {
  const all = issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join("."),
    message: issue.message
  }))
  if (all.some((e) => e.path === "") && (typeof data !== "object" || data === null || Array.isArray(data))) {
    return [{ path: "", message: "must be a JSON object" }]
  }
  const seen = new Set<string>()
  return all.filter((error) => {
    // a nullable field's union also reports its null member: noise beside the real message
    if (/^Expected (undefined|null)\b/.test(error.message) && all.some((o) => o.path === error.path && o !== error)) {
      return false
    }
    const key = `${error.path}\u0000${error.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
