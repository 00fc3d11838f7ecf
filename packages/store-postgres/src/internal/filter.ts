/**
 * The WHERE clause of a `JobStore.JobFilter`, written once for every statement that takes one (list and its total,
 * stats, bulk delete). Every value travels as a typed parameter; arrays as one `= ANY($n)` parameter each, so the
 * statement's text, and its cached plan, does not depend on how many values a filter lists.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment, Identifier } from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"

/**
 * `column` is one of `values`. One value is written `= $n`, not `= ANY($n)`: PostgreSQL (before 17) reads an index in
 * order only under equalities, so `status=FAILED&type=x` walks `jobs_failed (status, type, created_at, id)` and stops
 * at the page's size, where `= ANY` walked `jobs_created` and filtered (a million rows when nothing matched).
 */
const oneOf = (sql: SqlClient.SqlClient, column: string, values: ReadonlyArray<string>): Fragment =>
  values.length === 1 ? sql`${sql(column)} = ${values[0]}::text` : sql`${sql(column)} = ANY(${values}::text[])`

/** The conditions of a filter, to be joined with AND (none: every job). */
export const clauses = (sql: SqlClient.SqlClient, filter: JobStore.JobFilter, tables: Tables): Array<Fragment> => {
  const out: Array<Fragment> = []
  if (filter.ids !== undefined) out.push(sql`id = ANY(${filter.ids}::text[])`)
  if (filter.numbers !== undefined) out.push(sql`number = ANY(${filter.numbers}::int8[])`)
  if (filter.statuses !== undefined) out.push(oneOf(sql, "status", filter.statuses))
  if (filter.types !== undefined) out.push(oneOf(sql, "type", filter.types))
  if (filter.queues !== undefined) out.push(oneOf(sql, "queue", filter.queues))
  if (filter.owner !== undefined) out.push(sql`owner = ${filter.owner}::text`)
  if (filter.owners !== undefined) {
    // a scope's owners; null stands for jobs without an owner
    const named = filter.owners.filter((owner): owner is string => owner !== null)
    const unowned = named.length < filter.owners.length
    out.push(unowned ? sql`(owner = ANY(${named}::text[]) OR owner IS NULL)` : sql`owner = ANY(${named}::text[])`)
  }
  if (filter.idempotencyKey !== undefined) out.push(sql`idempotency_key = ${filter.idempotencyKey}::text`)
  if (filter.tag !== undefined) out.push(sql`${filter.tag}::text = ANY(tags)`)
  if (filter.batchId !== undefined) out.push(sql`batch_id = ${filter.batchId}::text`)
  if (filter.q !== undefined) {
    // strpos, not LIKE: the search text is taken literally, % and _ included
    out.push(
      sql`(strpos(lower(name), lower(${filter.q}::text)) > 0 OR strpos(lower(params), lower(${filter.q}::text)) > 0)`
    )
  }
  if (filter.createdAfter !== undefined) out.push(sql`created_at > ${filter.createdAfter}::int8`)
  if (filter.createdBefore !== undefined) out.push(sql`created_at < ${filter.createdBefore}::int8`)
  if (filter.finishedBefore !== undefined) out.push(sql`finished_at < ${filter.finishedBefore}::int8`)
  if (filter.waiting !== undefined) {
    const waiting = sql.literal("(waiting_on > 0 AND status IN ('CREATED', 'QUEUED', 'PAUSED'))")
    out.push(filter.waiting ? waiting : sql`NOT ${waiting}`)
  }
  if (filter.dependsOn !== undefined) {
    out.push(sql`id IN (SELECT job_id FROM ${tables.dependencies} WHERE depends_on = ${filter.dependsOn}::text)`)
  }
  if (filter.required !== undefined) {
    // a non-terminal job depends on it (it may not be bulk-deleted)
    const required = sql`EXISTS (SELECT 1 FROM ${tables.dependencies} d JOIN ${tables.jobs} dependent
      ON dependent.id = d.job_id WHERE d.depends_on = ${tables.jobs}.id
        AND dependent.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))`
    out.push(filter.required ? required : sql`NOT ${required}`)
  }
  return out
}

/** The tables the dependency terms read. */
export interface Tables {
  readonly jobs: Identifier
  readonly dependencies: Identifier
}

/** The filter as one condition (`sql.and` of no clauses is `1=1`). */
export const where = (sql: SqlClient.SqlClient, filter: JobStore.JobFilter, tables: Tables): Fragment =>
  sql.and(clauses(sql, filter, tables))
