/**
 * The engine behind the `Jobs` service: Schema work on the way in, the state machine on every action, guarded store
 * writes; events go to the `JobEvents` bus.
 *
 * Imports of `../Jobs.js` values are used only inside functions: `Jobs.ts` imports this module for its `layer`.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { uuidv7 } from "uuidv7"
import * as Delay from "../Delay.js"
import * as Job from "../Job.js"
import type { JobStatus } from "../Job.js"
import {
  BatchNotFound,
  IdempotencyKeyHeld,
  InvalidInput,
  InvalidParams,
  InvalidTransition,
  type Issue,
  JobNotFound,
  ResultNotFound,
  UnknownJobType
} from "../JobError.js"
import * as Jobs from "../Jobs.js"
import * as JobScope from "../JobScope.js"
import * as JobState from "../JobState.js"
import {
  type JobFilter,
  type JobPatch,
  type JobRow,
  JobStore,
  JobStoreError,
  type ListCursor,
  type NewJobRow
} from "../JobStore.js"
import type { InsertOutcome, ItemRow, ResultRow, SortKey } from "../JobStore.js"
import * as JobType from "../JobType.js"
import * as EngineItems from "./engineItems.js"
import { attach, JobEvents, layer as JobEventsLayer } from "./jobEvents.js"
import * as ScopedEvents from "./scopedEvents.js"
import * as TextSafety from "./textSafety.js"
import { deleteAll } from "./bulkDelete.js"
import { initialProgress } from "./context.js"
import { closeProgressText } from "./stages.js"

/** Options of the engine. */
export interface Options {
  /** Job types this process knows (definitions; handlers come from `JobType.toLayer`). */
  readonly types?: ReadonlyArray<JobType.Any>
  /** Log lines kept per job when the engine writes one. Default 10 000. */
  readonly logCap?: number
  /** Where an idempotency key is unique (see `Jobs.LayerOptions`). */
  readonly idempotencyKeys?: "owner" | "global"
}

/** How often an action re-reads and decides again when the job's status changed under it. */
const raceRetries = 5

const sortKeys: ReadonlyArray<SortKey> = ["createdAt", "updatedAt", "startedAt", "finishedAt", "priority", "name"]

/** Statuses bulk delete may remove. */
const deletable: ReadonlyArray<JobStatus> = JobState.from("delete")

// ---------------------------------------------------------------------------------------------------------------------
// issues and parsing
// ---------------------------------------------------------------------------------------------------------------------

/** `params.images[2].url` from a parse path, under `prefix`. */
const formatPath = (prefix: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`),
    prefix
  )

/** One issue per bad field: the first message for each path. */
const issuesOf = (error: ParseResult.ParseError, prefix: string): Array<Issue> => {
  const seen = new Set<string>()
  const issues: Array<Issue> = []
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = formatPath(prefix, issue.path) || "input"
    if (seen.has(path)) continue
    seen.add(path)
    issues.push({ path, message: issue.message })
  }
  return issues
}

const join = (prefix: string, field: string): string => (prefix === "" ? field : `${prefix}.${field}`)

const toJson = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    // circular values or BigInts from untyped callers
    return undefined
  }
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

const decodeCursor = (text: string): unknown => {
  try {
    return JSON.parse(Buffer.from(text, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

/** The largest epoch millisecond a time column holds (the end of JavaScript dates). */
const maxTime = 8.64e15

/**
 * A list cursor from its opaque form, checked against the sort it continues: a cursor is made by hand as easily as
 * by us, so its values must be ones the sort's column can hold (an integer priority, a time in range, text a store
 * keeps), or it is refused rather than handed to SQL.
 */
const parseListCursor = (text: string, sort: SortKey): ListCursor | undefined => {
  if (text.length > 4096) return undefined
  const value = decodeCursor(text)
  if (typeof value !== "object" || value === null) return undefined
  const { id, value: position } = value as { id?: unknown; value?: unknown }
  if (typeof id !== "string" || id.length > 200 || TextSafety.isUnsafeText(id)) return undefined
  if (sort === "name") {
    if (typeof position !== "string" || position.length > 1000 || TextSafety.isUnsafeText(position)) return undefined
  } else if (typeof position !== "number" || !Number.isSafeInteger(position)) {
    return undefined
  } else if (sort === "priority" ? Math.abs(position) > 1_000_000 : position < -1 || position > maxTime) {
    return undefined
  }
  return { value: position, id }
}

/** An ISO 8601 date (`2024-05-01`) or date-time (`2024-05-01T10:00:00Z`, offset or fraction optional). */
const isoTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

const checkLimit = (issues: Array<Issue>, value: unknown, fallback: number, max: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    issues.push({ path: "limit", message: `must be an integer from 1 to ${max}` })
    return fallback
  }
  return value
}

const checkTime = (issues: Array<Issue>, path: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined
  // Date.parse alone reads `1` as the year 2001: only ISO 8601 is taken
  const millis = typeof value === "string" && isoTime.test(value) ? Job.parseTime(value) : undefined
  if (millis === undefined) issues.push({ path, message: "must be an ISO 8601 date or date-time" })
  return millis
}

const checkStrings = (issues: Array<Issue>, path: string, value: unknown): ReadonlyArray<string> | undefined => {
  if (value === undefined) return undefined
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value
  issues.push({ path, message: "must be a list of strings" })
  return undefined
}

const checkString = (issues: Array<Issue>, path: string, value: unknown): string | undefined => {
  if (value === undefined || typeof value === "string") return value
  issues.push({ path, message: "must be a string" })
  return undefined
}

/** The store filter of a query, with an issue for each bad field. */
const toFilter = (query: Jobs.JobQuery, issues: Array<Issue>): JobFilter => {
  const statuses = checkStrings(issues, "statuses", query.statuses)
  const unknown = statuses?.filter((s) => !Job.statuses.includes(s as JobStatus)) ?? []
  if (unknown.length > 0) issues.push({ path: "statuses", message: `unknown status ${unknown.join(", ")}` })
  const filter: { -readonly [K in keyof JobFilter]: JobFilter[K] } = {}
  if (statuses !== undefined) filter.statuses = statuses as ReadonlyArray<JobStatus>
  const types = checkStrings(issues, "types", query.types)
  if (types !== undefined) filter.types = types
  const queues = checkStrings(issues, "queues", query.queues)
  if (queues !== undefined) filter.queues = queues
  if (query.numbers !== undefined) {
    const numbers: unknown = query.numbers
    if (Array.isArray(numbers) && numbers.every((n) => Number.isSafeInteger(n) && n >= 1)) filter.numbers = numbers
    else issues.push({ path: "numbers", message: "must be a list of positive integers" })
  }
  for (const field of ["owner", "tag", "batchId", "q"] as const) {
    const value = checkString(issues, field, query[field])
    if (value !== undefined) filter[field] = value
  }
  for (const field of ["createdAfter", "createdBefore", "finishedBefore"] as const) {
    const value = checkTime(issues, field, query[field])
    if (value !== undefined) filter[field] = value
  }
  for (const field of ["types", "queues", "owner", "tag", "batchId", "q"] as const) {
    const issue = TextSafety.inspect(filter[field], field)
    if (issue !== undefined) issues.push(issue)
  }
  return { ...filter, ...JobScope.toFilter(query.scope) }
}

// ---------------------------------------------------------------------------------------------------------------------
// progress
// ---------------------------------------------------------------------------------------------------------------------

/** Progress reset for a retry: the declared stages, or, for a type this process does not know, the job's own. */
const resetProgress = (row: JobRow, type: JobType.Any | undefined): string => {
  if (type !== undefined) return JSON.stringify(initialProgress(type.stages, "QUEUED"))
  const stages = Job.fromRow(row).progress.stages.map((stage) => ({
    key: stage.key,
    name: stage.name,
    params: stage.params.map((p) => ({ key: p.key, name: p.name, category: p.category }))
  }))
  return JSON.stringify(initialProgress(stages, "QUEUED"))
}

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

/** Builds the engine over the store, registry and event bus (`JobEvents`) in context. */
export const make = (options: Options = {}): Effect.Effect<Jobs.Jobs, never, JobStore | JobType.JobRegistry> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const registry = yield* JobType.JobRegistry
    const bus = yield* JobEvents
    const logCap = options.logCap ?? 10_000
    const decodeCreate = Schema.decodeUnknownEither(Jobs.CreateJob, { errors: "all", onExcessProperty: "ignore" })
    const decodeUpdate = Schema.decodeUnknownEither(Jobs.UpdateJob, { errors: "all", onExcessProperty: "ignore" })
    const jsonSchemas = new WeakMap<JobType.Any, unknown>()

    const publish = bus.publish

    const publishStatus = (row: JobRow): Effect.Effect<void> =>
      publish({ _tag: "status", jobId: row.id, status: row.status, terminalReason: row.terminalReason })

    /** A line in the job's log for a user action; the action already happened, so a failed write only warns. */
    const logAction = (jobId: string, message: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* store.appendLogs({ entries: [{ jobId, at: now, level: "info", message }], cap: logCap })
        yield* publish({ _tag: "log", jobId, at: Job.formatTime(now), level: "info", message })
      }).pipe(Effect.catchAll((error) => Effect.logWarning("jobloom: could not write an action log line", error)))

    /** Validates params with the type's Schema and returns the encoded form as JSON text (defaults materialized). */
    const encodeParams = (
      type: JobType.Any,
      params: unknown,
      prefix: string
    ): Either.Either<string, ReadonlyArray<Issue>> => {
      const path = join(prefix, "params")
      // a field the type does not declare is an error, unless its Schema says otherwise (a record, or its own
      // `parseOptions` annotation): the published JSON Schema says `additionalProperties: false`
      const depth = TextSafety.inspect(params, path)
      if (depth !== undefined) return Either.left([depth])
      const decoded = Schema.decodeUnknownEither(type.params, { errors: "all", onExcessProperty: "error" })(params)
      if (Either.isLeft(decoded)) return Either.left(issuesOf(decoded.left, path))
      const encoded = Schema.encodeEither(type.params, { errors: "all" })(decoded.right)
      if (Either.isLeft(encoded)) return Either.left(issuesOf(encoded.left, path))
      const text = toJson(encoded.right)
      return text === undefined ? Either.left([{ path, message: "must be JSON" }]) : Either.right(text)
    }

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
        leaseToken: null
      })
    }

    const getRow = (id: string): Effect.Effect<JobRow, JobNotFound | JobStoreError> =>
      // no job has an id no store can hold: not found, on every store alike
      TextSafety.isUnsafeText(id) || id.length > 1000
        ? Effect.fail(new JobNotFound({ jobId: id }))
        : Effect.flatMap(store.get({ id }), (row) =>
            Option.isSome(row) ? Effect.succeed(row.value) : Effect.fail(new JobNotFound({ jobId: id }))
          )
    const itemOps = EngineItems.make(store, getRow)

    const conflict = (id: string, action: string) =>
      new JobStoreError({
        reason: "Conflict",
        message: `job ${id} kept changing status while trying to ${action} it`
      })

    /**
     * Reads the job, asks the state machine, and writes `patch` guarded on the status it read. When the guard fails
     * (a worker or another request changed the job meanwhile), it reads and decides again.
     */
    const transition = <E = never>(
      id: string,
      action: JobState.Action,
      patchOf: (row: JobRow, now: number) => Effect.Effect<JobPatch, E> | JobPatch,
      message?: (row: JobRow) => string
    ): Effect.Effect<Job.Job, E | JobNotFound | InvalidTransition | JobStoreError> =>
      Effect.gen(function* () {
        for (let round = 0; round < raceRetries; round++) {
          const row = yield* getRow(id)
          const to = JobState.next(row.status, action)
          if (to === undefined) return yield* new InvalidTransition({ jobId: id, from: row.status, action })
          const now = yield* Clock.currentTimeMillis
          const made = patchOf(row, now)
          const patch = Effect.isEffect(made) ? yield* made : made
          const updated = yield* store.update({
            id,
            from: [row.status],
            patch: to === row.status ? patch : { ...patch, status: to },
            now
          })
          if (Option.isNone(updated)) continue
          if (updated.value.status !== row.status) yield* publishStatus(updated.value)
          if (message !== undefined) yield* logAction(id, message(updated.value))
          return Job.fromRow(updated.value)
        }
        return yield* conflict(id, action)
      })

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

    const create: Jobs.Jobs["create"] = (input, createOptions) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const scope = createOptions?.scope
        const prepared = prepare(input, "", now, createOptions?.startNow === true, null, scope)
        if (Either.isLeft(prepared)) return yield* rejectionError([prepared.left])!
        const { items, row } = EngineItems.attach(prepared.right, (input as Jobs.CreateJob).items, now)
        const [outcome] = yield* insertRows([row], scope, items)
        const job = Job.fromRow(outcome.row)
        if (outcome.inserted) yield* publish({ _tag: "created", jobId: job.id, job })
        return { job, created: outcome.inserted }
      })

    const createMany: Jobs.Jobs["createMany"] = (inputs, createOptions) =>
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
        const outcomes = yield* insertRows(rows, createOptions?.scope, items)
        const jobs = outcomes.map((outcome) => Job.fromRow(outcome.row))
        for (let i = 0; i < jobs.length; i++) {
          if (outcomes[i].inserted) yield* publish({ _tag: "created", jobId: jobs[i].id, job: jobs[i] })
        }
        if (outcomes.some((outcome) => outcome.inserted)) return { batchId, jobs }
        // nothing inserted: no job carries the new id, so answer the holders' batch when they share one
        const held = new Set(jobs.map((job) => job.batchId))
        const [only] = held
        return { batchId: held.size === 1 && only !== undefined ? only : null, jobs }
      })

    const cancel: Jobs.Jobs["cancel"] = (id) =>
      transition(
        id,
        "cancel",
        (row, now): JobPatch =>
          // a running job becomes CANCELLING; the worker holding it interrupts the handler and settles it
          row.status === "RUNNING"
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

    const update: Jobs.Jobs["update"] = (id, input) =>
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

    const remove: Jobs.Jobs["delete"] = (id, deleteOptions) =>
      Effect.gen(function* () {
        for (let round = 0; round < raceRetries; round++) {
          const row = yield* getRow(id)
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
          if (yield* store.delete({ id, from })) {
            yield* publish({ _tag: "deleted", jobId: id })
            return
          }
        }
        return yield* conflict(id, "delete")
      })

    const list: Jobs.Jobs["list"] = (query = {}) =>
      Effect.gen(function* () {
        const issues: Array<Issue> = []
        const limit = checkLimit(issues, query.limit, 50, 1000)
        const sort = query.sort ?? "createdAt"
        if (!sortKeys.includes(sort)) issues.push({ path: "sort", message: `must be one of ${sortKeys.join(", ")}` })
        const order = query.order ?? "desc"
        if (order !== "asc" && order !== "desc") issues.push({ path: "order", message: "must be asc or desc" })
        const filter = toFilter(query, issues)
        let cursor: ListCursor | null = null
        if (query.cursor !== undefined && query.cursor !== "") {
          cursor = typeof query.cursor === "string" ? (parseListCursor(query.cursor, sort) ?? null) : null
          if (cursor === null) issues.push({ path: "cursor", message: "is not a cursor of this listing" })
        }
        if (issues.length > 0) return yield* new InvalidInput({ issues })
        const withTotal = query.withTotal === true
        const page = yield* store.list({ filter, sort, order, limit, cursor, withTotal })
        return {
          items: page.rows.map(Job.fromRow),
          nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
          ...(withTotal ? { total: page.total ?? 0 } : {})
        }
      })

    const logs: Jobs.Jobs["logs"] = (id, logOptions = {}) =>
      Effect.gen(function* () {
        const issues: Array<Issue> = []
        const limit = checkLimit(issues, logOptions.limit, 100, 5000)
        let cursor: string | null = null
        if (logOptions.cursor !== undefined && logOptions.cursor !== "") {
          const decoded = typeof logOptions.cursor === "string" ? decodeCursor(logOptions.cursor) : undefined
          // log ids are integers every store can compare (below 2^63): anything else is no cursor of ours
          if (typeof decoded === "string" && /^[0-9]{1,18}$/.test(decoded)) cursor = decoded
          else issues.push({ path: "cursor", message: "is not a cursor of this log" })
        }
        if (issues.length > 0) return yield* new InvalidInput({ issues })
        yield* getRow(id)
        const page = yield* store.logs({ jobId: id, limit, cursor })
        return {
          items: page.rows.map((row) => ({
            id: row.id,
            at: Job.formatTime(row.at),
            level: row.level,
            message: row.message
          })),
          nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor)
        }
      })

    /** A stored result as clients see it; `compact` applies the type's projection to the decoded value. */
    const presentResult = (row: ResultRow, typeKey: string | undefined, compact: boolean): Job.JobResult => {
      const raw = parseJson(row.value)
      let value = raw
      const type = typeKey === undefined ? undefined : registry.types.get(typeKey)
      if (compact && type !== undefined && type.compact !== null) {
        const decoded = Schema.decodeUnknownEither(type.result)(raw)
        if (Either.isRight(decoded)) {
          try {
            value = type.compact(decoded.right)
          } catch {
            // a throwing projection must not hide the result; the full value is shown instead
            value = raw
          }
        }
      }
      return { id: row.id, jobId: row.jobId, createdAt: Job.formatTime(row.createdAt), value }
    }

    const getResult = (resultId: string, jobId: string | null) =>
      TextSafety.isUnsafeText(resultId) || resultId.length > 1000
        ? Effect.fail(new ResultNotFound({ resultId, jobId }))
        : Effect.flatMap(store.getResult({ resultId }), (row) =>
            Option.isSome(row) ? Effect.succeed(row.value) : Effect.fail(new ResultNotFound({ resultId, jobId }))
          )

    const result: Jobs.Jobs["result"] = (id, resultOptions) =>
      Effect.gen(function* () {
        const row = yield* getRow(id)
        if (row.resultId === null) return yield* new ResultNotFound({ resultId: null, jobId: id })
        const stored = yield* getResult(row.resultId, id)
        return presentResult(stored, row.type, resultOptions?.compact === true)
      })

    /** A result and its job, read with the scope as a store filter: a job outside it leaves the result unfound. */
    const scopedResult = (resultId: string, scope: JobScope.JobScope | undefined) =>
      Effect.gen(function* () {
        const stored = yield* getResult(resultId, null)
        if (scope?.owners === undefined) return { stored, job: yield* store.get({ id: stored.jobId }) }
        const page = yield* store.list({
          filter: { ids: [stored.jobId], ...JobScope.toFilter(scope) },
          sort: "createdAt",
          order: "desc",
          limit: 1,
          cursor: null,
          withTotal: false
        })
        const job = Option.fromNullable(page.rows[0])
        if (Option.isNone(job)) return yield* new ResultNotFound({ resultId, jobId: null })
        return { stored, job }
      })

    const resultById: Jobs.Jobs["resultById"] = (resultId, resultOptions) =>
      Effect.gen(function* () {
        const { job, stored } = yield* scopedResult(resultId, resultOptions?.scope)
        const type = Option.isSome(job) ? job.value.type : undefined
        return presentResult(stored, type, resultOptions?.compact === true)
      })

    const jobByResultId: Jobs.Jobs["jobByResultId"] = (resultId, resultOptions) =>
      Effect.gen(function* () {
        const { job, stored } = yield* scopedResult(resultId, resultOptions?.scope)
        if (Option.isNone(job)) return yield* new ResultNotFound({ resultId, jobId: stored.jobId })
        return Job.fromRow(job.value)
      })

    const zeros = (): Record<JobStatus, number> =>
      Object.fromEntries(Job.statuses.map((status) => [status, 0])) as Record<JobStatus, number>

    const countFilter = (filter: JobFilter) =>
      Effect.map(store.stats({ filter }), (rows) => {
        const byStatus = zeros()
        const byType: Record<string, Record<JobStatus, number>> = {}
        let total = 0
        for (const row of rows) {
          byStatus[row.status] += row.count
          byType[row.type] ??= zeros()
          byType[row.type][row.status] += row.count
          total += row.count
        }
        return { total, byStatus, byType }
      })

    const stats: Jobs.Jobs["stats"] = (query = {}) =>
      Effect.gen(function* () {
        const issues: Array<Issue> = []
        const filter = toFilter(query, issues)
        if (issues.length > 0) return yield* new InvalidInput({ issues })
        return yield* countFilter(filter)
      })

    const batch: Jobs.Jobs["batch"] = (batchId, batchOptions) =>
      Effect.gen(function* () {
        if (TextSafety.isUnsafeText(batchId) || batchId.length > 1000) return yield* new BatchNotFound({ batchId })
        const { byStatus, total } = yield* countFilter({ batchId, ...JobScope.toFilter(batchOptions?.scope) })
        if (total === 0) return yield* new BatchNotFound({ batchId })
        const active = Job.activeStatuses.reduce((n, status) => n + byStatus[status], 0)
        const succeeded = byStatus.SUCCEEDED
        // a batch created without startNow is not running until a job of it is queued
        const state =
          active > 0
            ? active === byStatus.CREATED
              ? "CREATED"
              : "RUNNING"
            : succeeded === total
              ? "COMPLETED"
              : succeeded === 0
                ? "FAILED"
                : "PARTIAL_FAILURE"
        return { batchId, total, byStatus, state } as const
      })

    const deleteMany: Jobs.Jobs["deleteMany"] = (query) =>
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
        return yield* deleteAll(store, { ...filter, statuses }, (ids) =>
          Effect.forEach(ids, (jobId) => publish({ _tag: "deleted", jobId }), { discard: true })
        )
      })

    const paramsSchema = (type: JobType.Any): unknown => {
      if (!jsonSchemas.has(type)) {
        let schema: unknown
        try {
          // the top-level schema inlined (not a `$ref` to its identifier), so clients read it directly
          const definitions: Record<string, JSONSchema.JsonSchema7> = {}
          const root = JSONSchema.fromAST(type.params.ast, { definitions, topLevelReferenceStrategy: "skip" })
          schema = Object.keys(definitions).length === 0 ? root : { ...root, $defs: definitions }
        } catch {
          // declarations and some transformations have no JSON Schema; say nothing rather than fail the listing
          schema = {}
        }
        jsonSchemas.set(type, schema)
      }
      return jsonSchemas.get(type)
    }

    const types: Jobs.Jobs["types"] = () =>
      Array.from(registry.types.values(), (type) => ({
        key: type.key,
        name: type.name,
        description: type.description,
        queue: type.queue,
        stages: type.stages,
        maxAttempts: type.maxAttempts,
        timeoutMs: type.timeout === null ? null : Duration.toMillis(type.timeout),
        concurrency: type.concurrency,
        paramsSchema: paramsSchema(type)
      }))

    const forJob =
      (options?: { readonly jobId?: string; readonly scope?: JobScope.JobScope }) =>
      (stream: Stream.Stream<Jobs.JobEvent>): Stream.Stream<Jobs.JobEvent> =>
        ScopedEvents.filter(
          store,
          options?.scope
        )(options?.jobId === undefined ? stream : Stream.filter(stream, (event) => event.jobId === options.jobId))

    const service: Jobs.Jobs = {
      create,
      createMany,
      enqueue: (input) => Effect.map(create(input, { startNow: true }), (outcome) => outcome.job),
      get: (id, getOptions) =>
        Effect.flatMap(getRow(id), (row) =>
          JobScope.contains(getOptions?.scope, row)
            ? Effect.succeed(Job.fromRow(row))
            : Effect.fail(new JobNotFound({ jobId: id }))
        ),
      list,
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
              itemOps.beforeRetry(row, resetProgress(row, registry.types.get(row.type)), retryOptions?.full === true),
              (progress): JobPatch => ({
                attempt: 0,
                progress,
                terminalReason: null,
                finishedAt: null,
                startedAt: null,
                resultId: null,
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
            if (Option.isSome(updated)) return Job.fromRow(updated.value)
          }
          return yield* conflict(id, "annotate")
        }),
      items: itemOps.list,
      item: itemOps.get,
      addItems: (id, items) => Effect.map(itemOps.add(id, items), Job.fromRow),
      pause: (id) =>
        transition(
          id,
          "pause",
          () => ({}),
          () => "paused"
        ),
      resume: (id) =>
        transition(
          id,
          "resume",
          () => ({}),
          () => "resumed"
        ),
      update,
      delete: remove,
      deleteMany,
      logs,
      result,
      resultById,
      jobByResultId,
      stats,
      batch,
      types,
      events: (options) =>
        forJob(options)(Stream.flatMap(Stream.scoped(bus.subscribe), (queue) => Stream.fromQueue(queue))),
      subscribe: (options) => Effect.map(bus.subscribe, (queue) => forJob(options)(Stream.fromQueue(queue)))
    }
    return attach(service, bus)
  })

/**
 * The engine with a fresh registry holding `types` and the built-in `delay` type with its handler, and the event bus
 * the worker and maintenance publish to.
 */
export const layer = (options: Options = {}): Layer.Layer<Jobs.Jobs | JobType.JobRegistry, never, JobStore> => {
  const registry = Layer.sync(JobType.JobRegistry, () => {
    const registry = JobType.makeRegistry()
    for (const type of options.types ?? []) registry.types.set(type.key, type)
    return registry
  })
  return Layer.effect(Jobs.Jobs, make(options)).pipe(
    Layer.merge(Delay.layer),
    Layer.provideMerge(registry),
    Layer.provideMerge(JobEventsLayer)
  )
}
