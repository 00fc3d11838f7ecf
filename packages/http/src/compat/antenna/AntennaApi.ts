/**
 * Antenna's job API (`/api/v2/jobs/…`, COMPAT.md §4) as a Hono sub-app over the engine, so Antenna's web UI runs
 * against jobloom unchanged: `app.route("/api/v2", AntennaApi.make({ runtime }))`. A job's Antenna `id` is its
 * `number`.
 *
 * @since 0.1.0
 */
import { type Job, type Jobs, JobScope } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import type { Action } from "../../JobsApi.js"
import { defaultBodyLimit } from "../../internal/router.js"
import * as Shared from "../shared.js"
import * as Drf from "./drf.js"
import * as OpenApi from "./openapi.js"
import * as Query from "./query.js"
import * as View from "./view.js"

/** Options of {@link make}: the same as every compat router's. */
export type Options<E extends Env = any> = Shared.Options<E>

/** Antenna's `logs_limit` default and maximum (`JOB_LOGS_DEFAULT_LIMIT`, `JOB_LOGS_MAX_LIMIT`). */
const logsLimit = { default: 1000, max: 5000 } as const

/** The job type `POST /jobs/` creates when the body names none (Antenna's `MLJob.key`). */
const defaultJobType = "ml"

/** Job fields of Antenna's that a job type may declare as params; otherwise they are kept in metadata. */
const paramFields = ["delay", "limit", "shuffle"] as const

type Body = Record<string, unknown>

/** A transition the job's status does not allow, as a DRF 409 naming the job by its Antenna id and status. */
const transitionRefused =
  <A>(job: Job.Job, action: string) =>
  (error: unknown): A => {
    if (error instanceof Shared.EngineFailure && error.tag === "InvalidTransition") {
      const from = (error.error as { readonly from: Job.JobStatus }).from
      throw Drf.detail(
        409,
        `Cannot ${action} job #${job.number}: it is ${View.statusOf({ status: from, attempt: job.attempt })}.`
      )
    }
    throw error
  }

/** A route with and without its trailing slash: `strict: false` does not survive mounting with `app.route`. */
const paths = (path: string): Array<string> => [path, `${path}/`]

const allMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

/** Builds the sub-app. Mount it at `/api/v2` (the UI's `API_URL`); trailing slashes are optional. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  const engine = Shared.engine(options.runtime)
  const app = new Hono<E>({ strict: false })
  const limit = options.bodyLimit ?? defaultBodyLimit

  app.onError((error, c) => {
    if (error instanceof Drf.DrfError) return c.json(error.body, error.status as 400)
    if (error instanceof Shared.EngineFailure) {
      const { status, body } = fromEngine(error)
      return c.json(body, status as 400)
    }
    engine.logFailure("jobloom antenna: request failed", error)
    return c.json({ detail: Drf.messages.server }, 500)
  })
  app.notFound((c) => c.json({ detail: Drf.messages.notFound }, 404))

  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      onError: (c) => c.json({ detail: `Request body is larger than ${limit} bytes.` }, 413, { connection: "close" })
    })
  )

  // ---- helpers ----

  const can = (c: Context, action: Action, job?: Job.Job) =>
    Shared.allowed(options.authorize, c as Context<E>, action, job)

  const guard = async (c: Context, action: Action, job?: Job.Job) => {
    if (!(await can(c, action, job))) throw Drf.detail(403, Drf.messages.forbidden)
  }

  const scope = (c: Context) => Shared.scopeOf(options, c as Context<E>)

  /** The job of the `:id` path parameter (Antenna's integer id), inside the caller's scope, or a 404. */
  const jobOf = async (c: Context): Promise<Job.Job> => {
    const id = c.req.param("id") ?? ""
    const job = /^[0-9]{1,15}$/.test(id) ? await Shared.jobByNumber(engine, await scope(c), Number(id)) : undefined
    if (job === undefined) throw Drf.detail(404, Drf.messages.notFound)
    return job
  }

  const permissions = async (c: Context, job: Job.Job): Promise<ReadonlyArray<string>> => {
    const [run, cancel, retry, edit, remove] = await Promise.all(
      (["run", "cancel", "retry", "edit", "delete"] as const).map((action) => can(c, action, job))
    )
    // `run` gates queue/cancel/retry in today's UI; the January 2025 UI gated them on `update`
    const runs = run || cancel || retry
    return [...(runs || edit ? ["update"] : []), ...(remove ? ["delete"] : []), ...(runs ? ["run"] : [])]
  }

  // the registry is fixed once the engine is built: the type names are read once
  let names: Promise<ReadonlyMap<string, string>> | undefined
  const typeNames = () =>
    (names ??= engine
      .exec((jobs) => Effect.sync(() => new Map(jobs.types().map((type) => [type.key, type.name] as const))))
      .catch((error: unknown) => {
        names = undefined
        throw error
      }))

  const render = async (c: Context, job: Job.Job, extra: { readonly logs?: ReadonlyArray<Job.LogEntry> } = {}) =>
    View.jobView(job, {
      base: baseOf(c),
      now: Date.now(),
      typeNames: await typeNames(),
      permissions: await permissions(c, job),
      ...extra
    })

  /** The full detail view: the newest `logs_limit` log lines. */
  const detailView = async (c: Context, job: Job.Job) => {
    const limit = logsLimitOf(c)
    const logs = await engine.exec((jobs) => jobs.logs(job.id, { limit }))
    return render(c, job, { logs: logs.items })
  }

  // ---- routes ----

  app.on(["GET", "HEAD"], paths("/jobs"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.list)
    await guard(c, "view")
    const request = Query.parse(new URL(c.req.url).searchParams)
    const page = await Shared.offsetPage(engine, Shared.withScope(request.query, await scope(c)), {
      sort: request.sort,
      order: request.order,
      offset: request.offset,
      limit: request.limit,
      keep: request.keep,
      compare: request.compare
    })
    const results = await Promise.all(page.items.map((job) => render(c, job)))
    return c.json({
      count: page.total,
      ...Drf.pageLinks(new URL(c.req.url), { limit: request.limit, offset: request.offset, count: page.total }),
      results,
      user_permissions: (await can(c, "create")) ? ["create"] : []
    })
  })

  app.on("POST", paths("/jobs"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.list)
    await guard(c, "create")
    const body = await readBody(c)
    const types = await engine.exec((jobs) => Effect.sync(() => jobs.types()))
    const input = createInput(body, types)
    const caller = await scope(c)
    if (!JobScope.contains(caller, { owner: input.owner ?? null })) {
      // a project the caller cannot see does not exist for it, as Antenna's related-field check says
      throw Drf.fields({ project_id: [`Invalid pk "${input.owner}" - object does not exist.`] })
    }
    const startNow = Drf.flag(c.req.query("start_now")) ?? false
    const { job } = await engine.exec((jobs) =>
      jobs.create(input, { startNow, ...(caller === undefined ? {} : { scope: caller }) })
    )
    const view = await render(c, job)
    c.header("location", String(view.details))
    return c.json(view, 201)
  })

  app.on("OPTIONS", paths("/jobs"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.list)
    return c.json(Drf.optionsBody("list", await can(c, "create")))
  })

  app.on(["GET", "HEAD"], paths("/jobs/:id"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.detail)
    const job = await jobOf(c)
    await guard(c, "view", job)
    return c.json(await detailView(c, job))
  })

  app.on("OPTIONS", paths("/jobs/:id"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.detail)
    const job = await jobOf(c)
    await guard(c, "view", job)
    return c.json(Drf.optionsBody("detail", await can(c, "edit", job)))
  })

  for (const method of ["PUT", "PATCH"] as const) {
    app.on(method, paths("/jobs/:id"), async (c) => {
      Drf.viewHeaders(c, Drf.allow.detail)
      const job = await jobOf(c)
      await guard(c, "edit", job)
      const body = await readBody(c)
      const types = await engine.exec((jobs) => Effect.sync(() => jobs.types()))
      const patch = editInput(job, body, types, method === "PUT")
      const edited = await engine
        .exec((jobs) => jobs.update(job.id, patch))
        .catch(transitionRefused<Job.Job>(job, "edit"))
      return c.json(await detailView(c, edited))
    })
  }

  app.on("DELETE", paths("/jobs/:id"), async (c) => {
    Drf.viewHeaders(c, Drf.allow.detail)
    const job = await jobOf(c)
    await guard(c, "delete", job)
    // Antenna deletes a job whatever its status: a running one is cancelled first
    await engine.exec((jobs) => jobs.delete(job.id, { force: true }))
    return c.body(null, 204)
  })

  for (const action of ["run", "cancel", "retry"] as const) {
    app.on("POST", paths(`/jobs/:id/${action}`), async (c) => {
      Drf.viewHeaders(c, Drf.allow.action)
      const job = await jobOf(c)
      await guard(c, action, job)
      const after = await engine.exec((jobs) => jobs[action](job.id)).catch(transitionRefused<Job.Job>(job, action))
      return c.json(await render(c, after))
    })
  }

  app.on("GET", paths("/openapi.json"), (c) => c.json(OpenApi.document(basePath(c.req.path, "/openapi.json"))))

  // DRF answers a method a view does not offer with 405 and its Allow header
  const refuse = (allowed: string) => (c: Context) => {
    Drf.viewHeaders(c, allowed)
    return c.json({ detail: Drf.messages.methodNotAllowed(c.req.method) }, 405)
  }
  app.on(allMethods, paths("/jobs"), refuse(Drf.allow.list))
  app.on(allMethods, paths("/jobs/:id"), refuse(Drf.allow.detail))
  app.on(allMethods, paths("/jobs/:id/:action{run|cancel|retry}"), refuse(Drf.allow.action))

  return app
}

// ---------------------------------------------------------------------------------------------------------------------

/** The mount's absolute URL, from the request: everything before the first `/jobs` segment. */
const baseOf = (c: Context): View.Base => {
  const url = new URL(c.req.url)
  const match = /^(.*?)\/jobs(?:\/|$)/.exec(url.pathname)
  return { url: `${url.origin}${match?.[1] ?? ""}` }
}

const basePath = (path: string, suffix: string): string => {
  const trimmed = path.replace(/\/+$/, "")
  return trimmed.endsWith(suffix) ? trimmed.slice(0, -suffix.length) : ""
}

const logsLimitOf = (c: Context): number => {
  const value = c.req.query("logs_limit")
  if (value === undefined || value === "") return logsLimit.default
  if (!/^[0-9]{1,10}$/.test(value)) throw Drf.fields({ logs_limit: [Drf.messages.integer] })
  const n = Number(value)
  if (n < 1) throw Drf.fields({ logs_limit: ["Ensure this value is greater than or equal to 1."] })
  if (n > logsLimit.max) {
    throw Drf.fields({ logs_limit: [`Ensure this value is less than or equal to ${logsLimit.max}.`] })
  }
  return n
}

const jsonMedia = /^application\/([\w.-]+\+)?json$/

/** The JSON object body (an empty body is `{}`), or a DRF 400/415. */
const readBody = async (c: Context): Promise<Body> => {
  const text = await c.req.text()
  if (text.trim() === "") return {}
  const media = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase()
  if (!jsonMedia.test(media)) throw Drf.detail(415, Drf.messages.unsupportedMedia(media))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw Drf.detail(400, Drf.messages.parse(error instanceof Error ? error.message : String(error)))
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? "list" : parsed === null ? "null" : typeof parsed
    throw Drf.fields({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${kind}.`] })
  }
  return parsed as Body
}

/** The keys a job type's params JSON Schema declares. */
const paramKeys = (types: ReadonlyArray<Jobs.JobTypeInfo>, key: string): ReadonlySet<string> => {
  const schema = types.find((type) => type.key === key)?.paramsSchema
  const properties = typeof schema === "object" && schema !== null ? (schema as Body).properties : undefined
  return new Set(typeof properties === "object" && properties !== null ? Object.keys(properties) : [])
}

/** Checks the body fields Antenna's serializer checks; collects DRF field errors. */
const checkFields = (body: Body, errors: Record<string, Array<string>>) => {
  if (body.name !== undefined && (typeof body.name !== "string" || body.name.length > 255)) {
    errors.name = ["Not a valid string (at most 255 characters)."]
  }
  if (body.delay !== undefined && !(Number.isInteger(body.delay) && (body.delay as number) >= 0)) {
    errors.delay = [Drf.messages.integer]
  }
  if (body.limit !== undefined && body.limit !== null && !Number.isInteger(body.limit)) {
    errors.limit = [Drf.messages.integer]
  }
  if (body.shuffle !== undefined && typeof body.shuffle !== "boolean") errors.shuffle = [Drf.messages.boolean]
  if (body.params !== undefined && (typeof body.params !== "object" || body.params === null)) {
    errors.params = ["Expected a dictionary of items."]
  }
  for (const relation of View.relations) {
    const value = body[`${relation}_id`]
    if (value !== undefined && value !== null && typeof value !== "number" && typeof value !== "string") {
      errors[`${relation}_id`] = ["Incorrect type. Expected pk value."]
    }
  }
}

/** Where Antenna's own fields go in a job: the type's params when it declares them, else metadata. */
const place = (type: string, body: Body, declared: ReadonlySet<string>, params: Body, metadata: Body) => {
  for (const key of paramFields) {
    if (body[key] === undefined) continue
    // the built-in `delay` type is Antenna's test job: its `seconds` are Antenna's `delay`
    if (key === "delay" && type === "delay") params.seconds = body.delay
    else if (declared.has(key)) params[key] = body[key]
    else metadata[key] = body[key]
  }
  for (const relation of View.relations) {
    const value = body[`${relation}_id`]
    if (value !== undefined && relation !== "project") metadata[relation] = value
  }
}

/** The engine's create input from the UI's body (`{delay, name, project_id, pipeline_id?, …}`). */
const createInput = (body: Body, types: ReadonlyArray<Jobs.JobTypeInfo>): Jobs.CreateJob => {
  const errors: Record<string, Array<string>> = {}
  if (body.name === undefined || body.name === "") errors.name = [Drf.messages.required]
  if (body.project_id === undefined || body.project_id === null) errors.project_id = [Drf.messages.required]
  checkFields(body, errors)
  const type = body.job_type_key ?? defaultJobType
  if (typeof type !== "string" || !types.some((t) => t.key === type)) {
    errors.job_type_key = [`"${String(type)}" is not a valid choice.`]
  }
  if (Object.keys(errors).length > 0) throw Drf.fields(errors)
  const params: Body = { ...((body.params as Body | undefined) ?? {}) }
  const metadata: Body = {}
  if (type === "delay" && params.seconds === undefined) params.seconds = 0
  place(type as string, body, paramKeys(types, type as string), params, metadata)
  return { type: type as string, name: body.name as string, owner: String(body.project_id), params, metadata }
}

/** The engine's edit from a PUT (every required field) or PATCH body. */
const editInput = (job: Job.Job, body: Body, types: ReadonlyArray<Jobs.JobTypeInfo>, full: boolean): Jobs.UpdateJob => {
  const errors: Record<string, Array<string>> = {}
  if (full && (body.name === undefined || body.name === "")) errors.name = [Drf.messages.required]
  if (full && body.project_id === undefined) errors.project_id = [Drf.messages.required]
  if (body.project_id !== undefined && String(body.project_id) !== String(job.owner)) {
    errors.project_id = ["A job's project cannot be changed."]
  }
  if (body.job_type_key !== undefined && body.job_type_key !== job.type) {
    errors.job_type_key = ["A job's type cannot be changed."]
  }
  checkFields(body, errors)
  if (Object.keys(errors).length > 0) throw Drf.fields(errors)
  const current = typeof job.params === "object" && job.params !== null ? (job.params as Body) : {}
  const params: Body = { ...current, ...((body.params as Body | undefined) ?? {}) }
  const metadata: Body = { ...job.metadata }
  place(job.type, body, paramKeys(types, job.type), params, metadata)
  const paramsChanged =
    body.params !== undefined ||
    paramFields.some((k) => body[k] !== undefined && (k in params || (k === "delay" && job.type === "delay")))
  return {
    ...(typeof body.name === "string" ? { name: body.name } : {}),
    ...(paramsChanged ? { params } : {}),
    metadata
  }
}

/** An engine failure in DRF's shape: field errors for bad input, `detail` otherwise. */
const fromEngine = (failure: Shared.EngineFailure): { status: number; body: Record<string, unknown> } => {
  const error = failure.error as { readonly issues?: ReadonlyArray<{ path: string; message: string }> } | undefined
  if (failure.status === 400 && error?.issues !== undefined && error.issues.length > 0) {
    const body: Record<string, Array<string>> = {}
    for (const issue of error.issues) {
      // Antenna's own fields travel in params: their errors are named as the UI sent them
      const path =
        issue.path.replace(/^params\.(delay|limit|shuffle)$/, "$1").replace(/^params\.seconds$/, "delay") ||
        "non_field_errors"
      ;(body[path] ??= []).push(issue.message)
    }
    return { status: 400, body }
  }
  if (failure.tag === "UnknownJobType") return { status: 400, body: { job_type_key: [failure.message] } }
  if (failure.status === 404) return { status: 404, body: { detail: Drf.messages.notFound } }
  if (failure.status >= 500) return { status: failure.status, body: { detail: Drf.messages.server } }
  return { status: failure.status, body: { detail: failure.message } }
}
