/**
 * The settle ladder of the memory store, written once: the row a job moves to when its run ends, whether its worker
 * settles it, the rescuer finds its lease expired, or its deadline passes. The store's operations only choose the
 * `End`; the rules every end shares live in `next`.
 */
import type { TerminalReason } from "../../Job.js"
import type { JobRow, Settlement } from "../../JobStore.js"

/** Where a run ends: back in the queue, or in a terminal status, with the fields that end writes. */
export type End =
  | { readonly _tag: "Queued"; readonly patch?: Partial<Pick<JobRow, "runAt" | "lastError" | "attempt">> }
  | {
      readonly _tag: "Terminal"
      readonly status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "CANCELLED"
      readonly reason: TerminalReason | null
      readonly patch?: Partial<Pick<JobRow, "lastError" | "resultId">>
    }

/**
 * The row after a run ends: the lease is cleared and `updatedAt` is now; a CANCELLING job ends CANCELLED (`user`)
 * whatever the end says, so a late success never overwrites a cancel; a PAUSING job that would go back to the queue
 * is PAUSED instead (a success or a terminal end stands); a terminal end sets `finishedAt`.
 */
export const next = (prev: JobRow, now: number, end: End): JobRow => {
  const base: JobRow = { ...prev, leaseOwner: null, leaseExpiresAt: null, leaseToken: null, updatedAt: now }
  if (prev.status === "CANCELLING") return { ...base, status: "CANCELLED", terminalReason: "user", finishedAt: now }
  return end._tag === "Queued"
    ? { ...base, ...end.patch, status: prev.status === "PAUSING" ? "PAUSED" : "QUEUED" }
    : { ...base, ...end.patch, status: end.status, terminalReason: end.reason, finishedAt: now }
}

/** Where a worker's settlement sends the job it holds (see `Settlement`). */
export const ofSettlement = (prev: JobRow, settlement: Settlement): End => {
  switch (settlement._tag) {
    case "Complete":
      return { _tag: "Terminal", status: "SUCCEEDED", reason: null, patch: { resultId: settlement.result?.id ?? null } }
    case "Retry":
      return { _tag: "Queued", patch: { runAt: settlement.runAt, lastError: settlement.lastError } }
    case "Fail":
      return {
        _tag: "Terminal",
        status: settlement.status,
        reason: settlement.reason,
        patch: { lastError: settlement.lastError }
      }
    case "Cancelled":
      return { _tag: "Terminal", status: "CANCELLED", reason: "user" }
    case "Release":
      // a graceful shutdown (or a pause, on a PAUSING job) gives the attempt back
      return { _tag: "Queued", patch: { attempt: Math.max(0, prev.attempt - 1) } }
  }
}

/**
 * Where the rescuer sends a job whose lease expired: back to the queue while attempts remain, keeping its runAt and
 * so its place ahead of work queued after it (a PAUSING one to PAUSED: the crash spent the attempt); FAILED
 * (`stalled`) once they are spent.
 */
export const ofLostLease = (prev: JobRow): End =>
  prev.attempt < prev.maxAttempts ? { _tag: "Queued" } : { _tag: "Terminal", status: "FAILED", reason: "stalled" }

/** Where expiry sends a job past its deadline. */
export const expired: End = { _tag: "Terminal", status: "TIMED_OUT", reason: "expired" }
