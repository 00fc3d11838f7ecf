/**
 * Query validation and cursors: the engine's checks of a listing's filter, limit, sort and cursor, each bad field
 * reported as an `Issue` with its path, and the JSON helpers the other engine modules share.
 */
import * as ParseResult from "effect/ParseResult"
import * as Job from "../../Job.js"
import type { JobStatus } from "../../Job.js"
import { type Issue } from "../../JobError.js"
import type * as Jobs from "../../Jobs.js"
import * as JobScope from "../../JobScope.js"
import { type JobFilter, type ListCursor } from "../../JobStore.js"
import type { SortKey } from "../../JobStore.js"
import * as jobFilter from "../jobFilter.js"
import * as TextSafety from "../textSafety.js"

/** The sort keys a listing accepts. */
export const sortKeys: ReadonlyArray<SortKey> = jobFilter.sortKeys

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
export const issuesOf = (error: ParseResult.ParseError, prefix: string): Array<Issue> => {
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

export const join = (prefix: string, field: string): string => (prefix === "" ? field : `${prefix}.${field}`)

export const toJson = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    // circular values or BigInts from untyped callers
    return undefined
  }
}

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

export const decodeCursor = (text: string): unknown => {
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
export const parseListCursor = (text: string, sort: SortKey): ListCursor | undefined => {
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

export const checkLimit = (issues: Array<Issue>, value: unknown, fallback: number, max: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    issues.push({ path: "limit", message: `must be an integer from 1 to ${max}` })
    return fallback
  }
  return value
}

export const checkTime = (issues: Array<Issue>, path: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined
  // Date.parse alone reads `1` as the year 2001: only ISO 8601 is taken
  const millis = typeof value === "string" && isoTime.test(value) ? Job.parseTime(value) : undefined
  if (millis === undefined) issues.push({ path, message: "must be an ISO 8601 date or date-time" })
  return millis
}

export const checkStrings = (issues: Array<Issue>, path: string, value: unknown): ReadonlyArray<string> | undefined => {
  if (value === undefined) return undefined
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value
  issues.push({ path, message: "must be a list of strings" })
  return undefined
}

export const checkString = (issues: Array<Issue>, path: string, value: unknown): string | undefined => {
  if (value === undefined || typeof value === "string") return value
  issues.push({ path, message: "must be a string" })
  return undefined
}

/** The store filter of a query, with an issue for each bad field. */
export const toFilter = (query: Jobs.JobQuery, issues: Array<Issue>): JobFilter => {
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
  if (query.waiting !== undefined) {
    if (typeof query.waiting === "boolean") filter.waiting = query.waiting
    else issues.push({ path: "waiting", message: "must be true or false" })
  }
  const dependsOn = checkString(issues, "dependsOn", query.dependsOn)
  if (dependsOn !== undefined) filter.dependsOn = dependsOn
  for (const field of ["types", "queues", "owner", "tag", "batchId", "q", "dependsOn"] as const) {
    const issue = TextSafety.inspect(filter[field], field)
    if (issue !== undefined) issues.push(issue)
  }
  return { ...filter, ...JobScope.toFilter(query.scope) }
}
