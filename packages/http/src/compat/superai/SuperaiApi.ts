/**
 * super.AI's job API over the engine (seed 003, COMPAT §3), so super.AI's Python SDK works unchanged. Mount it where
 * the SDK's `base_url` points: `app.route("/superai/v1", SuperaiApi.make({ runtime, jobType: "wordcount" }))`.
 *
 * Every input of a create is a job of its own (one item, its input), all in one batch; the app is the job's owner.
 * `pending: true` parks a job (CREATED, shown `PENDING`) until it is cancelled or released. The job object carries
 * no output: `GET /jobs/{id}/response` has it. Callbacks go out in super.AI's shape (`callbacks.ts`).
 *
 * @since 0.1.0
 */
import type { Job } from "@jobloom/core"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import type * as JobsApi from "../../JobsApi.js"
import * as Shared from "../shared.js"
import * as Callbacks from "./callbacks.js"
import * as Create from "./create.js"
import * as Downloads from "./downloads.js"
import { isRecord, SuperaiError } from "./error.js"
import * as List from "./list.js"
import * as View from "./view.js"

/** Options of {@link make}. */
export interface Options<E extends Env = any> extends Shared.Options<E> {
  /** The job type of an app's jobs: one for all, or per app (undefined: the app is unknown, 404). */
  readonly jobType: string | ((appId: string) => string | undefined)
  /** The apps a key may use; every app when absent or when it answers undefined. A missing key is a 401. */
  readonly apps?: (
    apiKey: string,
    c: Context<E>
  ) => ReadonlyArray<string> | undefined | Promise<ReadonlyArray<string> | undefined>
  /** super.AI's callbacks: on by default; `batchUrl` receives batch callbacks; `deliver` replaces the POST. */
  readonly callbacks?: { readonly enabled?: boolean; readonly batchUrl?: string; readonly deliver?: Callbacks.Deliver }
}

/** Where a cancel is allowed from (the SDK's docstring), and a parked job. */
const cancellable = new Set<View.SuperaiStatus>(["PENDING", "SCHEDULED", "IN_PROGRESS", "SUSPENDED"])

/** Builds the sub-app. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  const engine = Shared.engine(options.runtime)
  const app = new Hono<E>({ strict: false })
  const limit = options.bodyLimit ?? 1024 * 1024

  if (options.callbacks?.enabled !== false) {
    // a daemon over the engine's events for the life of the runtime
    void engine
      .exec((jobs) =>
        Callbacks.run(jobs, {
          deliver: options.callbacks?.deliver ?? Callbacks.post,
          batchUrl: options.callbacks?.batchUrl
        })
      )
      .catch(() => undefined)
  }

  const fail = (c: Context, error: SuperaiError) => c.json({ message: error.message }, error.status)

  app.onError((error, c) => {
    if (error instanceof SuperaiError) return fail(c, error)
    if (error instanceof RangeError) return fail(c, new SuperaiError(400, error.message))
    if (error instanceof Shared.EngineFailure) {
      // 401 never comes from the engine, so "Token is expired." can never be sent
      const status = ([400, 403, 404, 409, 413].includes(error.status) ? error.status : 500) as SuperaiError["status"]
      return fail(c, new SuperaiError(status, status === 500 ? "internal error" : error.message))
    }
    engine.logFailure("jobloom superai: request failed", error)
    return fail(c, new SuperaiError(500, "internal error"))
  })
  app.notFound((c) => fail(c, new SuperaiError(404, `no route for ${c.req.method} ${c.req.path}`)))
  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      onError: (c) => fail(c, new SuperaiError(413, `the request body is larger than ${limit} bytes`))
    })
  )
  // the download URL is its own credential (a token with a lifetime), fetched without the key
  app.use("*", async (c, next) => {
    if (/\/operations\/[^/]+\/[^/]+\/download\/?$/.test(c.req.path) && c.req.method === "GET") return next()
    const key = c.req.header("api-key")
    if (key === undefined || key.trim() === "") throw new SuperaiError(401, "an API-KEY header is required")
    return next()
  })

  const appsOf = async (c: Context) =>
    options.apps === undefined ? undefined : await options.apps(c.req.header("api-key") ?? "", c as Context<E>)

  /** The app of the path, when the key may use it and a job type serves it. */
  const appFor = async (c: Context): Promise<{ appId: string; type: string }> => {
    const appId = c.req.param("appId") ?? ""
    const apps = await appsOf(c)
    const type = typeof options.jobType === "string" ? options.jobType : options.jobType(appId)
    if ((apps !== undefined && !apps.includes(appId)) || type === undefined) {
      throw new SuperaiError(404, `app ${appId} not found`)
    }
    return { appId, type }
  }

  const guard = async (c: Context, action: JobsApi.Action, job?: Job.Job) => {
    if (options.authorize !== undefined && (await options.authorize(action, job, c as Context<E>)) !== true) {
      throw new SuperaiError(403, `not allowed to ${action}${job === undefined ? "" : ` job ${job.id}`}`)
    }
  }

  const scope = (c: Context) => Shared.scopeOf(options, c as Context<E>)

  /** The job of the path: 404 when missing, outside the request's scope or of an app the key may not use. */
  const jobFor = async (c: Context, action: JobsApi.Action): Promise<Job.Job> => {
    const id = c.req.param("id") ?? ""
    const within = await scope(c)
    const job = await engine
      .exec((jobs) => jobs.get(id, within === undefined ? {} : { scope: within }))
      .catch((error) => {
        if (error instanceof Shared.EngineFailure && error.status === 404)
          throw new SuperaiError(404, `job ${id} not found`)
        throw error
      })
    const apps = await appsOf(c)
    if (job.owner === null || (apps !== undefined && !apps.includes(job.owner))) {
      throw new SuperaiError(404, `job ${id} not found`)
    }
    await guard(c, action, job)
    return job
  }

  const jsonBody = async (c: Context): Promise<Record<string, unknown>> => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      throw new SuperaiError(400, "the body must be a JSON object")
    }
    if (!isRecord(body)) throw new SuperaiError(400, "the body must be a JSON object")
    return body
  }

  /** A job's output: a reviewer's response, else its items' outputs (one input: that output), else its result. */
  const responseOf = async (job: Job.Job): Promise<unknown> => {
    const meta = View.metaOf(job)
    if ("reviewed" in meta) return meta.reviewed
    const items = await Shared.allItems(engine, job.id)
    const done = items.filter((item) => item.status === "SUCCEEDED")
    if (items.length === 1) return done.length === 1 ? done[0]!.output : null
    if (items.length > 1) return Object.fromEntries(done.map((item) => [item.key, item.output]))
    if (job.resultId === null) return null
    return (await engine.exec((jobs) => jobs.result(job.id))).value
  }

  /** Every job of an app matching a list query (all pages), inside the request's scope. */
  const everyJob = async (c: Context, query: List.ListQuery) =>
    (
      await Shared.offsetPage(engine, Shared.withScope(query.query, await scope(c)), {
        sort: query.sort,
        order: query.order,
        offset: 0,
        limit: Number.MAX_SAFE_INTEGER,
        keep: query.keep,
        compare: query.compare
      })
    ).items

  const listQuery = (c: Context, appId: string) =>
    List.parse(
      (name) => c.req.query(name),
      (name) => c.req.queries(name) ?? [],
      appId
    )

  // ---- jobs of an app ----

  app.post("/apps/:appId/jobs", async (c) => {
    const { appId, type } = await appFor(c)
    const create = Create.parse(await jsonBody(c), appId, type)
    await guard(c, "create")
    const within = await scope(c)
    const created = await engine.exec((jobs) =>
      // parked jobs wait CREATED (super.AI's PENDING) until released or cancelled
      jobs.createMany(create.jobs, { startNow: !create.pending, ...(within === undefined ? {} : { scope: within }) })
    )
    return c.json({
      message: `${created.jobs.length} job${created.jobs.length === 1 ? "" : "s"} submitted`,
      batchId: created.batchId,
      ...(created.jobs.length === 1 ? { uuid: created.jobs[0]!.id } : {})
    })
  })

  app.get("/apps/:appId/jobs", async (c) => {
    const { appId } = await appFor(c)
    await guard(c, "view")
    const query = listQuery(c, appId)
    const page = await Shared.offsetPage(engine, Shared.withScope(query.query, await scope(c)), {
      sort: query.sort,
      order: query.order,
      offset: query.page * query.size,
      limit: query.size,
      keep: query.keep,
      compare: query.compare
    })
    return c.json({
      jobs: page.items.map(View.jobObject),
      total: page.total,
      pageSize: query.size,
      pageNumber: query.page,
      pages: Math.ceil(page.total / query.size)
    })
  })

  const tagRoute = (adding: boolean) => async (c: Context) => {
    const { appId } = await appFor(c)
    const body = await jsonBody(c)
    const tags = body.tags
    if (!Array.isArray(tags) || tags.length === 0 || tags.some((t) => typeof t !== "string" || t === "")) {
      throw new SuperaiError(400, "tags must be a list of non-empty strings")
    }
    await guard(c, "edit")
    const matching = await everyJob(c, listQuery(c, appId))
    for (const job of matching) {
      const next = adding
        ? Array.from(new Set([...job.tags, ...(tags as Array<string>)]))
        : job.tags.filter((tag) => !(tags as Array<string>).includes(tag))
      if (next.length !== job.tags.length || next.some((tag, i) => tag !== job.tags[i])) {
        await engine.exec((jobs) => jobs.annotate(job.id, { tags: next }))
      }
    }
    return c.json({
      message: `tags ${adding ? "added to" : "removed from"} ${matching.length} jobs`,
      count: matching.length
    })
  }
  app.put("/apps/:appId/jobs/tags", tagRoute(true))
  app.delete("/apps/:appId/jobs/tags", tagRoute(false))

  // ---- batches ----

  const batchView = async (c: Context, appId: string, batchId: string, jobs: ReadonlyArray<Job.Job>) => {
    const within = await scope(c)
    const summary = await engine.exec((engine) => engine.batch(batchId, within === undefined ? {} : { scope: within }))
    const counts: Record<string, number> = {}
    for (const job of jobs) counts[View.statusOf(job)] = (counts[View.statusOf(job)] ?? 0) + 1
    return {
      id: batchId,
      batchId,
      appId,
      created: jobs.reduce((min, job) => (job.createdAt < min ? job.createdAt : min), jobs[0]?.createdAt ?? ""),
      state: summary.state,
      total: jobs.length,
      statusCounts: counts
    }
  }

  app.get("/apps/:appId/batches", async (c) => {
    const { appId } = await appFor(c)
    await guard(c, "view")
    const all = await everyJob(
      c,
      List.parse(
        () => undefined,
        () => [],
        appId
      )
    )
    const byBatch = new Map<string, Array<Job.Job>>()
    for (const job of all) {
      if (job.batchId === null) continue
      byBatch.set(job.batchId, [...(byBatch.get(job.batchId) ?? []), job])
    }
    const batches = await Promise.all(Array.from(byBatch, ([batchId, jobs]) => batchView(c, appId, batchId, jobs)))
    batches.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0))
    return c.json({ batches, total: batches.length })
  })

  app.get("/apps/:appId/batches/:batchId", async (c) => {
    const { appId } = await appFor(c)
    await guard(c, "view")
    const batchId = c.req.param("batchId")
    const jobs = await everyJob(
      c,
      List.parse(
        (name) => (name === "batchId" ? batchId : undefined),
        () => [],
        appId
      )
    )
    if (jobs.length === 0) throw new SuperaiError(404, `batch ${batchId} not found`)
    return c.json(await batchView(c, appId, batchId, jobs))
  })

  // ---- bulk download ----

  Downloads.mount({ app, appFor, guard, listQuery, everyJob, responseOf })

  // ---- one job ----

  app.get("/jobs/:id", async (c) => c.json(View.jobObject(await jobFor(c, "view"))))

  app.get("/jobs/:id/response", async (c) => {
    const job = await jobFor(c, "view")
    return c.json({
      id: job.id,
      uuid: job.id,
      status: View.statusOf(job),
      response: await responseOf(job),
      ...(job.lastError === null ? {} : { error: job.lastError.message })
    })
  })

  app.post("/jobs/:id/cancel", async (c) => {
    const job = await jobFor(c, "cancel")
    const status = View.statusOf(job)
    if (!cancellable.has(status)) {
      throw new SuperaiError(
        409,
        `job ${job.id} is ${status}; only SCHEDULED, IN_PROGRESS or SUSPENDED jobs can be cancelled`
      )
    }
    return c.json(View.jobObject(await engine.exec((jobs) => jobs.cancel(job.id))))
  })

  // jobloom's addition: a parked job (`pending: true`) is released to run
  app.post("/jobs/:id/release", async (c) => {
    const job = await jobFor(c, "run")
    if (job.status !== "CREATED") throw new SuperaiError(409, `job ${job.id} is ${View.statusOf(job)}, not parked`)
    return c.json(View.jobObject(await engine.exec((jobs) => jobs.run(job.id))))
  })

  app.patch("/jobs/:id/review", async (c) => {
    const job = await jobFor(c, "edit")
    const body = await jsonBody(c)
    if (body.correct !== undefined && body.correct !== null && typeof body.correct !== "boolean") {
      throw new SuperaiError(400, "correct must be a boolean")
    }
    if (body.correct === undefined && body.response === undefined) {
      throw new SuperaiError(400, "give correct, response or both")
    }
    if (job.finishedAt === null)
      throw new SuperaiError(409, `job ${job.id} is ${View.statusOf(job)}; review it once it has finished`)
    const meta = View.metaOf(job)
    const next: View.SuperaiMeta = {
      ...meta,
      ...(body.correct === undefined ? {} : { correct: body.correct as boolean | null }),
      ...(body.response === undefined ? {} : { reviewed: body.response })
    }
    const updated = await engine.exec((jobs) =>
      jobs.annotate(job.id, { metadata: { ...job.metadata, [View.metaKey]: next } })
    )
    return c.json(View.jobObject(updated))
  })

  return app
}
