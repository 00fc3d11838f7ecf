/**
 * New job rows in the compact form of migration 11's `insert_unkeyed`: `{"common": {...}, "rows": [{...}, ...]}`,
 * each column either in `common` (every job has the same value) or in each row (the values differ). A null column is
 * left out wherever it is (the function reads a missing key as NULL), as `toJsonRow` does.
 */
import type { JobStore } from "@jobloom/core"
import { jobColumns } from "./rows.js"

type Field = keyof JobStore.NewJobRow

// every column the insert writes (trace_context among them)
const columns: ReadonlyArray<readonly [string, Field]> = jobColumns

/** A field's value as sent: null for absent, and for an empty `dependsOn` (the insert writes none). */
const valueOf = (row: JobStore.NewJobRow, field: Field): unknown => {
  const value = row[field]
  if (value === undefined || value === null) return null
  if (field === "dependsOn" && (value as ReadonlyArray<string>).length === 0) return null
  return value
}

/** Same value: equal scalars, or arrays of equal scalars (tags, dependsOn). */
const same = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The rows as the JSON text of the compact form. */
export const toCompactJson = (jobs: ReadonlyArray<JobStore.NewJobRow>): string => {
  const common: Record<string, unknown> = {}
  const varying: Array<readonly [string, Field]> = []
  for (const [column, field] of columns) {
    const first = valueOf(jobs[0]!, field)
    let constant = true
    for (let i = 1; i < jobs.length && constant; i++) constant = same(valueOf(jobs[i]!, field), first)
    if (!constant) varying.push([column, field])
    else if (first !== null) common[column] = first
  }
  const rows = jobs.map((job) => {
    const out: Record<string, unknown> = {}
    for (const [column, field] of varying) {
      const value = valueOf(job, field)
      if (value !== null) out[column] = value
    }
    return out
  })
  return JSON.stringify({ common, rows })
}
