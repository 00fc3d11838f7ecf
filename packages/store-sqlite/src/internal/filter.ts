/**
 * The one WHERE builder for `JobStore.JobFilter`: lists, stats and retention deletes all select jobs through it.
 */
import type * as Statement from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import { filterTerms } from "./dependencies.js"
import type { Env } from "./env.js"

/** A scope's owners: `null` stands for jobs without an owner; an empty list matches nothing. */
const ownersClause = ({ sql }: Env, owners: ReadonlyArray<string | null>): Statement.Fragment => {
  const named = owners.filter((owner): owner is string => owner !== null)
  const terms: Array<Statement.Fragment> = []
  if (named.length > 0) terms.push(sql`owner IN ${sql.in(named)}`)
  if (named.length < owners.length) terms.push(sql.literal("owner IS NULL"))
  return terms.length === 0 ? sql.literal("1 = 0") : sql.or(terms)
}

/**
 * The WHERE of a filter; an empty list of ids, statuses, types or queues matches nothing. With `byTime`, a time
 * bound leads: the status, type and queue terms are written `+column` so their indexes are not candidates, and a
 * retention delete walks the finished (or created) index over the old rows only, instead of every row of a status.
 */
export const where = (env: Env, filter: JobStore.JobFilter, byTime = false): Statement.Fragment => {
  const { inList, sql } = env
  const clauses: Array<Statement.Fragment> = []
  const timeLeads = byTime && (filter.finishedBefore !== undefined || filter.createdBefore !== undefined)
  // Under a status filter, the type is checked on the status index, which carries it (`jobs_status (status,
  // created_at, id, type)`): SQLite would otherwise pick the type index when its statistics make a type look the
  // rarer, and read every row of the type to check its status (1.2 s for a status/type pair with no job among a
  // million; bench/RESULTS.md, Scale).
  const unindexed = (column: string) => timeLeads || (column === "type" && filter.statuses !== undefined)
  const oneOf = (column: string, values: ReadonlyArray<string> | undefined) => {
    if (values === undefined) return
    const term = sql.literal(unindexed(column) ? `+${column}` : column)
    clauses.push(values.length === 0 ? sql.literal("1 = 0") : sql`${term} IN ${sql.in(values)}`)
  }
  // ids as one JSON parameter: a selection of thousands of jobs is still one statement text
  if (filter.ids !== undefined) {
    clauses.push(filter.ids.length === 0 ? sql.literal("1 = 0") : sql`id IN ${inList(filter.ids)}`)
  }
  if (filter.numbers !== undefined) {
    clauses.push(filter.numbers.length === 0 ? sql.literal("1 = 0") : sql`number IN ${sql.in(filter.numbers)}`)
  }
  oneOf("status", filter.statuses)
  oneOf("type", filter.types)
  oneOf("queue", filter.queues)
  if (filter.owner !== undefined) clauses.push(sql`owner = ${filter.owner}`)
  if (filter.owners !== undefined) clauses.push(ownersClause(env, filter.owners))
  if (filter.idempotencyKey !== undefined) clauses.push(sql`idempotency_key = ${filter.idempotencyKey}`)
  if (filter.tag !== undefined) {
    // json_valid guards a corrupted tags column: such a row simply has no tags
    clauses.push(sql`EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(tags) THEN tags ELSE '[]' END)
      WHERE value = ${filter.tag})`)
  }
  if (filter.batchId !== undefined) clauses.push(sql`batch_id = ${filter.batchId}`)
  if (filter.q !== undefined) {
    // a substring of the name or the params, case-insensitively (ASCII); no index can serve it, the other terms narrow
    const q = filter.q.toLowerCase()
    clauses.push(sql`(instr(lower(name), ${q}) > 0 OR instr(lower(params), ${q}) > 0)`)
  }
  if (filter.createdAfter !== undefined) clauses.push(sql`created_at > ${filter.createdAfter}`)
  if (filter.createdBefore !== undefined) clauses.push(sql`created_at < ${filter.createdBefore}`)
  if (filter.finishedBefore !== undefined) clauses.push(sql`finished_at < ${filter.finishedBefore}`)
  clauses.push(...filterTerms(env, filter))
  return clauses.length === 0 ? sql.literal("1 = 1") : sql.and(clauses)
}
