/**
 * The event streams: `GET /jobs/{id}/events` (one job until it is terminal) and `GET /events` (every job matching a
 * list filter). The streams themselves are `../events.ts` and `../collectionEvents.ts`.
 */
import { JobError, JobScope } from "@jobloom/core"
import * as Exit from "effect/Exit"
import type { Env } from "hono"
import * as Problem from "../../Problem.js"
import * as CollectionEvents from "../collectionEvents.js"
import { describe, eventStream, paths, problems } from "../describe.js"
import * as Events from "../events.js"
import * as JobFilter from "../jobFilter.js"
import { ProblemError, type Router } from "../router.js"
import { query, valid } from "../validation.js"

/** Adds the two event routes. */
export const mount = <E extends Env>(router: Router<E>): void => {
  const { app, allowed, guard, pollInterval, runner, scopeFor, toProblemError, view } = router

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
      responses: { ...eventStream, ...problems(403, 404) }
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
      responses: { ...eventStream, ...problems(400, 403) }
    }),
    query(JobFilter.EventsQuery),
    async (c) => {
      const q = valid<typeof JobFilter.EventsQuery.Type>(c, "query")
      await guard(c, "view")
      return CollectionEvents.respond(c, {
        runner,
        // the request's scope joins the filter: the store applies it to the snapshot and polls, the stream to events
        filter: JobFilter.toJobQuery(q, await scopeFor(c)),
        page: JobFilter.toPage(q),
        logs: q.logs ?? false,
        mayView: (job) => allowed(c, "view", job),
        view: (job) => view(c, job),
        pollInterval,
        toError: toProblemError
      })
    }
  )
}
