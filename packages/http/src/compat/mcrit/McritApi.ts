/**
 * MCRIT's job queue API (seed 004, COMPAT.md §1) as a Hono sub-app over the engine, so `McritClient` runs against
 * jobloom unchanged: `app.route("/mcrit", McritApi.make({ runtime }))`. A job's MCRIT id is its `number` as 24 hex
 * digits.
 *
 * Every answer is `{"status": "successful"|"failed", "data": …}`. Success is always a 200: the client reads `data`
 * only from a 200 or 202, so a 201 or 204 would read as a failure.
 *
 * @since 0.1.0
 */
import type { Job, Jobs } from "@jobloom/core"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import type { Action } from "../../JobsApi.js"
import { defaultBodyLimit } from "../../internal/router.js"
import * as Shared from "../shared.js"
import * as OpenApi from "./openapi.js"
import * as View from "./view.js"

/** Options of {@link make}: the same as every compat router's. */
export type Options<E extends Env = any> = Shared.Options<E>

/** A failed answer: the status and the envelope's `data.message`. */
class Failed extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

const ok = (c: Context, data: unknown) => c.json({ status: "successful", data }, 200)

const failed = (c: Context, status: number, message: string) =>
  c.json({ status: "failed", data: { message } }, status as 400)

/** MCRIT's booleans: `True`, `true`, `TRUE` … (the server compares `.lower() == "true"`). */
const truthy = (value: string | undefined): boolean => value !== undefined && value.trim().toLowerCase() === "true"

/** A count parameter as the real server reads one: an integer, or the default when it does not parse. */
const count = (value: string | undefined): number => {
  if (value === undefined || !/^\s*[0-9]{1,15}\s*$/.test(value)) return 0
  return Number(value)
}

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (UTC), as the client sends them; anything else is a 400 naming the field. */
const criterionDate = (field: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/.exec(value.trim())
  const iso =
    match === null
      ? undefined
      : `${match[1]}-${match[2]}-${match[3]}T${match[4] ?? "00"}:${match[5] ?? "00"}:${match[6] ?? "00"}.000Z`
  // the round trip refuses dates that do not exist (2024-02-30)
  if (iso === undefined || !Number.isFinite(Date.parse(iso)) || new Date(iso).toISOString() !== iso) {
    throw new Failed(400, `${field} must be a date as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), got "${value}"`)
  }
  return iso
}

/** A route with and without its trailing slash: `strict: false` does not survive mounting with `app.route`. */
const paths = (path: string): Array<string> => [path, `${path}/`]

/** Builds the sub-app. Mount it anywhere (the client pastes paths onto its server URL); trailing slashes optional. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  const engine = Shared.engine(options.runtime)
  const app = new Hono<E>({ strict: false })
  const limit = options.bodyLimit ?? defaultBodyLimit

  app.onError((error, c) => {
    if (error instanceof Failed) return failed(c, error.status, error.message)
    if (error instanceof Shared.EngineFailure) {
      return failed(c, error.status, error.status >= 500 ? "internal error" : error.message)
    }
    engine.logFailure("jobloom mcrit: request failed", error)
    return failed(c, 500, "internal error")
  })
  app.notFound((c) => failed(c, 404, `no route for ${c.req.method} ${c.req.path}`))
  app.use("*", bodyLimit({ maxSize: limit, onError: (c) => failed(c, 413, `request body over ${limit} bytes`) }))

  const guard = async (c: Context, action: Action, job?: Job.Job) => {
    if (!(await Shared.allowed(options.authorize, c as Context<E>, action, job))) {
      throw new Failed(403, `not allowed to ${action}${job === undefined ? "" : ` job ${View.hexId(job.number)}`}`)
    }
  }
  const scope = (c: Context) => Shared.scopeOf(options, c as Context<E>)

  /** The job of a 24-hex id: 400 when the id is not 24 hex, 404 when no job (in scope) has it. */
  const jobOf = async (c: Context, id: string, kind: "JobIDs" | "ResultIDs"): Promise<Job.Job> => {
    if (!View.isHexId(id)) throw new Failed(400, `Valid ${kind} are hexstrings with 24 characters.`)
    const number = View.numberOf(id)
    const job = number === undefined ? undefined : await Shared.jobByNumber(engine, await scope(c), number)
    if (job === undefined) throw new Failed(404, `${kind === "JobIDs" ? "job" : "result"} ${id} not found`)
    return job
  }

  /** The job a result id names: only a SUCCEEDED job has a result (its own number). */
  const jobOfResult = async (c: Context): Promise<Job.Job> => {
    const id = c.req.param("rid") ?? ""
    const job = await jobOf(c, id, "ResultIDs")
    if (View.resultIdOf(job) === null) throw new Failed(404, `result ${id} not found`)
    return job
  }

  /** A job's result value (or its compact projection); null for a handler that returned nothing. */
  const resultOf = async (job: Job.Job, compact: boolean): Promise<unknown> => {
    if (job.resultId === null) return null
    try {
      return (await engine.exec((jobs) => jobs.result(job.id, { compact }))).value
    } catch (error) {
      if (error instanceof Shared.EngineFailure && error.tag === "ResultNotFound") return null
      throw error
    }
  }

  // ---- collection ----

  app.on("GET", paths("/jobs"), async (c) => {
    await guard(c, "view")
    const q = (name: string) => c.req.query(name)
    const query: { -readonly [K in keyof Jobs.JobQuery]: Jobs.JobQuery[K] } = {}
    const method = q("method")
    if (method !== undefined && method !== "") query.types = [method]
    const state = q("state")
    if (state !== undefined && state !== "") {
      const statuses = View.statusesOf(state)
      if (statuses === undefined) {
        throw new Failed(400, `state must be one of ${[...View.states, "processing"].join(", ")}, got "${state}"`)
      }
      query.statuses = statuses
    }
    const filter = q("filter")
    const start = count(q("start"))
    const size = count(q("limit"))
    const page = await Shared.offsetPage(engine, Shared.withScope(query, await scope(c)), {
      sort: "createdAt",
      order: truthy(q("ascending")) ? "asc" : "desc",
      offset: start,
      limit: size === 0 ? undefined : size,
      keep: filter === undefined || filter === "" ? undefined : (job) => View.filterText(job).includes(filter)
    })
    return ok(c, page.items.map(View.jobDocument))
  })

  app.on("GET", paths("/jobs/stats"), async (c) => {
    await guard(c, "view")
    // counts are read live, so `with_refresh` has nothing to refresh; it is accepted in every spelling
    const scopeNow = await scope(c)
    const stats = await engine.exec((jobs) => jobs.stats(Shared.withScope({}, scopeNow)))
    const perMethod: Record<string, Record<View.State, number>> = {}
    for (const [type, byStatus] of Object.entries(stats.byType)) {
      const counts = (perMethod[type] ??= { queued: 0, in_progress: 0, finished: 0, failed: 0, terminated: 0 })
      for (const [status, n] of Object.entries(byStatus)) counts[View.stateOf(status as Job.JobStatus)] += n
    }
    const sum = (state: View.State) => Object.values(perMethod).reduce((total, counts) => total + counts[state], 0)
    return ok(c, {
      ...perMethod,
      // seed 004's totals
      total_jobs: View.states.reduce((total, state) => total + sum(state), 0),
      finished: sum("finished"),
      processing: sum("in_progress"),
      failed: sum("failed")
    })
  })

  app.on("DELETE", paths("/jobs"), async (c) => {
    await guard(c, "delete")
    const scopeNow = await scope(c)
    const method = c.req.query("method")
    const createdBefore = criterionDate("created_before", c.req.query("created_before"))
    const finishedBefore = criterionDate("finished_before", c.req.query("finished_before"))
    if ((method === undefined || method === "") && createdBefore === undefined && finishedBefore === undefined) {
      throw new Failed(
        400,
        "give at least one of method, created_before, finished_before (deleting every job is refused)"
      )
    }
    const query = {
      ...(method === undefined || method === "" ? {} : { types: [method] }),
      ...(createdBefore === undefined ? {} : { createdBefore }),
      ...(finishedBefore === undefined ? {} : { finishedBefore })
    }
    const deleted = await engine.exec((jobs) => jobs.deleteMany(Shared.withScope(query, scopeNow)))
    return ok(c, { num_deleted: deleted })
  })

  // ---- one job ----

  app.on("GET", paths("/jobs/:id"), async (c) => {
    const job = await jobOf(c, c.req.param("id") ?? "", "JobIDs")
    await guard(c, "view", job)
    return ok(c, View.jobDocument(job))
  })

  app.on("DELETE", paths("/jobs/:id"), async (c) => {
    const job = await jobOf(c, c.req.param("id") ?? "", "JobIDs")
    await guard(c, "delete", job)
    // MCRIT deletes a job whatever its state: a running one is cancelled first
    await engine.exec((jobs) => jobs.delete(job.id, { force: true }))
    return ok(c, { num_deleted: 1 })
  })

  app.on("GET", paths("/jobs/:id/result"), async (c) => {
    const job = await jobOf(c, c.req.param("id") ?? "", "JobIDs")
    await guard(c, "view", job)
    return ok(c, await resultOf(job, truthy(c.req.query("compact"))))
  })

  // ---- results ----

  app.on("GET", paths("/results/:rid"), async (c) => {
    const job = await jobOfResult(c)
    await guard(c, "view", job)
    return ok(c, await resultOf(job, truthy(c.req.query("compact"))))
  })

  app.on("GET", paths("/results/:rid/job"), async (c) => {
    const job = await jobOfResult(c)
    await guard(c, "view", job)
    return ok(c, View.jobDocument(job))
  })

  app.on("GET", paths("/openapi.json"), (c) => {
    const path = c.req.path.replace(/\/+$/, "")
    return c.json(OpenApi.document(path.endsWith("/openapi.json") ? path.slice(0, -"/openapi.json".length) : ""))
  })

  return app
}
