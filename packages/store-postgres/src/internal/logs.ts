/**
 * Log lines: appended through the `append_logs` function of migration 1 (one round trip that also trims each touched
 * job to its cap), read newest first by their identity key, which orders lines of a job as they were written.
 */
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Row } from "./rows.js"
import { toLogRow } from "./rows.js"
import type { Shared } from "./shared.js"

/** A cap as the functions take it: a whole number, never negative. */
export const capOf = (cap: number): number => Math.max(0, Math.floor(cap))

/** The log statements of one store. */
export const make = ({ asyncCommitNow, fn, logs, sql }: Shared) => {
  /** `JobStore.appendLogs`: a worker write, so it commits asynchronously outside a caller's transaction. */
  const append = (options: { readonly entries: ReadonlyArray<JobStore.NewLog>; readonly cap: number }) =>
    options.entries.length === 0
      ? Effect.void
      : Effect.flatMap(asyncCommitNow, (asyncCommit) =>
          Effect.asVoid(
            sql`SELECT ${fn("append_logs")}(
              ${JSON.stringify(options.entries)}::json, ${capOf(options.cap)}::int4, ${asyncCommit}::boolean
            )`
          )
        )

  /** `JobStore.logs`: a keyset page below the cursor's id, off the (job_id, id) key; a cursor that is not an id finds nothing. */
  const read = (options: { readonly jobId: string; readonly limit: number; readonly cursor: string | null }) =>
    Effect.gen(function* () {
      const limit = Math.max(0, options.limit)
      const cursor = options.cursor === null ? null : /^\d+$/.test(options.cursor) ? options.cursor : "0"
      const rows = yield* sql<Row>`SELECT * FROM ${logs}
        WHERE job_id = ${options.jobId} ${cursor === null ? sql`` : sql`AND id < ${cursor}::int8`}
        ORDER BY id DESC LIMIT ${limit + 1}`
      const page = rows.slice(0, limit).map(toLogRow)
      const last = page[page.length - 1]
      return { rows: page, nextCursor: rows.length > limit && last !== undefined ? last.id : null }
    })

  return { append, read }
}

/** The log statements of one store. */
export type Logs = ReturnType<typeof make>
