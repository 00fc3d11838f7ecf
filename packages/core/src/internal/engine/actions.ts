/**
 * The actions on one job (run, cancel, retry, pause, resume, edit, annotate, delete) and bulk delete: each asks the
 * state machine and writes guarded on the status it read.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Job from "../../Job.js"
import type { JobStatus } from "../../Job.js"
import { InvalidInput, InvalidParams, InvalidTransition, type Issue, JobHasDependents } from "../../JobError.js"
import * as Jobs from "../../Jobs.js"
import * as JobState from "../../JobState.js"
import { type JobPatch, type JobRow } from "../../JobStore.js"
import * as JobType from "../../JobType.js"
import * as TextSafety from "../textSafety.js"
import { deleteAll } from "../bulkDelete.js"
import { initialProgress } from "../context.js"
import { closeProgressText } from "../stages.js"
import { checkTime, issuesOf, toFilter, toJson } from "./query.js"
import { raceRetries, type Shared } from "./shared.js"
import { toJob } from "../jobRow.js"
import * as LogPage from "./logPage.js"

/** Statuses bulk delete may remove. */
const deletable: ReadonlyArray<JobStatus> = JobState.from("delete")

// ---------------------------------------------------------------------------------------------------------------------
// progress
// ---------------------------------------------------------------------------------------------------------------------

/** Progress reset for a retry: the declared stages, or, for a type this process does not know, the job's own. */
const resetProgress = (row: JobRow, type: JobType.Any | undefined): string => {
  if (type !== undefined) return JSON.stringify(initialProgress(type.stages, "QUEUED"))
  const stages = toJob(row).progress.stages.map((stage) => ({
    key: stage.key,
    name: stage.name,
    params: stage.params.map((p) => ({ key: p.key, name: p.name, category: p.category }))
  }))
  return JSON.stringify(initialProgress(stages, "QUEUED"))
}

/** The actions over the shared parts. */
export const make = ({
  conflict,
  encodeParams,
  getRow,
  itemOps,
  logCap,
  publish,
  registry,
  store,
  transition
}: Shared) => {
  const decodeUpdate = Schema.decodeUnknownEither(Jobs.UpdateJob, { errors: "all", onExcessProperty: "ignore" })

  /** How many non-terminal jobs depend on a job (a delete of it needs `force`). */
  const countDependents = (id: string) =>
    Effect.map(
      store.list({
        filter: { dependsOn: id, statuses: Job.activeStatuses },
        sort: "createdAt",
        order: "asc",
        limit: 1,
        cursor: null,
        withTotal: true
      }),
      (page) => page.total ?? page.rows.length
    )

  const cancel: Jobs.Jobs.Service["cancel"] = (id) =>
    transition(
      id,
      "cancel",
      (row, now): JobPatch =>
        // a running (or pausing) job becomes CANCELLING; the worker holding it interrupts the handler and settles it
        JobState.next(row.status, "cancel") === "CANCELLING"
          ? {}
          : {
              terminalReason: "user",
              finishedAt: now,
              leaseOwner: null,
              leaseExpiresAt: null,
              // a paused job's running stage is closed with it
              progress: closeProgressText(row.progress, "CANCELLED") ?? undefined
            },
      (row) => (row.status === "CANCELLING" ? "cancel requested" : "cancelled")
    )

  const update: Jobs.Jobs.Service["update"] = (id, input) =>
    Effect.gen(function* () {
      const unsafe = TextSafety.inspect(input, "")
      if (unsafe !== undefined) return yield* new InvalidInput({ issues: [unsafe] })
      const decoded = decodeUpdate(input)
      if (Either.isLeft(decoded)) return yield* new InvalidInput({ issues: issuesOf(decoded.left, "") })
      const edit = decoded.right
      return yield* transition<InvalidInput | InvalidParams>(id, "edit", (row) => {
        const issues: Array<Issue> = []
        const patch: { -readonly [K in keyof JobPatch]: JobPatch[K] } = {}
        if (edit.name !== undefined) patch.name = edit.name
        if (edit.priority !== undefined) patch.priority = edit.priority
        if (edit.tags !== undefined) patch.tags = edit.tags
        if (edit.metadata !== undefined) {
          const metadata = toJson(edit.metadata)
          if (metadata === undefined) issues.push({ path: "metadata", message: "must be JSON" })
          else patch.metadata = metadata
        }
        if (edit.runAt !== undefined) patch.runAt = checkTime(issues, "runAt", edit.runAt)
        if (edit.deadline !== undefined) {
          patch.deadline = edit.deadline === null ? null : (checkTime(issues, "deadline", edit.deadline) ?? null)
        }
        if (issues.length > 0) return Effect.fail(new InvalidInput({ issues }))
        if (edit.params !== undefined) {
          const type = registry.types.get(row.type)
          if (type === undefined) {
            return Effect.fail(
              new InvalidParams({
                type: row.type,
                issues: [{ path: "params", message: `job type "${row.type}" is not registered in this process` }]
              })
            )
          }
          const params = encodeParams(type, edit.params, "")
          if (Either.isLeft(params)) return Effect.fail(new InvalidParams({ type: row.type, issues: params.left }))
          patch.params = params.right
        }
        return Effect.succeed(patch)
      })
    })

  const remove: Jobs.Jobs.Service["delete"] = (id, deleteOptions) =>
    Effect.gen(function* () {
      for (let round = 0; round < raceRetries; round++) {
        const row = yield* getRow(id)
        const dependents = yield* countDependents(id)
        if (dependents > 0 && deleteOptions?.force !== true) {
          return yield* new JobHasDependents({ jobId: id, dependents })
        }
        let from: ReadonlyArray<JobStatus> = [row.status]
        if (JobState.next(row.status, "delete") === undefined) {
          if (deleteOptions?.force !== true) {
            return yield* new InvalidTransition({ jobId: id, from: row.status, action: "delete" })
          }
          // forced: cancel first so a running handler is told, then delete whatever the status has become
          if (JobState.next(row.status, "cancel") !== undefined) {
            yield* cancel(id).pipe(Effect.catchTag("InvalidTransition", () => Effect.void))
          }
          from = Job.statuses
        }
        // forced over dependents: a CREATED job is cancelled first too, so its end reaches them as any end does
        if (dependents > 0 && row.status === "CREATED") {
          yield* cancel(id).pipe(Effect.catchTag("InvalidTransition", () => Effect.void))
          from = Job.statuses
        }
        if (yield* store.delete({ id, from })) {
          yield* publish({ _tag: "deleted", jobId: id })
          return
        }
      }
      return yield* conflict(id, "delete")
    })

  const deleteMany: Jobs.Jobs.Service["deleteMany"] = (query) =>
    Effect.gen(function* () {
      const issues: Array<Issue> = []
      const filter = toFilter(
        {
          statuses: query.statuses,
          types: query.types,
          owner: query.owner,
          createdBefore: query.createdBefore,
          finishedBefore: query.finishedBefore,
          scope: query.scope
        },
        issues
      )
      const given = (["statuses", "types", "owner", "createdBefore", "finishedBefore"] as const).some(
        (field) => query[field] !== undefined
      )
      if (!given && query.all !== true) {
        issues.push({ path: "filter", message: "give at least one filter, or all=true to delete every job" })
      }
      if (issues.length > 0) return yield* new InvalidInput({ issues })
      // running and queued jobs are never bulk-deleted: they need a cancel first
      const statuses = (filter.statuses ?? deletable).filter((status) => deletable.includes(status))
      // jobs that unfinished jobs depend on are skipped: deleting one needs `force`, one by one
      return yield* deleteAll(store, { ...filter, statuses, required: false }, (ids) =>
        Effect.forEach(ids, (jobId) => publish({ _tag: "deleted", jobId }), { discard: true })
      )
    })

  const service: Pick<
    Jobs.Jobs.Service,
    "run" | "cancel" | "retry" | "annotate" | "pause" | "resume" | "update" | "delete" | "deleteMany"
  > = {
    delete: remove,
    deleteMany,
    run: (id) =>
      transition(
        id,
        "run",
        (_, now) => ({ queuedAt: now }),
        () => "queued by request"
      ),
    cancel,
    retry: (id, retryOptions) =>
      transition(
        id,
        "retry",
        (row, now) =>
          Effect.map(
            // the finished attempt's start and success lines, presented from the fields the retry clears, are
            // stored first: the earlier attempt stays in the log
            Effect.zipRight(
              LogPage.keep(store, row, logCap),
              itemOps.beforeRetry(row, resetProgress(row, registry.types.get(row.type)), retryOptions?.full === true)
            ),
            (progress): JobPatch => ({
              attempt: 0,
              progress,
              terminalReason: null,
              finishedAt: null,
              startedAt: null,
              resultId: null,
              // a retry starts afresh, as its progress does: the checkpoint belonged to the finished run
              checkpoint: null,
              leaseOwner: null,
              leaseExpiresAt: null,
              runAt: now,
              queuedAt: now,
              // a deadline already passed would expire the retried job at once
              ...(row.deadline !== null && row.deadline <= now ? { deadline: null } : {})
            })
          ),
        () =>
          retryOptions?.full === true
            ? "full rerun requested: queued with a fresh attempt budget, every item pending"
            : "retry requested: queued with a fresh attempt budget"
      ),
    annotate: (id, patch) =>
      Effect.gen(function* () {
        const issues: Array<Issue> = []
        const tags = patch.tags
        if (
          tags !== undefined &&
          (!Array.isArray(tags) ||
            tags.length > 100 ||
            tags.some((t) => typeof t !== "string" || t.length === 0 || t.length > 200))
        ) {
          issues.push({ path: "tags", message: "must be at most 100 non-empty strings of at most 200 characters" })
        }
        const metadata = patch.metadata === undefined ? undefined : toJson(patch.metadata)
        if (
          patch.metadata !== undefined &&
          (metadata === undefined ||
            typeof patch.metadata !== "object" ||
            patch.metadata === null ||
            Array.isArray(patch.metadata))
        ) {
          issues.push({ path: "metadata", message: "must be a JSON object" })
        }
        if (issues.length > 0) return yield* new InvalidInput({ issues })
        for (let round = 0; round < raceRetries; round++) {
          const row = yield* getRow(id)
          const now = yield* Clock.currentTimeMillis
          const updated = yield* store.update({
            id,
            from: [row.status],
            patch: {
              ...(tags === undefined ? {} : { tags: [...tags] }),
              ...(metadata === undefined ? {} : { metadata })
            },
            now
          })
          if (Option.isSome(updated)) return toJob(updated.value)
        }
        return yield* conflict(id, "annotate")
      }),
    pause: (id) =>
      transition(
        id,
        "pause",
        // a running job becomes PAUSING; the worker holding it interrupts the handler and settles it PAUSED
        () => ({}),
        (row) => (row.status === "PAUSING" ? "pause requested" : "paused")
      ),
    resume: (id) =>
      transition(
        id,
        "resume",
        () => ({}),
        () => "resumed"
      ),
    update
  }
  return service
}
