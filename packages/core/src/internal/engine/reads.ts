/**
 * Reads: one job, listings, logs, results, stats, batches and the registered types, each input checked first.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Job from "../../Job.js"
import type { JobStatus } from "../../Job.js"
import { BatchNotFound, InvalidInput, type Issue, JobNotFound, ResultNotFound } from "../../JobError.js"
import type * as Jobs from "../../Jobs.js"
import * as JobScope from "../../JobScope.js"
import { type JobFilter, type ListCursor } from "../../JobStore.js"
import type { ResultRow } from "../../JobStore.js"
import * as JobType from "../../JobType.js"
import * as TextSafety from "../textSafety.js"
import { checkLimit, decodeCursor, encodeCursor, parseJson, parseListCursor, sortKeys, toFilter } from "./query.js"
import type { Shared } from "./shared.js"
import { toJob } from "../jobRow.js"
import * as LogPage from "./logPage.js"

/** The reads over the shared parts. */
export const make = ({ getRow, itemOps, registry, store }: Shared) => {
  const jsonSchemas = new WeakMap<JobType.Any, unknown>()

  const list: Jobs.Jobs.Service["list"] = (query = {}) =>
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
        items: page.rows.map(toJob),
        nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
        ...(withTotal ? { total: page.total ?? 0 } : {})
      }
    })

  const logs: Jobs.Jobs.Service["logs"] = (id, logOptions = {}) =>
    Effect.gen(function* () {
      const issues: Array<Issue> = []
      const limit = checkLimit(issues, logOptions.limit, 100, 5000)
      let cursor: LogPage.LogCursor | null = null
      if (logOptions.cursor !== undefined && logOptions.cursor !== "") {
        const decoded = typeof logOptions.cursor === "string" ? decodeCursor(logOptions.cursor) : undefined
        cursor = LogPage.parseCursor(decoded) ?? null
        if (cursor === null) issues.push({ path: "cursor", message: "is not a cursor of this log" })
      }
      if (issues.length > 0) return yield* new InvalidInput({ issues })
      const row = yield* getRow(id)
      // the stored lines with the engine's lines the row says itself (see `logPage.ts`)
      const page = yield* LogPage.page(store, row, limit, cursor)
      return {
        items: page.items.map((line) => ({
          id: line.id,
          at: Job.formatTime(line.at),
          level: line.level,
          message: line.message
        })),
        nextCursor: page.next === null ? null : encodeCursor(page.next)
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

  const result: Jobs.Jobs.Service["result"] = (id, resultOptions) =>
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

  const resultById: Jobs.Jobs.Service["resultById"] = (resultId, resultOptions) =>
    Effect.gen(function* () {
      const { job, stored } = yield* scopedResult(resultId, resultOptions?.scope)
      const type = Option.isSome(job) ? job.value.type : undefined
      return presentResult(stored, type, resultOptions?.compact === true)
    })

  const jobByResultId: Jobs.Jobs.Service["jobByResultId"] = (resultId, resultOptions) =>
    Effect.gen(function* () {
      const { job, stored } = yield* scopedResult(resultId, resultOptions?.scope)
      if (Option.isNone(job)) return yield* new ResultNotFound({ resultId, jobId: stored.jobId })
      return toJob(job.value)
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

  const stats: Jobs.Jobs.Service["stats"] = (query = {}) =>
    Effect.gen(function* () {
      const issues: Array<Issue> = []
      const filter = toFilter(query, issues)
      if (issues.length > 0) return yield* new InvalidInput({ issues })
      const counts = yield* countFilter(filter)
      return { ...counts, waiting: yield* countWaiting(filter) }
    })

  /** QUEUED jobs waiting on dependencies among those `filter` matches: one small query of its own. */
  const countWaiting = (filter: JobFilter) =>
    filter.waiting === false || (filter.statuses !== undefined && !filter.statuses.includes("QUEUED"))
      ? Effect.succeed(0)
      : Effect.map(store.stats({ filter: { ...filter, statuses: ["QUEUED"], waiting: true } }), (rows) =>
          rows.reduce((n, row) => n + row.count, 0)
        )

  const batch: Jobs.Jobs.Service["batch"] = (batchId, batchOptions) =>
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

  const types: Jobs.Jobs.Service["types"] = () =>
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
  const service: Pick<
    Jobs.Jobs.Service,
    | "get"
    | "list"
    | "logs"
    | "result"
    | "resultById"
    | "jobByResultId"
    | "stats"
    | "batch"
    | "types"
    | "items"
    | "item"
    | "addItems"
  > = {
    get: (id, getOptions) =>
      Effect.flatMap(getRow(id), (row) =>
        JobScope.contains(getOptions?.scope, row)
          ? Effect.succeed(toJob(row))
          : Effect.fail(new JobNotFound({ jobId: id }))
      ),
    list,
    logs,
    result,
    resultById,
    jobByResultId,
    stats,
    batch,
    types,
    items: itemOps.list,
    item: itemOps.get,
    addItems: (id, items) => Effect.map(itemOps.add(id, items), toJob)
  }
  return service
}
