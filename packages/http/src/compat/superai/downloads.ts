/**
 * The bulk download routes of the super.AI router: `POST /apps/{appId}/job_responses` starts an operation over the
 * jobs matching a list query, `GET /operations/{appId}/{op}` reports it, `POST …/download-url` hands out a URL with
 * a lifetime, and `GET …/download` serves the zip to whoever holds that URL (it is its own credential).
 */
import type { Job } from "@jobloom/core"
import type { Context, Env, Hono } from "hono"
import type * as JobsApi from "../../JobsApi.js"
import { SuperaiError } from "./error.js"
import type * as List from "./list.js"
import * as Operations from "./operations.js"
import * as View from "./view.js"

/** What the routes take from the router. */
export interface Router<E extends Env> {
  readonly app: Hono<E>
  /** The app of the path, when the key may use it (else a 404). */
  readonly appFor: (c: Context) => Promise<{ readonly appId: string }>
  readonly guard: (c: Context, action: JobsApi.Action) => Promise<void>
  /** The list query of the request, for the app. */
  readonly listQuery: (c: Context, appId: string) => List.ListQuery
  /** Every job of a list query, inside the request's scope. */
  readonly everyJob: (c: Context, query: List.ListQuery) => Promise<ReadonlyArray<Job.Job>>
  /** A job's output. */
  readonly responseOf: (job: Job.Job) => Promise<unknown>
}

/** Adds the download routes. */
export const mount = <E extends Env>({ app, appFor, everyJob, guard, listQuery, responseOf }: Router<E>): void => {
  const operations = Operations.make()

  app.post("/apps/:appId/job_responses", async (c) => {
    const { appId } = await appFor(c)
    await guard(c, "view")
    const jobs = await everyJob(c, listQuery(c, appId))
    const withOutputs = await Promise.all(
      jobs.map(async (job) => ({ ...View.jobObject(job), response: await responseOf(job) }))
    )
    const operation = operations.start(appId, withOutputs)
    return c.json({ operationId: operation.id, message: `${operation.count} jobs in the download` })
  })

  const operationFor = (c: Context) => {
    const operation = operations.get(c.req.param("appId") ?? "", c.req.param("op") ?? "")
    if (operation === undefined) throw new SuperaiError(404, `operation ${c.req.param("op")} not found`)
    return operation
  }

  app.get("/operations/:appId/:op", async (c) => {
    await appFor(c)
    const operation = operationFor(c)
    return c.json({
      id: operation.id,
      appId: operation.appId,
      status: "COMPLETED",
      created: operation.createdAt,
      count: operation.count
    })
  })

  app.post("/operations/:appId/:op/download-url", async (c) => {
    await appFor(c)
    const operation = operationFor(c)
    const ttl = c.req.query("secondsTtl")
    if (ttl !== undefined && !/^\d{1,7}$/.test(ttl))
      throw new RangeError("secondsTtl must be a whole number of seconds")
    const token = operations.grant(operation, ttl === undefined ? 3600 : Math.max(1, Number(ttl)))
    const url = new URL(c.req.url)
    url.pathname = url.pathname.replace(/\/download-url\/?$/, "/download")
    url.search = `?token=${token}`
    return c.json({ downloadUrl: url.toString() })
  })

  app.get("/operations/:appId/:op/download", (c) => {
    const file = operations.file(c.req.param("appId"), c.req.param("op"), c.req.query("token") ?? "")
    if (file === undefined) throw new SuperaiError(404, "the download link is unknown or has expired")
    return c.body(file as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename="jobs-${c.req.param("op")}.zip"`
    })
  })
}
