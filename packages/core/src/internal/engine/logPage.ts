/**
 * A job's log as every reader sees it: the stored lines, newest first, with the engine's lines the row says itself
 * (see `engineLines.ts`) presented among them by their time: the current attempt's start line (a running job's, a
 * succeeded job's) from `startedAt`, `attempt`, `maxAttempts` and `leaseOwner`, and a succeeded job's success line
 * from `finishedAt` (and so a CANCELLED job's whose success met the cancel: its progress says SUCCEEDED).
 *
 * Where a presented line sits: just newer than the newest stored line that precedes it. Every stored line at or
 * before its time precedes the success line (so it is last at equal times); a stored line before its time precedes
 * the start line, and so does one at its very time when it was written before the claim: an engine line of an earlier
 * attempt (a retry claimed in the millisecond its failure was written), or the line of the action that queued the job
 * (run, retry, resume); so the start line sits before the attempt's own lines at equal times.
 * A stored line that IS the presented line (a start line stored before the attempt's first own line, a line written
 * by an older version) stands for it: the line is shown once.
 *
 * A page's cursor is the id of the last stored line it showed (or of the page before, when it showed none) with the
 * presented lines it has shown, so the next page shows every other line once: a page never repeats or skips a line,
 * whatever its size. Presented lines have ids of their own (`attempt-N-start`, `attempt-N-end`), never digits.
 */
import * as Effect from "effect/Effect"
import type { LogLevel } from "../../Job.js"
import type { JobRow, JobStore, JobStoreError, LogRow, NewLog } from "../../JobStore.js"
import { startMessage, successMessage } from "../engineLines.js"

/** A line as the page shows it (time in epoch milliseconds). */
export interface PageLine {
  readonly id: string
  readonly at: number
  readonly level: LogLevel
  readonly message: string
}

/** Where a page starts: older than the stored line `after` (from the newest when null), past the `shown` lines. */
export interface LogCursor {
  readonly after: string | null
  readonly shown: ReadonlyArray<string>
}

/** A presented line, with which stored lines precede it. */
interface Presented extends PageLine {
  readonly precededBy: (line: LogRow) => boolean
}

const engineLine = /^attempt ([0-9]+)\/[0-9]+ /
/** The lines of the actions that queue a job (`engine/actions.ts`): written before any claim of the run they start. */
const queueing = /^(queued by request|retry requested: |full rerun requested: |resumed$)/

/**
 * Whether a CANCELLED job's last attempt succeeded after all (its worker's success met the cancel): the settle wrote
 * the success's progress, whose summary says SUCCEEDED.
 */
const lateSuccess = (progress: string): boolean => {
  if (!progress.includes('"SUCCEEDED"')) return false
  try {
    const parsed = JSON.parse(progress) as { summary?: { status?: unknown } } | null
    return parsed?.summary?.status === "SUCCEEDED"
  } catch {
    return false
  }
}

/** The lines the row presents, newest first. */
export const presented = (row: JobRow): Array<Presented> => {
  const lines: Array<Presented> = []
  if (row.leaseOwner === null || row.startedAt === null || row.attempt < 1) return lines
  const held = row.status === "RUNNING" || row.status === "PAUSING" || row.status === "CANCELLING"
  const succeeded = row.status === "SUCCEEDED" || (row.status === "CANCELLED" && lateSuccess(row.progress))
  if (!held && !succeeded) return lines
  if (succeeded && row.finishedAt !== null) {
    const at = row.finishedAt
    lines.push({
      id: `attempt-${row.attempt}-end`,
      at,
      level: "info",
      message: successMessage(row.attempt, row.maxAttempts),
      precededBy: (line) => line.at <= at
    })
  }
  const at = row.startedAt
  const attempt = row.attempt
  lines.push({
    id: `attempt-${attempt}-start`,
    at,
    level: "info",
    message: startMessage(row, row.leaseOwner),
    precededBy: (line) => {
      // the line of the action that queued the job precedes the attempt it led to, even when written a millisecond
      // after the claim's time (a worker reads its clock before its claim reaches the store)
      if (queueing.test(line.message)) return true
      if (line.at !== at) return line.at < at
      // at its very time: an earlier attempt's lines precede it, the attempt's own follow it
      const engine = engineLine.exec(line.message)
      return engine !== null && Number(engine[1]) < attempt
    }
  })
  return lines
}

/**
 * The presented lines of `row` as lines to store, oldest first: what an action that clears the row's attempt fields
 * (a retry of a succeeded job) appends first, so the earlier attempt stays in the log.
 */
export const toKeep = (row: JobRow): Array<NewLog> =>
  presented(row)
    .reverse()
    .map((line) => ({ jobId: row.id, at: line.at, level: line.level, message: line.message }))

/** Stores `row`'s presented lines (see `toKeep`) before an action clears what they are presented from. */
export const keep = (store: JobStore.Service, row: JobRow, cap: number): Effect.Effect<void, JobStoreError> => {
  const entries = toKeep(row)
  return entries.length === 0 ? Effect.void : store.appendLogs({ entries, cap })
}

/** Parses the inside of a log cursor; undefined when it is none of ours. */
export const parseCursor = (decoded: unknown): LogCursor | undefined => {
  // a cursor of an older version: a stored line's id
  if (typeof decoded === "string") return /^[0-9]{1,18}$/.test(decoded) ? { after: decoded, shown: [] } : undefined
  if (typeof decoded !== "object" || decoded === null) return undefined
  const { after, shown } = decoded as { after?: unknown; shown?: unknown }
  // log ids are integers every store can compare (below 2^63)
  if (after !== null && (typeof after !== "string" || !/^[0-9]{1,18}$/.test(after))) return undefined
  if (!Array.isArray(shown) || shown.length > 2) return undefined
  if (!shown.every((id) => typeof id === "string" && /^attempt-[0-9]{1,9}-(start|end)$/.test(id))) return undefined
  return { after, shown }
}

/** One page of the log of `row`, newest first, and the cursor of the next page (null when none follows). */
export const page = (
  store: JobStore.Service,
  row: JobRow,
  limit: number,
  cursor: LogCursor | null
): Effect.Effect<{ readonly items: Array<PageLine>; readonly next: LogCursor | null }, JobStoreError> => {
  const lines = presented(row)
  // only lines the row still presents: a cursor names at most two
  const shown = new Set(cursor?.shown.filter((id) => lines.some((line) => line.id === id)) ?? [])
  const pending = lines.filter((line) => !shown.has(line.id))
  return Effect.map(store.logs({ jobId: row.id, limit, cursor: cursor?.after ?? null }), (stored) => {
    const items: Array<PageLine> = []
    let after = cursor?.after ?? null
    let i = 0
    const full = () => items.length >= limit
    const show = (line: Presented) => {
      items.push({ id: line.id, at: line.at, level: line.level, message: line.message })
      shown.add(line.id)
    }
    walk: for (; i < stored.rows.length; i++) {
      const line = stored.rows[i]!
      while (pending.length > 0 && pending[0]!.precededBy(line)) {
        if (full()) break walk
        show(pending.shift()!)
      }
      if (full()) break
      // a stored copy of a presented line stands for it
      for (let p = 0; p < pending.length; p++) {
        const same = pending[p]!
        if (same.at === line.at && same.message === line.message) {
          shown.add(same.id)
          pending.splice(p, 1)
          break
        }
      }
      items.push({ id: line.id, at: line.at, level: line.level, message: line.message })
      after = line.id
    }
    const storedLeft = i < stored.rows.length || stored.nextCursor !== null
    if (!storedLeft) while (pending.length > 0 && !full()) show(pending.shift()!)
    const more = storedLeft || pending.length > 0
    return { items, next: more ? { after, shown: Array.from(shown) } : null }
  })
}
