/**
 * One remote attempt as this process knows it: the claimed row (for the engine's settle decision), the claim's
 * owner and token, and the attempt's progress and items in memory, written by the flusher in batches. An attempt
 * claimed through another process (or before a restart) is rebuilt from its stored row on its first call here.
 */
import type { Progress } from "../../Job.js"
import type { JobRow } from "../../JobStore.js"
import type * as JobType from "../../JobType.js"
import { AttemptProgress } from "../context.js"
import type { AttemptItems } from "../attemptItems.js"

/** What a timeout or deadline stops, and when. */
export interface Limit {
  readonly at: number
  readonly reason: "timeout" | "deadline"
}

/** A claimed remote attempt. */
export class RemoteAttempt {
  readonly id: string
  /** The lease owner the claim wrote (`remote:<workerId>`): store writes are guarded by it and the token. */
  readonly owner: string
  readonly progress: AttemptProgress
  /** Named items, made on the first item report. */
  items: AttemptItems | undefined = undefined
  /** A heartbeat found the job CANCELLING (the attempt settles as cancelled) or PAUSING (it settles as paused). */
  stop: "cancel" | "pause" | null = null
  /** When the lease expires as last written here (epoch ms). */
  leaseExpiresAt: number
  /** Settled (or being settled) here: no more writes are accepted. */
  settled = false

  constructor(
    readonly row: JobRow,
    readonly token: string,
    readonly type: JobType.Any | undefined
  ) {
    this.id = row.id
    this.owner = row.leaseOwner ?? ""
    this.leaseExpiresAt = row.leaseExpiresAt ?? 0
    this.progress = new AttemptProgress(type)
    replay(row.progress, this.progress)
    // a rebuilt attempt keeps the checkpoint its earlier calls saved: the settle writes it again, unchanged
    if (row.checkpoint !== undefined && row.checkpoint !== null) this.progress.checkpoint = row.checkpoint
  }

  /** The earliest of the attempt's timeout and the job's deadline, as the in-process worker computes it. */
  limit(): Limit | null {
    const row = this.row
    const timeoutAt = row.timeoutMs === null ? null : (row.startedAt ?? 0) + row.timeoutMs
    if (timeoutAt !== null && (row.deadline === null || timeoutAt < row.deadline)) {
      return { at: timeoutAt, reason: "timeout" }
    }
    return row.deadline === null ? null : { at: row.deadline, reason: "deadline" }
  }
}

/**
 * Carries the stored progress of a running attempt into memory: an attempt rebuilt in this process goes on from
 * what its earlier calls reported, not from zero (progress never goes backwards within an attempt).
 */
const replay = (json: string, progress: AttemptProgress): void => {
  let stored: Progress
  try {
    stored = JSON.parse(json) as Progress
  } catch {
    return
  }
  for (const stage of stored?.stages ?? []) {
    const target = progress.stage(stage.key)
    if (stage.status !== "PENDING") progress.setStatus(target, stage.status)
    if (stage.progress > 0) progress.setProgress(target, stage.progress)
    for (const param of stage.params ?? []) {
      if (param.value !== null) progress.setParam(target, param.key, param.value)
    }
  }
  const items = stored?.items
  if (items !== null && typeof items === "object" && typeof items.total === "number") {
    progress.seedItemCounts({ total: items.total, completed: items.completed ?? 0, failed: items.failed ?? 0 })
  }
  // what was replayed is already stored
  progress.dirty = false
}
