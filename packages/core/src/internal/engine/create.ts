/**
 * Creating jobs: `create` and `createMany` decode the input, validate params with the type's Schema, build the new
 * rows (with their items) and insert them, honouring idempotency keys.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { uuidv7 } from "uuidv7"
import * as Job from "../../Job.js"
import type { JobStatus } from "../../Job.js"
import { IdempotencyKeyHeld, InvalidInput, InvalidParams, type Issue, UnknownJobType } from "../../JobError.js"
import * as Jobs from "../../Jobs.js"
import * as JobMetrics from "../../JobMetrics.js"
import * as JobScope from "../../JobScope.js"
import { type JobRow, type NewJobRow } from "../../JobStore.js"
import type { InsertOutcome, ItemRow } from "../../JobStore.js"
import * as JobTracing from "../../JobTracing.js"
import * as EngineItems from "../engineItems.js"
import * as TextSafety from "../textSafety.js"
import { initialProgress } from "../context.js"
import * as Dependencies from "./dependencies.js"
import { issuesOf, join, toJson, checkTime } from "./query.js"
import type { Shared } from "./shared.js"
import { toJob } from "../jobRow.js"
import { Runs } from "../metricRuns.js"

// ---------------------------------------------------------------------------------------------------------------------
// the engine
// ---------------------------------------------------------------------------------------------------------------------

type Rejection =
  | { readonly _tag: "UnknownType"; readonly type: string }
  | { readonly _tag: "Input"; readonly issues: ReadonlyArray<Issue> }
  | { readonly _tag: "Params"; readonly type: string; readonly issues: ReadonlyArray<Issue> }

/** One error for the rejections of one or many jobs: an unknown type first, then params-only, else input. */
const rejectionError = (
  rejections: ReadonlyArray<Rejection>
): UnknownJobType | InvalidParams | InvalidInput | undefined => {
  if (rejections.length === 0) return undefined
  const unknown = rejections.find((r) => r._tag === "UnknownType")
  if (unknown !== undefined) return new UnknownJobType({ type: unknown.type })
  const issues = rejections.flatMap((r) => (r._tag === "UnknownType" ? [] : r.issues))
  const first = rejections[0]
  if (first._tag === "Params" && rejections.every((r) => r._tag === "Params")) {
    return new InvalidParams({ type: first.type, issues })
  }
  return new InvalidInput({ issues })
}

/** `create` and `createMany` over the shared parts. */
export const make = ({ encodeParams, options, publish, registry, store }: Shared) => {
  const decodeCreate = Schema.decodeUnknownEither(Jobs.CreateJob, { errors: "all", onExcessProperty: "ignore" })

  /** The row of a new job, or why it cannot be created. */
  const prepare = (
    input: unknown,
    prefix: string,
    now: number,
    startNow: boolean,
    batchId: string | null,
    scope: JobScope.JobScope | undefined
  ): Either.Either<NewJobRow, Rejection> => {
    const unsafe = TextSafety.inspect(input, prefix)
    if (unsafe !== undefined) return Either.left({ _tag: "Input", issues: [unsafe] })
    const decoded = decodeCreate(input)
    if (Either.isLeft(decoded)) return Either.left({ _tag: "Input", issues: issuesOf(decoded.left, prefix) })
    const create = decoded.right
    const type = registry.types.get(create.type)
    if (type === undefined) return Either.left({ _tag: "UnknownType", type: create.type })
    const params = encodeParams(type, create.params === undefined ? {} : create.params, prefix)
    if (Either.isLeft(params)) return Either.left({ _tag: "Params", type: type.key, issues: params.left })
    const issues: Array<Issue> = []
    const runAt = checkTime(issues, join(prefix, "runAt"), create.runAt) ?? now
    const deadline =
      create.deadline === undefined || create.deadline === null
        ? null
        : (checkTime(issues, join(prefix, "deadline"), create.deadline) ?? null)
    const metadata = toJson(create.metadata ?? {})
    if (metadata === undefined) issues.push({ path: join(prefix, "metadata"), message: "must be JSON" })
    const owner = JobScope.ownerFor(scope, create.owner)
    if (owner === undefined) {
      issues.push({
        path: join(prefix, "owner"),
        message: create.owner === undefined ? "is required: give one of your owners" : "is not one of your owners"
      })
    }
    if (issues.length > 0 || metadata === undefined || owner === undefined) {
      return Either.left({ _tag: "Input", issues })
    }
    const status: JobStatus = startNow ? "QUEUED" : "CREATED"
    return Either.right({
      id: uuidv7(),
      type: type.key,
      name: create.name ?? type.name,
      queue: create.queue ?? type.queue,
      owner: owner.owner,
      idempotencyKey: create.idempotencyKey ?? null,
      status,
      terminalReason: null,
      priority: create.priority ?? type.priority,
      params: params.right,
      metadata,
      tags: create.tags ?? [],
      batchId,
      callbackUrl: create.callbackUrl ?? null,
      attempt: 0,
      maxAttempts: create.maxAttempts ?? type.maxAttempts,
      timeoutMs:
        create.timeoutMs !== undefined
          ? create.timeoutMs
          : type.timeout === null
            ? null
            : Duration.toMillis(type.timeout),
      deadline,
      runAt,
      createdAt: now,
      updatedAt: now,
      queuedAt: startNow ? now : null,
      startedAt: null,
      finishedAt: null,
      progress: JSON.stringify(initialProgress(type.stages, status)),
      lastError: null,
      resultId: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      leaseToken: null,
      ...Dependencies.fields(create.dependsOn, create.dependencyPolicy)
    })
  }

  /**
   * Inserts new rows. With global keys, each key's holder is looked up across owners first: one inside the
   * caller's scope is the outcome, one outside is an `IdempotencyKeyHeld` that says nothing of it.
   */
  const insertRows = (
    rows: ReadonlyArray<NewJobRow>,
    scope: JobScope.JobScope | undefined,
    items: ReadonlyArray<ItemRow> = []
  ) =>
    Effect.gen(function* () {
      // items go with their jobs; the store drops those of jobs it did not insert
      const withItems = items.length === 0 ? {} : { items }
      if (options.idempotencyKeys !== "global") return yield* store.insert({ jobs: rows, ...withItems })
      const holders: Array<JobRow | undefined> = []
      for (const row of rows) {
        const key = row.idempotencyKey
        const page =
          key === null
            ? undefined
            : yield* store.list({
                filter: { idempotencyKey: key, statuses: Job.activeStatuses },
                sort: "createdAt",
                order: "asc",
                limit: 1,
                cursor: null,
                withTotal: false
              })
        const holder = page?.rows[0]
        if (key !== null && holder !== undefined && !JobScope.contains(scope, holder)) {
          return yield* new IdempotencyKeyHeld({ idempotencyKey: key })
        }
        holders.push(holder)
      }
      const fresh = yield* store.insert({ jobs: rows.filter((_, i) => holders[i] === undefined), ...withItems })
      let next = 0
      return rows.map((_, i): InsertOutcome => {
        const holder = holders[i]
        return holder === undefined ? fresh[next++]! : { row: holder, inserted: false }
      })
    })

  /**
   * Inserts in a `jobloom.create` span whose context each new job stores (when a host tracer is installed), and
   * counts the jobs created.
   */
  const insertTraced = (
    rows: ReadonlyArray<NewJobRow>,
    scope: JobScope.JobScope | undefined,
    items: ReadonlyArray<ItemRow>
  ) =>
    JobTracing.create(
      Effect.flatMap(JobTracing.currentContext, (traceContext) =>
        Effect.tap(
          insertRows(traceContext === null ? rows : rows.map((row) => ({ ...row, traceContext })), scope, items),
          (outcomes) =>
            Effect.sync(() => {
              // one update per run of jobs of the same type and queue (a bulk enqueue is usually one run)
              const created = new Runs<"">((type, queue, _, count) => JobMetrics.recordCreated(type, queue, count))
              for (const o of outcomes) if (o.inserted) created.add(o.row.type, o.row.queue, "")
              created.flush()
            })
        )
      ),
      { count: rows.length, type: rows[0]?.type, queue: rows[0]?.queue }
    )

  const create: Jobs.Jobs.Service["create"] = (input, createOptions) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const scope = createOptions?.scope
      const prepared = prepare(input, "", now, createOptions?.startNow === true, null, scope)
      if (Either.isLeft(prepared)) return yield* rejectionError([prepared.left])!
      const missing = yield* Dependencies.check(store, scope, [
        { prefix: "", sent: (input as Jobs.CreateJob).dependsOn }
      ])
      if (missing.length > 0) return yield* new InvalidInput({ issues: missing })
      const { items, row } = EngineItems.attach(prepared.right, (input as Jobs.CreateJob).items, now)
      const [outcome] = yield* insertTraced([row], scope, items)
      const job = toJob(outcome.row)
      if (outcome.inserted) yield* publish({ _tag: "created", jobId: job.id, job })
      return { job, created: outcome.inserted }
    })

  const createMany: Jobs.Jobs.Service["createMany"] = (inputs, createOptions) =>
    Effect.gen(function* () {
      if (!Array.isArray(inputs) || inputs.length === 0) {
        return yield* new InvalidInput({ issues: [{ path: "jobs", message: "must list at least one job" }] })
      }
      const now = yield* Clock.currentTimeMillis
      const batchId = uuidv7()
      const rows: Array<NewJobRow> = []
      const items: Array<ItemRow> = []
      const rejections: Array<Rejection> = []
      // every job is checked before any is inserted, so one request reports every bad field at once
      inputs.forEach((input, index) => {
        const prepared = prepare(
          input,
          `jobs[${index}]`,
          now,
          createOptions?.startNow === true,
          batchId,
          createOptions?.scope
        )
        if (Either.isLeft(prepared)) rejections.push(prepared.left)
        else {
          const attached = EngineItems.attach(prepared.right, input.items, now)
          rows.push(attached.row)
          items.push(...attached.items)
        }
      })
      const rejected = rejectionError(rejections)
      if (rejected !== undefined) return yield* rejected
      const missing = yield* Dependencies.check(
        store,
        createOptions?.scope,
        inputs.map((input, index) => ({ prefix: `jobs[${index}]`, sent: input.dependsOn }))
      )
      if (missing.length > 0) return yield* new InvalidInput({ issues: missing })
      const outcomes = yield* insertTraced(rows, createOptions?.scope, items)
      const jobs = outcomes.map((outcome) => toJob(outcome.row))
      for (let i = 0; i < jobs.length; i++) {
        if (outcomes[i].inserted) yield* publish({ _tag: "created", jobId: jobs[i].id, job: jobs[i] })
      }
      if (outcomes.some((outcome) => outcome.inserted)) return { batchId, jobs }
      // nothing inserted: no job carries the new id, so answer the holders' batch when they share one
      const held = new Set(jobs.map((job) => job.batchId))
      const [only] = held
      return { batchId: held.size === 1 && only !== undefined ? only : null, jobs }
    })
  return { create, createMany }
}
