/**
 * Recurring jobs: `GET`/`POST /schedules`, `GET`/`PUT`/`DELETE /schedules/{key}`, and `POST /schedules/{key}/pause|
 * resume`. A bad cron expression or time zone is a 400 naming the field (`cron`, `timeZone`); an unknown key a 404.
 * The runtime must provide `JobSchedules` (the Promise facade's does); without it these routes answer 501.
 *
 * The request's scope applies as on the job routes: a schedule whose job's owner is outside it is not listed and is a
 * 404 on every per-schedule route, and a created or replaced schedule's owner must be one of the caller's owners (a
 * one-owner scope fills it in), so a tenant can neither see nor make another tenant's recurring jobs.
 */
import { JobError, JobSchedule, JobSchedules, JobScope } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Context, Env } from "hono"
import * as Problem from "../../Problem.js"
import { body, describe, paths, problems } from "../describe.js"
import { ProblemError, type Router } from "../router.js"
import { json, valid } from "../validation.js"

const ScheduleList = Schema.Struct({ items: Schema.Array(JobSchedule.Schedule) }).annotations({
  identifier: "ScheduleList"
})

/** The body of `PUT /schedules/{key}`: a schedule whose key, when given, is the path's. */
const PutSchedule = Schema.Struct({ ...JobSchedule.ScheduleInput.fields, key: Schema.optional(Schema.String) })

/** Adds the schedule routes. */
export const mount = <E extends Env>({ app, guard, runner, scopeFor, toProblemError }: Router<E>): void => {
  /** Runs a call of the schedules service; its failure is thrown as the mapped problem. */
  const exec = async <A, Err>(
    f: (schedules: JobSchedules.JobSchedules.Service) => Effect.Effect<A, Err>
  ): Promise<A> => {
    const exit = await runner.runExit(
      Effect.flatMap(Effect.serviceOption(JobSchedules.JobSchedules), (schedules) =>
        Option.isSome(schedules) ? Effect.map(f(schedules.value), Option.some) : Effect.succeed(Option.none())
      )
    )
    if (Exit.isFailure(exit)) throw toProblemError(exit.cause)
    if (Option.isNone(exit.value)) {
      throw new ProblemError(Problem.http(501, "schedules are not enabled: the runtime does not provide JobSchedules"))
    }
    return exit.value.value
  }
  const keyOf = (c: Context) => c.req.param("key") ?? ""

  /** The path's schedule when the request's scope holds it; outside the scope it is a 404, as an unknown key. */
  const visible = async (c: Context): Promise<JobSchedule.Schedule | undefined> => {
    const scope = await scopeFor(c)
    if (scope === undefined) return undefined
    const schedule = await exec((schedules) => schedules.get(keyOf(c)))
    if (!JobScope.contains(scope, schedule.job)) {
      throw toProblemError(Cause.fail(new JobError.ScheduleNotFound({ key: keyOf(c) })))
    }
    return schedule
  }

  /** The input with its owner checked against the request's scope (filled in from a one-owner scope). */
  const owned = async <I extends { readonly owner?: string | null | undefined }>(c: Context, input: I): Promise<I> => {
    const scope = await scopeFor(c)
    if (scope === undefined) return input
    const owner = JobScope.ownerFor(scope, input.owner)
    if (owner === undefined) {
      const message = input.owner === undefined ? "is required: give one of your owners" : "is not one of your owners"
      throw new ProblemError(Problem.validation([{ path: "owner", message }]))
    }
    return { ...input, owner: owner.owner }
  }

  app.on(
    "GET",
    paths("/schedules"),
    describe({
      operationId: "listSchedules",
      tags: ["schedules"],
      summary: "List schedules, by key, with their next run time",
      responses: { ...body("the schedules", ScheduleList), ...problems(403, 501) }
    }),
    async (c) => {
      await guard(c, "view")
      const scope = await scopeFor(c)
      const items = await exec((schedules) => schedules.list())
      return c.json({ items: items.filter((schedule) => JobScope.contains(scope, schedule.job)) })
    }
  )

  app.on(
    "POST",
    paths("/schedules"),
    describe({
      operationId: "createSchedule",
      tags: ["schedules"],
      summary: "Create a schedule: a cron expression (five or six fields) in a time zone, or an interval",
      description:
        "Give `cron` (with `timeZone`, default UTC) or `everyMs`, the job's `type` and its fields. `missed`: `skip` " +
        "(default: only the latest missed tick runs) or `{ backfill: n }`. A taken key is a 409.",
      responses: { ...body("the schedule", JobSchedule.Schedule, "201"), ...problems(400, 403, 409, 413, 415, 501) }
    }),
    json(JobSchedule.ScheduleInput),
    async (c) => {
      await guard(c, "create")
      const input = await owned(c, valid<JobSchedule.ScheduleInput>(c, "json"))
      const schedule = await exec((schedules) => schedules.create(input))
      c.header("location", `${c.req.path.replace(/\/+$/, "")}/${encodeURIComponent(schedule.key)}`)
      return c.json(schedule, 201)
    }
  )

  app.on(
    "GET",
    paths("/schedules/:key"),
    describe({
      operationId: "getSchedule",
      tags: ["schedules"],
      summary: "One schedule: its recurrence, the job it creates, next and last run",
      responses: { ...body("the schedule", JobSchedule.Schedule), ...problems(403, 404, 501) }
    }),
    async (c) => {
      await guard(c, "view")
      return c.json((await visible(c)) ?? (await exec((schedules) => schedules.get(keyOf(c)))))
    }
  )

  app.on(
    "PUT",
    paths("/schedules/:key"),
    describe({
      operationId: "putSchedule",
      tags: ["schedules"],
      summary: "Create or replace a schedule",
      description: "Its planned next run is kept when the recurrence is unchanged; a body `key` must be the path's.",
      responses: {
        ...body("the replaced schedule", JobSchedule.Schedule),
        ...body("the created schedule", JobSchedule.Schedule, "201"),
        ...problems(400, 403, 413, 415, 501)
      }
    }),
    json(PutSchedule),
    async (c) => {
      await guard(c, "edit")
      const input = await owned(c, valid<typeof PutSchedule.Type>(c, "json"))
      // replacing another tenant's schedule is a 404 like reading it; a key nobody holds may be created
      const scope = await scopeFor(c)
      if (scope !== undefined) {
        const existing = await exec((schedules) => Effect.option(schedules.get(keyOf(c))))
        if (Option.isSome(existing) && !JobScope.contains(scope, existing.value.job)) {
          throw toProblemError(Cause.fail(new JobError.ScheduleNotFound({ key: keyOf(c) })))
        }
      }
      const { created, schedule } = await exec((schedules) => schedules.put(keyOf(c), input))
      return c.json(schedule, created ? 201 : 200)
    }
  )

  app.on(
    "DELETE",
    paths("/schedules/:key"),
    describe({
      operationId: "deleteSchedule",
      tags: ["schedules"],
      summary: "Delete a schedule; the jobs it created stay",
      responses: { "204": { description: "deleted" }, ...problems(403, 404, 501) }
    }),
    async (c) => {
      await guard(c, "delete")
      await visible(c)
      await exec((schedules) => schedules.delete(keyOf(c)))
      return c.body(null, 204)
    }
  )

  for (const action of ["pause", "resume"] as const) {
    app.on(
      "POST",
      paths(`/schedules/:key/${action}`),
      describe({
        operationId: `${action}Schedule`,
        tags: ["schedules"],
        summary:
          action === "pause"
            ? "Pause a schedule: it fires nothing until resumed"
            : "Resume a schedule from its first tick after now (the paused ticks are not run)",
        responses: { ...body("the schedule", JobSchedule.Schedule), ...problems(403, 404, 501) }
      }),
      async (c) => {
        await guard(c, action)
        await visible(c)
        return c.json(await exec((schedules) => schedules[action](keyOf(c))))
      }
    )
  }
}
