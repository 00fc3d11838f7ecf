/**
 * One job and its actions: `GET`, `PATCH` and `DELETE /jobs/{id}`, and `POST /jobs/{id}/run|cancel|retry|pause|
 * resume`. Each reads the job inside the request's scope first (outside it is a 404), then asks `authorize`.
 */
import { Jobs } from "@jobloom/core"
import type { Env } from "hono"
import { body, describe, paths, problems } from "../describe.js"
import type { Router } from "../router.js"
import * as Schemas from "../schemas.js"
import { json, query, valid } from "../validation.js"

const transitions = [
  ["run", "Queue a CREATED job"],
  ["cancel", "Cancel a job (a RUNNING or PAUSING job goes CANCELLING until its handler is interrupted)"],
  ["retry", "Queue a terminal job again with a fresh attempt budget"],
  [
    "pause",
    "Pause a QUEUED job (PAUSED), or a RUNNING one: PAUSING until its handler is interrupted, then PAUSED without " +
      "spending the attempt; its checkpoint is kept for the next attempt"
  ],
  ["resume", "Queue a PAUSED job again"]
] as const

/** Adds the routes of one job. */
export const mount = <E extends Env>({ app, exec, jobFor, view }: Router<E>): void => {
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
}
