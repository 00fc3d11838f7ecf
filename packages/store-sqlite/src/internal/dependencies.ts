/**
 * Dependencies on SQLite: what the insert does for jobs that name dependencies (their rows counted by the rules of
 * `JobDependencies.atInsert`, their edges written), the WHERE terms of the dependency filters, and the drain of the
 * signals the triggers of migration 5 leave (the triggers do all later counting, in every write that ends a job).
 */
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { type Job, JobDependencies, type JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Callbacks from "./callbacks.js"
import type { Env } from "./env.js"
import { text } from "./rows.js"

/**
 * Counts the dependencies of new jobs that already ended, in the insert's write transaction (which holds the write
 * lock, so none ends meanwhile). Rows without dependencies come back as they are.
 */
export const count = (
  env: Env,
  rows: ReadonlyArray<JobStore.JobRow>
): Effect.Effect<ReadonlyArray<JobStore.JobRow & { readonly edges: JobDependencies.AtInsert["edges"] }>, SqlError> =>
  Effect.gen(function* () {
    const ids = Array.from(new Set(rows.flatMap((row) => row.dependsOn ?? [])))
    if (ids.length === 0) return rows.map((row) => ({ ...row, edges: [] }))
    const { inList, jobs, sql } = env
    const found = yield* sql`SELECT id, status FROM ${jobs} WHERE id IN ${inList(ids)}`.values
    const statuses = new Map(found.map(([id, status]) => [text(id), text(status) as Job.JobStatus]))
    return rows.map((row) => {
      const counted = JobDependencies.atInsert(row, (id) => statuses.get(id))
      return { ...(counted.row as JobStore.JobRow), number: row.number, edges: counted.edges }
    })
  })

/** Writes the edges of freshly inserted jobs, and the callbacks of those inserted FAILED by a failed dependency. */
export const link = (
  env: Env,
  rows: ReadonlyArray<JobStore.JobRow & { readonly edges: JobDependencies.AtInsert["edges"] }>
): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const edges = rows.flatMap((row) => row.edges.map((edge) => [row.id, edge.dependsOn, edge.done ? 1 : 0]))
    if (edges.length === 0) return
    const { dependencies, sql } = env
    yield* sql`INSERT INTO ${dependencies} (job_id, depends_on, done)
      SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(${JSON.stringify(edges)})`
    for (const row of rows) {
      if (row.terminalReason === "dependency_failed" && row.callbackUrl !== null) {
        yield* Callbacks.record(env, [row.id], row.createdAt)
      }
    }
  })

/** The WHERE terms of the dependency fields of a filter. */
export const filterTerms = (env: Env, filter: JobStore.JobFilter): Array<Statement.Fragment> => {
  const { dependencies, jobs, sql } = env
  const terms: Array<Statement.Fragment> = []
  if (filter.waiting !== undefined) {
    const waiting = sql.literal("(waiting_on > 0 AND status IN ('CREATED', 'QUEUED', 'PAUSED'))")
    terms.push(filter.waiting ? waiting : sql`NOT ${waiting}`)
  }
  if (filter.dependsOn !== undefined) {
    terms.push(sql`id IN (SELECT job_id FROM ${dependencies} WHERE depends_on = ${filter.dependsOn})`)
  }
  if (filter.required !== undefined) {
    const required = sql`EXISTS (SELECT 1 FROM ${dependencies} d JOIN ${jobs} dependent ON dependent.id = d.job_id
      WHERE d.depends_on = ${jobs}.id
        AND dependent.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))`
    terms.push(filter.required ? required : sql`NOT ${required}`)
  }
  return terms
}

/**
 * Publishes what the triggers left: `Changed` (`dependency_failed`) for each job the cascade failed, `Enqueued` for
 * each queue with a released job. A read first, so a write that released nothing (almost all) costs no write lock.
 */
export const drain = (env: Env): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const { dependencySignals, sql } = env
    const [any] = yield* sql`SELECT 1 FROM ${dependencySignals} LIMIT 1`.values
    if (any === undefined) return
    const rows = yield* env.writeTransaction(
      sql`DELETE FROM ${dependencySignals} RETURNING job_id, queue, status`.values
    )
    const signals: Array<JobStore.StoreSignal> = []
    const queues = new Set<string>()
    for (const [id, queue, status] of rows) {
      if (text(status) === "FAILED") {
        signals.push({ _tag: "Changed", id: text(id), status: "FAILED", reason: "dependency_failed" })
      } else queues.add(text(queue))
    }
    for (const queue of queues) signals.push({ _tag: "Enqueued", queue })
    yield* env.signals.publish(signals)
  })
