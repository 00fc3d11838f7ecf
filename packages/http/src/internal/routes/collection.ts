/**
 * The collection of jobs: `GET /jobs` (list), `POST /jobs` (create one or many), `DELETE /jobs` (bulk delete) and
 * `GET /jobs/stats`, and a batch's summary (`GET /batches/{batchId}`). Their filters are read by `jobFilter.ts`,
 * with the request's scope joined in.
 */
import { Jobs } from "@jobloom/core"
import type { Env } from "hono"
import { body, describe, paths, problems } from "../describe.js"
import * as JobFilter from "../jobFilter.js"
import type { Router } from "../router.js"
import * as Schemas from "../schemas.js"
import { json, pickCreate, query, valid } from "../validation.js"

/** Adds the collection routes. */
export const mount = <E extends Env>({ app, exec, guard, scopeFor, view, views }: Router<E>): void => {
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
    query(JobFilter.ListQuery),
    async (c) => {
      const q = valid<typeof JobFilter.ListQuery.Type>(c, "query")
      await guard(c, "view")
      const scope = await scopeFor(c)
      const page = await exec((jobs) => jobs.list(JobFilter.toListQuery(q, scope)))
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
    query(JobFilter.DeleteManyQuery),
    async (c) => {
      const q = valid<typeof JobFilter.DeleteManyQuery.Type>(c, "query")
      await guard(c, "delete")
      const scope = await scopeFor(c)
      const deleted = await exec((jobs) => jobs.deleteMany(JobFilter.toDeleteQuery(q, scope)))
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
    query(JobFilter.StatsQuery),
    async (c) => {
      const q = valid<typeof JobFilter.StatsQuery.Type>(c, "query")
      await guard(c, "view")
      const scope = await scopeFor(c)
      return c.json(await exec((jobs) => jobs.stats(JobFilter.toJobQuery(q, scope))))
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
}
