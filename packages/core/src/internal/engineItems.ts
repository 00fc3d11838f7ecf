/**
 * The engine's item operations: items declared at create, items added to a job that is not running, the paged
 * listing, and what a retry does to them. The `progress.items` counters of a job that is not running are written
 * here from the store's counts, so they agree with the items.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { JobStatus } from "../Job.js"
import { InvalidInput, InvalidTransition, type Issue, type JobNotFound } from "../JobError.js"
import * as JobItem from "../JobItem.js"
import type { ItemCursor, ItemRow, ItemStatusCounts, JobRow, JobStore, JobStoreError } from "../JobStore.js"

/** Statuses in which items may be added from outside the handler. */
export const addable: ReadonlyArray<JobStatus> = ["CREATED", "QUEUED", "PAUSED"]

const toJson = (value: unknown): string | null => {
  if (value === undefined) return null
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return null
  }
}

/** The counters of `progress.items` from counts by status. */
export const countersOf = (counts: ItemStatusCounts) => {
  const completed = counts.SUCCEEDED ?? 0
  const failed = counts.FAILED ?? 0
  const total = completed + failed + (counts.PENDING ?? 0) + (counts.RUNNING ?? 0)
  return { total, pending: total - completed - failed, completed, failed }
}

/** Progress JSON with its item counters set (left as it is when the job has no items). */
export const withCounters = (progress: string, counts: ItemStatusCounts): string => {
  const counters = countersOf(counts)
  if (counters.total === 0) return progress
  try {
    const parsed = JSON.parse(progress) as { summary?: { progress?: number }; stages?: Array<unknown> }
    const summary =
      (parsed.stages?.length ?? 0) === 0 && parsed.summary !== undefined
        ? { ...parsed.summary, progress: counters.completed / counters.total }
        : parsed.summary
    return JSON.stringify({ ...parsed, summary, items: counters })
  } catch {
    return progress
  }
}

/** Rows of items declared at create, positions in order. */
export const declared = (
  jobId: string,
  items: ReadonlyArray<JobItem.NewItem> | undefined,
  now: number
): Array<ItemRow> =>
  (items ?? []).map((item, position) => ({
    jobId,
    key: item.key,
    position,
    status: "PENDING",
    input: toJson(item.input),
    output: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    updatedAt: now
  }))

/** A new job's row and items: the row's progress counts its items. */
export const attach = <Row extends Pick<JobRow, "id" | "progress">>(
  row: Row,
  items: ReadonlyArray<JobItem.NewItem> | undefined,
  now: number
): { readonly row: Row; readonly items: Array<ItemRow> } => {
  const rows = declared(row.id, items, now)
  return {
    row: rows.length === 0 ? row : { ...row, progress: withCounters(row.progress, { PENDING: rows.length }) },
    items: rows
  }
}

const encodeCursor = (cursor: ItemCursor): string =>
  Buffer.from(JSON.stringify([cursor.position, cursor.key]), "utf8").toString("base64url")

const decodeCursor = (text: string): ItemCursor | undefined => {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown
    if (Array.isArray(value) && Number.isInteger(value[0]) && typeof value[1] === "string") {
      return { position: value[0] as number, key: value[1] }
    }
  } catch {
    // not one of ours
  }
  return undefined
}

/** Options of the item listing. */
export interface ListOptions {
  readonly statuses?: ReadonlyArray<JobItem.ItemStatus>
  /** 1 to 1000, default 100. */
  readonly limit?: number
  readonly cursor?: string
}

const decodeNew = Schema.decodeUnknownEither(JobItem.NewItems, { errors: "all" })

/** Builds the engine's item operations over the store. */
export const make = (
  store: JobStore.Service,
  getRow: (id: string) => Effect.Effect<JobRow, JobNotFound | JobStoreError>
) => {
  /** Writes the job's counters into its progress, guarded on the status it was read in. */
  const writeCounters = (row: JobRow) =>
    Effect.gen(function* () {
      const counts = yield* store.countItems({ jobId: row.id })
      const now = yield* Clock.currentTimeMillis
      const progress = withCounters(row.progress, counts)
      const updated = yield* store.update({ id: row.id, from: [row.status], patch: { progress }, now })
      return Option.getOrElse(updated, () => row)
    })

  const list = (id: string, options: ListOptions = {}) =>
    Effect.gen(function* () {
      const issues: Array<Issue> = []
      const limit = options.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        issues.push({ path: "limit", message: "must be an integer from 1 to 1000" })
      }
      for (const status of options.statuses ?? []) {
        if (!JobItem.ItemStatus.literals.includes(status)) {
          issues.push({ path: "status", message: `must be one of ${JobItem.ItemStatus.literals.join(", ")}` })
        }
      }
      let cursor: ItemCursor | null = null
      if (options.cursor !== undefined && options.cursor !== "") {
        cursor = decodeCursor(options.cursor) ?? null
        if (cursor === null) issues.push({ path: "cursor", message: "is not a cursor of this listing" })
      }
      if (issues.length > 0) return yield* new InvalidInput({ issues })
      yield* getRow(id)
      const page = yield* store.listItems({
        jobId: id,
        limit,
        cursor,
        ...(options.statuses === undefined ? {} : { statuses: options.statuses })
      })
      return {
        items: page.rows.map(JobItem.fromRow),
        nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor)
      } satisfies JobItem.ItemPage
    })

  /** One item by key, or None. */
  const get = (id: string, key: string) =>
    Effect.gen(function* () {
      yield* getRow(id)
      let cursor: ItemCursor | null = null
      for (;;) {
        const page: { rows: ReadonlyArray<ItemRow>; nextCursor: ItemCursor | null } = yield* store.listItems({
          jobId: id,
          limit: 1000,
          cursor
        })
        const found = page.rows.find((row) => row.key === key)
        if (found !== undefined) return Option.some(JobItem.fromRow(found))
        if (page.nextCursor === null) return Option.none()
        cursor = page.nextCursor
      }
    })

  /**
   * Adds items to a job that is not running (CREATED, QUEUED, PAUSED): new keys go last, PENDING; an existing key
   * gets the new input and is PENDING again. Returns the job with its counters.
   */
  const add = (id: string, input: ReadonlyArray<JobItem.NewItem>) =>
    Effect.gen(function* () {
      const decoded = decodeNew(input)
      if (decoded._tag === "Left") {
        const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((issue) => ({
          path: issue.path.reduce<string>(
            (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`),
            "items"
          ),
          message: issue.message
        }))
        return yield* new InvalidInput({ issues })
      }
      const row = yield* getRow(id)
      if (!addable.includes(row.status))
        return yield* new InvalidTransition({ jobId: id, from: row.status, action: "add items" })
      const existing = new Map<string, number>()
      let next = 0
      let cursor: ItemCursor | null = null
      for (;;) {
        const page: { rows: ReadonlyArray<ItemRow>; nextCursor: ItemCursor | null } = yield* store.listItems({
          jobId: id,
          limit: 1000,
          cursor
        })
        for (const item of page.rows) {
          existing.set(item.key, item.position)
          next = Math.max(next, item.position + 1)
        }
        if (page.nextCursor === null) break
        cursor = page.nextCursor
      }
      const now = yield* Clock.currentTimeMillis
      const rows = declared(id, decoded.right, now).map((item) => ({
        ...item,
        position: existing.get(item.key) ?? next++
      }))
      const put = yield* store.putItems({ jobId: id, from: [row.status], items: rows })
      if (!put) {
        const now = yield* getRow(id)
        return yield* new InvalidTransition({ jobId: id, from: now.status, action: "add items" })
      }
      return yield* writeCounters(row)
    })

  /**
   * Before a retry: FAILED and RUNNING items become PENDING (all of them with `full`), while the job is terminal;
   * answers the retried job's progress with its counters.
   */
  const beforeRetry = (row: JobRow, progress: string, full: boolean) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* store.resetItems({
        jobId: row.id,
        from: [row.status],
        statuses: full ? ["SUCCEEDED", "FAILED", "RUNNING"] : ["FAILED", "RUNNING"],
        now
      })
      return withCounters(progress, yield* store.countItems({ jobId: row.id }))
    })

  return { list, get, add, beforeRetry }
}
