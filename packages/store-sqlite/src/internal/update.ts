/**
 * `JobStore.update`: the user actions (run, pause, resume, cancel, retry, edit) as one guarded compare-and-set of a
 * job's status and columns.
 */
import type * as Statement from "@effect/sql/Statement"
import { Job } from "@jobloom/core"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Callbacks from "./callbacks.js"
import type { Env } from "./env.js"
import { fromValues, patchColumns, text } from "./rows.js"

/** `JobStore.update`: applies `patch` only while the job's status is one of `from`. */
export const update =
  (env: Env): JobStore.JobStore.Service["update"] =>
  (options) => {
    const { columns, jobs, run, sql, writeTransaction } = env
    if (options.from.length === 0) return Effect.succeed(Option.none())
    // read and write in one write transaction: the status read is the one the UPDATE's guard holds to, and the
    // previous status decides the signals and whether a callback is owed
    return run(
      writeTransaction(
        Effect.gen(function* () {
          const [prev] = yield* sql`SELECT status FROM ${jobs} WHERE id = ${options.id}
            AND status IN ${sql.in(options.from)}`.values
          if (prev === undefined) return Option.none<{ row: JobStore.JobRow; prevStatus: string }>()
          const sets: Array<Statement.Fragment> = [sql`updated_at = ${options.now}`]
          for (const [key, value] of Object.entries(options.patch)) {
            const column = patchColumns[key as keyof JobStore.JobPatch]
            // an explicit `undefined` means "not given"; unknown keys are not columns
            if (value === undefined || column === undefined) continue
            sets.push(sql`${sql.literal(column)} = ${key === "tags" ? JSON.stringify(value) : value}`)
          }
          const [values] = yield* sql`UPDATE ${jobs} SET ${sql.csv(sets)} WHERE id = ${options.id}
            RETURNING ${columns}`.values
          if (values === undefined) return Option.none()
          const row = fromValues(values)
          const prevStatus = text(prev[0])
          if (row.status !== prevStatus && row.callbackUrl !== null && Job.isTerminal(row.status)) {
            yield* Callbacks.record(env, [row.id], options.now)
          }
          return Option.some({ row, prevStatus })
        })
      )
    ).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeed(Option.none<JobStore.JobRow>()),
          onSome: ({ prevStatus, row }) => {
            const signals: Array<JobStore.StoreSignal> = []
            const statusChanged = row.status !== prevStatus
            if (statusChanged) signals.push({ _tag: "Changed", id: row.id, status: row.status })
            // a job made due (queued, or its run time moved) wakes the workers of its queue
            if (row.status === "QUEUED" && (statusChanged || options.patch.runAt !== undefined)) {
              signals.push({ _tag: "Enqueued", queue: row.queue })
            }
            return Effect.as(env.signals.publish(signals), Option.some(row))
          }
        })
      )
    )
  }
