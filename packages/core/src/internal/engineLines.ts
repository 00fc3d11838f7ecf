/**
 * The engine's own two lines per attempt, "attempt N/M started on worker W" and the attempt's end line, are not
 * stored rows when the row can say them: a succeeded job's (and a running job's) start line is presented from the
 * row's `startedAt`, `attempt`, `maxAttempts` and `leaseOwner`, its success line from `finishedAt` (see
 * `engine/logPage.ts`). An attempt that does not succeed stores both lines at its settle, the start line with its own
 * time, so a retried job's earlier attempts stay whole.
 *
 * Writers (the worker's flusher, the remote worker's reports) keep the attempt's start line aside (`Starts`) and buffer
 * it just before the attempt's first own line, so stored lines stay in the order they happened; the end decides
 * whether the start line is stored at all. A line may be published without being stored (the live start and success
 * lines of the SSE stream) or stored without being published again (a start line that was published live): the
 * buffers mark them here and write and publish only what each side takes.
 */
import type { NewLog } from "../JobStore.js"

/** Lines that are published to listeners but never stored. */
const unstored = new WeakSet<NewLog>()
/** Lines that are stored but were published already (a start line shown live at its claim). */
const unpublished = new WeakSet<NewLog>()
/** The full buffer a stored subset was taken from, to publish in order after the write. */
const fullOf = new WeakMap<ReadonlyArray<NewLog>, ReadonlyArray<NewLog>>()

/** The start line of an attempt of `row` on worker `workerId`. */
export const startMessage = (
  row: { readonly attempt: number; readonly maxAttempts: number },
  workerId: string
): string => `attempt ${row.attempt}/${row.maxAttempts} started on worker ${workerId}`

/**
 * Whether an attempt's end stores no line: a success (a Complete; one that meets a cancel ends CANCELLED, and the
 * row's progress, which says SUCCEEDED, still tells it).
 */
export const succeeds = (decision: { readonly settlement: { readonly _tag: string } }): boolean =>
  decision.settlement._tag === "Complete"

/** Success lines by attempt number, then maximum: a drain decides thousands, all alike. */
const successLines = new Map<number, Map<number, string>>()

/** The success line of an attempt: the worker's decision and the row's presented line, the same text. */
export const successMessage = (attempt: number, maxAttempts: number): string => {
  let byMax = successLines.get(attempt)
  if (byMax === undefined) {
    if (successLines.size >= 1_000) successLines.clear()
    byMax = new Map()
    successLines.set(attempt, byMax)
  }
  let line = byMax.get(maxAttempts)
  if (line === undefined) {
    if (byMax.size >= 1_000) byMax.clear()
    line = `attempt ${attempt}/${maxAttempts} succeeded`
    byMax.set(maxAttempts, line)
  }
  return line
}

/** A line to publish live that no store will hold. */
export const publishOnly = (line: NewLog): NewLog => {
  unstored.add(line)
  return line
}

/** The lines of a taken buffer that the store writes (the same array when none is publish-only). */
export const toStore = (buffer: ReadonlyArray<NewLog>): ReadonlyArray<NewLog> => {
  let any = false
  for (const line of buffer) {
    if (unstored.has(line)) {
      any = true
      break
    }
  }
  if (!any) return buffer
  const stored = buffer.filter((line) => !unstored.has(line))
  fullOf.set(stored, buffer)
  return stored
}

/** The lines to publish after `stored` (as `toStore` gave them) were written. */
export const toPublish = (stored: ReadonlyArray<NewLog>): ReadonlyArray<NewLog> => {
  const full = fullOf.get(stored) ?? stored
  for (const line of full) if (unpublished.has(line)) return full.filter((each) => !unpublished.has(each))
  return full
}

/**
 * The start lines of a writer's running attempts, kept aside until they are stored (just before the attempt's first
 * own line, or with its end when it does not succeed) or dropped (a success, a lost attempt).
 */
export class Starts {
  private readonly byJob = new Map<string, NewLog>()
  /** Start lines buffered (before their attempt's first line) and not yet taken by a write. */
  private readonly buffered = new Map<string, NewLog>()

  /**
   * An attempt started: keeps its start line aside, and answers the line to publish live now (a copy no store
   * holds) when `live`, else undefined.
   */
  started(line: NewLog, live: boolean): NewLog | undefined {
    this.byJob.set(line.jobId, line)
    if (!live) return undefined
    unpublished.add(line)
    return publishOnly({ ...line })
  }

  /** A line of the attempt (`token`) of `jobId` is about to be buffered: its start line to buffer first, if pending. */
  before(jobId: string, token: string | undefined): NewLog | undefined {
    if (token === undefined || this.byJob.size === 0) return undefined
    const line = this.byJob.get(jobId)
    if (line === undefined || line.token !== token) return undefined
    this.byJob.delete(jobId)
    this.buffered.set(jobId, line)
    return line
  }

  /** The buffer was taken by a write: the start lines in it are stored. */
  written(): void {
    if (this.buffered.size > 0) this.buffered.clear()
  }

  /** The attempt ended unwritten (lost) or was settled: forgets its start line. */
  forget(jobId: string, token: string): void {
    const line = this.byJob.get(jobId)
    if (line !== undefined && line.token === token) this.byJob.delete(jobId)
    const buffered = this.buffered.get(jobId)
    if (buffered !== undefined && buffered.token === token) this.buffered.delete(jobId)
  }

  /**
   * The attempt ended with `end` (see `succeeds`): the lines to buffer (a success none: its start line when still
   * aside is dropped, and the success line is published live only when `live`; another end its start line when still
   * aside, and `end`), and the start line to take back out of the buffer (a success's, buffered before its first own
   * line and not written yet), if any.
   */
  ended(
    end: NewLog & { readonly token: string },
    succeeded: boolean,
    live: boolean
  ): { readonly add: ReadonlyArray<NewLog>; readonly remove: NewLog | undefined } {
    const aside = this.byJob.get(end.jobId)
    const start = aside !== undefined && aside.token === end.token ? aside : undefined
    if (start !== undefined) this.byJob.delete(end.jobId)
    const inBuffer = this.buffered.get(end.jobId)
    const buffered = inBuffer !== undefined && inBuffer.token === end.token ? inBuffer : undefined
    if (buffered !== undefined) this.buffered.delete(end.jobId)
    if (succeeded) return { add: live ? [publishOnly(end)] : [], remove: buffered }
    return { add: start === undefined ? [end] : [start, end], remove: undefined }
  }
}

/**
 * An attempt ended with `end` (see `Starts.ended`): takes a success's start line back out of `buffer`, and answers
 * the lines its end travels with (the caller buffers them, or sends them with the settle).
 */
export const endLines = (
  starts: Starts,
  buffer: Array<NewLog>,
  end: NewLog & { readonly token: string },
  succeeded: boolean,
  live: boolean
): ReadonlyArray<NewLog> => {
  const { add, remove } = starts.ended(end, succeeded, live)
  if (remove !== undefined) {
    const at = buffer.lastIndexOf(remove)
    if (at >= 0) buffer.splice(at, 1)
  }
  return add
}
