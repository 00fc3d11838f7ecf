/**
 * What a job produced: `GET /jobs/{id}/items`, `/logs` and `/result`, and results by their own id
 * (`GET /results/{resultId}`, `/results/{resultId}/job`).
 */
import { Job } from "@jobloom/core"
import type { Env } from "hono"
import { body, describe, paths, problems } from "../describe.js"
import type { Router } from "../router.js"
import * as Schemas from "../schemas.js"
import { query, valid } from "../validation.js"

/** Adds the routes of a job's items, logs and result. */
export const mount = <E extends Env>({ app, exec, jobFor }: Router<E>): void => {
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
}

/** Adds the routes of results by their own id. */
export const mountResults = <E extends Env>({ app, exec, guard, scopeFor, view }: Router<E>): void => {
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
}
