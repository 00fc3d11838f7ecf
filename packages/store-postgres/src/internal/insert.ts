/**
 * Inserting jobs (and their items). One round trip, all or none, through the `insert` / `insert_unkeyed` functions of
 * migration 1, which also find the holders of idempotency keys and send the NOTIFYs of the new QUEUED jobs. The rows
 * travel as one JSON parameter: JSON.stringify is far cheaper than the driver's escaping of arrays. Unkeyed rows go in
 * migration 11's compact form (the columns all jobs share sent once).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { type Job, JobDependencies, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { toCompactJson } from "./compact.js"
import type { Items } from "./items.js"
import type { Row } from "./rows.js"
import { toJobRow, toJsonRow } from "./rows.js"
import type { Shared } from "./shared.js"

// the driver parses json columns; a host's client may be configured not to
const holderRow = (holder: unknown): Row => (typeof holder === "string" ? JSON.parse(holder) : (holder as Row))

const fewer = () => new JobStore.JobStoreError({ reason: "Corrupt", message: "insert answered for fewer jobs" })

/** The insert of one store. */
export const make = ({ callbacks, dependencies, fn, jobs: jobsTable, signals, sql }: Shared, items: Items) => {
  /**
   * Outside a caller's transaction the insert has committed when it answers: the queues that gained a QUEUED job
   * are announced in-process at once (their NOTIFYs carry this store's origin, so the listener drops them), and an
   * idle worker of this process claims without waiting for the notification to come back. Inside a transaction
   * nothing is published here: the NOTIFYs, sent at commit, carry no origin and wake everyone.
   */
  const publishEnqueued = (outcomes: ReadonlyArray<JobStore.InsertOutcome>) => {
    const queues = new Set<string>()
    for (const outcome of outcomes) {
      if (outcome.inserted && outcome.row.status === "QUEUED" && (outcome.row.waitingOn ?? 0) === 0) {
        queues.add(outcome.row.queue)
      }
    }
    signals.publish(Array.from(queues, (queue): JobStore.StoreSignal => ({ _tag: "Enqueued", queue })))
  }

  const insertJobs = (jobs: ReadonlyArray<JobStore.NewJobRow>) =>
    Effect.gen(function* () {
      if (jobs.length === 0) return []
      const inTransaction = Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))
      const origin = inTransaction ? null : signals.origin
      let outcomes: ReadonlyArray<JobStore.InsertOutcome>
      if (jobs.every((job) => job.idempotencyKey === null)) {
        // no key to look up: one plain INSERT, all or none, and every job inserted as given
        const input = toCompactJson(jobs)
        const rows = yield* sql<Row>`SELECT * FROM ${fn("insert_unkeyed")}(${input}::json, ${origin}::text)`
        if (rows.length !== jobs.length) return yield* fewer()
        const numbers = new Map(rows.map((r) => [r.job_id as string, Number(r.job_number)]))
        outcomes = jobs.map((job) => ({ row: { ...job, number: numbers.get(job.id) ?? 0 }, inserted: true }))
      } else {
        const input = JSON.stringify(jobs.map(toJsonRow))
        const rows = yield* sql<Row>`SELECT * FROM ${fn("insert")}(${input}::json, ${origin}::text)`
        const answers: Array<JobStore.InsertOutcome | undefined> = new Array(jobs.length).fill(undefined)
        for (const r of rows) {
          const index = Number(r.input_ord) - 1
          // an inserted job is stored exactly as given, with the number the table gave it; a holder comes back whole
          answers[index] =
            r.holder === null
              ? { row: { ...jobs[index]!, number: Number(r.job_number) }, inserted: true }
              : { row: toJobRow(holderRow(r.holder)), inserted: false }
        }
        if (answers.some((outcome) => outcome === undefined)) return yield* fewer()
        outcomes = answers as ReadonlyArray<JobStore.InsertOutcome>
      }
      if (!inTransaction) publishEnqueued(outcomes)
      return outcomes
    })

  /**
   * Jobs that name dependencies, in one transaction: their dependencies are locked (FOR NO KEY UPDATE: none can end
   * until this commits, and one that ended before is read ended; the edges' trigger of migration 10 then flags them
   * as having dependents, a write this lock already covers, so two such inserts never deadlock upgrading a shared
   * lock), those already ended are counted by the rules of `JobDependencies.atInsert`, the counted rows inserted, then
   * their edges; from then on migration 10's trigger counts every later end. A job inserted FAILED by a failed dependency gets its callback row here.
   */
  const insertWithDependencies = (jobs: ReadonlyArray<JobStore.NewJobRow>) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const ids = Array.from(new Set(jobs.flatMap((job) => job.dependsOn ?? [])))
        const found = yield* sql<Row>`SELECT id, status FROM ${jobsTable}
          WHERE id = ANY(${ids}::text[]) ORDER BY id FOR NO KEY UPDATE`
        const statuses = new Map(found.map((r) => [r.id as string, r.status as Job.JobStatus]))
        const counted = jobs.map((job) => JobDependencies.atInsert(job, (id) => statuses.get(id)))
        const outcomes = yield* insertJobs(counted.map((c) => c.row))
        const edges = outcomes.flatMap((outcome, i) =>
          outcome.inserted
            ? counted[i].edges.map((edge) => ({ job_id: outcome.row.id, depends_on: edge.dependsOn, done: edge.done }))
            : []
        )
        if (edges.length > 0) {
          yield* sql`INSERT INTO ${dependencies} (job_id, depends_on, done)
            SELECT job_id, depends_on, done
            FROM json_to_recordset(${JSON.stringify(edges)}::json) AS e(job_id text, depends_on text, done boolean)`
        }
        const owed = outcomes.flatMap((o) =>
          o.inserted && o.row.terminalReason === "dependency_failed" && o.row.callbackUrl !== null ? [o.row.id] : []
        )
        if (owed.length > 0) {
          yield* sql`INSERT INTO ${callbacks}
            (id, job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
            SELECT gen_random_uuid()::text, id, callback_url, status, terminal_reason, result_id, finished_at, 0,
              created_at
            FROM ${jobsTable} WHERE id = ANY(${owed}::text[])`
        }
        return outcomes
      })
    )

  const insertAny = (jobs: ReadonlyArray<JobStore.NewJobRow>) =>
    jobs.some((job) => (job.dependsOn?.length ?? 0) > 0) ? insertWithDependencies(jobs) : insertJobs(jobs)

  /** `JobStore.insert`: a job's items are inserted in the job's transaction, and only for the jobs inserted. */
  const insert = (options: Parameters<JobStore.JobStore.Service["insert"]>[0]) =>
    options.items === undefined || options.items.length === 0
      ? insertAny(options.jobs)
      : sql.withTransaction(
          Effect.tap(insertAny(options.jobs), (outcomes) => {
            const inserted = new Set(outcomes.flatMap((o) => (o.inserted ? [o.row.id] : [])))
            return items.upsert(options.items!.filter((item) => inserted.has(item.jobId)))
          })
        )

  return insert
}
