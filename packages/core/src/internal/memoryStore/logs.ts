/** The memory store's job logs: appending under a per-job cap, and reading newest first by cursor. */
import * as Effect from "effect/Effect"
import type { JobStore, LogRow, NewLog } from "../../JobStore.js"
import { held, type MemoryState } from "./state.js"

// zero-padded ids, so string order is insertion order
const LOG_ID_WIDTH = 16

/** Appends log lines (inside the caller's block), dropping each touched job's oldest lines beyond `cap`. */
export const appendLines = (
  state: MemoryState,
  options: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }
): void => {
  const touched = new Set<Array<LogRow>>()
  for (const entry of options.entries) {
    const job = state.jobs.get(entry.jobId)
    if (job === undefined) continue
    // a worker's line about a claim that no longer holds the job is late: dropped
    if (entry.token !== undefined && (job.leaseToken !== entry.token || !held(job.status))) continue
    let lines = state.logs.get(entry.jobId)
    if (lines === undefined) {
      lines = []
      state.logs.set(entry.jobId, lines)
    }
    const id = String(++state.logCounter).padStart(LOG_ID_WIDTH, "0")
    lines.push({ id, jobId: entry.jobId, at: entry.at, level: entry.level, message: entry.message })
    touched.add(lines)
  }
  const cap = Math.max(0, options.cap)
  for (const lines of touched) if (lines.length > cap) lines.splice(0, lines.length - cap)
}

/** `JobStore.appendLogs` over the state. */
export const appendLogs =
  (state: MemoryState): JobStore.Service["appendLogs"] =>
  (options) =>
    Effect.sync(() => appendLines(state, options))

/** `JobStore.logs` over the state: newest first, the cursor is the last line's id. */
export const readLogs =
  (state: MemoryState): JobStore.Service["logs"] =>
  (options) =>
    Effect.sync(() => {
      const lines = state.logs.get(options.jobId) ?? []
      const cursor = options.cursor
      const older = cursor === null ? lines : lines.filter((line) => line.id < cursor)
      const newestFirst = older.slice().reverse()
      const rows = newestFirst.slice(0, Math.max(0, options.limit))
      const last = rows[rows.length - 1]
      return { rows, nextCursor: newestFirst.length > rows.length && last !== undefined ? last.id : null }
    })
