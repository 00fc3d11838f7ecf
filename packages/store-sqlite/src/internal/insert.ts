/**
 * `JobStore.insert`: a batch of new jobs in one write transaction, with their numbers, their idempotency keys
 * checked against live holders, and their items.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Job } from "@jobloom/core"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Env } from "./env.js"
import { fromValues, int, jobColumns, powerOfTwoChunks, toValues, valuesList } from "./rows.js"
import * as Signals from "./signals.js"

// 31 columns x 256 rows stays far below SQLite's parameter limit (32,766)
const insertChunk = 256

/** `JobStore.insert`, given the item upsert (`items.ts`) to run in the same transaction. */
export const insert =
  (
    env: Env,
    upsertItems: (rows: ReadonlyArray<JobStore.ItemRow>) => Effect.Effect<void, SqlError>
  ): JobStore.JobStore.Service["insert"] =>
  ({ items: itemRows, jobs: input }) => {
    const { columns, counters, inList, jobs, run, sql, tables, writeTransaction } = env
    if (input.length === 0) return Effect.succeed([])
    return run(
      writeTransaction(
        Effect.gen(function* () {
          const keys = Array.from(
            new Set(input.flatMap((job) => (job.idempotencyKey === null ? [] : [job.idempotencyKey])))
          )
          // keys are unique within an owner: a holder is found by (owner, key)
          const holderKey = (row: JobStore.NewJobRow) => JSON.stringify([row.owner, row.idempotencyKey])
          const holders = new Map<string, JobStore.JobRow>()
          if (keys.length > 0) {
            // named: without statistics the planner would rather walk every queued job by status
            const rows = yield* sql`SELECT ${columns} FROM ${jobs}
              INDEXED BY ${sql(`${tables.prefix}jobs_idempotency`)}
              WHERE idempotency_key IN ${inList(keys)}
                AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING')`.values
            for (const values of rows) {
              const row = fromValues(values)
              holders.set(holderKey(row), row)
            }
          }
          // numbers for every job of the call, taken in this transaction (the write lock makes them unique across
          // processes); those of jobs a key turns away are given back below, so numbers stay consecutive
          const [counter] = yield* sql`UPDATE ${counters} SET value = value + ${input.length}
            WHERE name = 'jobs' RETURNING value`.values
          let number = int(counter?.[0]) - input.length
          // decided in input order, so a later job of this call sees an earlier one as the holder
          const outcomes: Array<JobStore.InsertOutcome> = []
          const fresh: Array<JobStore.JobRow> = []
          for (const job of input) {
            const holder = job.idempotencyKey === null ? undefined : holders.get(holderKey(job))
            if (holder !== undefined) {
              outcomes.push({ row: holder, inserted: false })
              continue
            }
            const row: JobStore.JobRow = { ...job, number: ++number, tags: [...job.tags] }
            if (row.idempotencyKey !== null && !Job.isTerminal(row.status)) holders.set(holderKey(row), row)
            fresh.push(row)
            outcomes.push({ row, inserted: true })
          }
          if (fresh.length < input.length) {
            yield* sql`UPDATE ${counters} SET value = ${number} WHERE name = 'jobs'`
          }
          // multi-row INSERTs of power-of-two sizes: a few statement texts serve every batch size
          for (const chunk of powerOfTwoChunks(fresh, insertChunk)) {
            yield* sql`INSERT INTO ${jobs} (${columns})
              ${valuesList(chunk.map(toValues), jobColumns.length, { pad: false })}`
          }
          if (itemRows !== undefined && itemRows.length > 0) {
            const inserted = new Set(fresh.map((row) => row.id))
            yield* upsertItems(itemRows.filter((item) => inserted.has(item.jobId)))
          }
          return { outcomes, fresh }
        })
      )
    ).pipe(
      // published once committed, so a woken worker finds the jobs
      Effect.tap(({ fresh }) =>
        env.signals.publish(Signals.enqueued(fresh.filter((row) => row.status === "QUEUED").map((row) => row.queue)))
      ),
      Effect.map(({ outcomes }) => outcomes)
    )
  }
