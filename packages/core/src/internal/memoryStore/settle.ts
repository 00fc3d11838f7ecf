/** The memory store's settle: a worker ends the attempts it holds, in one block with the log lines it carries. */
import * as Effect from "effect/Effect"
import { isTerminal } from "../../Job.js"
import type { JobRow, JobStore, Settlement, StatusChange } from "../../JobStore.js"
import * as Ladder from "./ladder.js"
import { appendLines } from "./logs.js"
import { enqueued, type MemoryState } from "./state.js"

/** Applies one settlement when the worker holds the job by its claim; returns the new row, or undefined. */
const settleOne = (state: MemoryState, workerId: string, now: number, settlement: Settlement): JobRow | undefined => {
  const prev = state.jobs.get(settlement.id)
  if (!state.holds(prev, workerId, settlement.token)) return undefined
  const ended = Ladder.next(
    {
      ...prev,
      progress: settlement.progress ?? prev.progress,
      checkpoint: settlement.checkpoint ?? prev.checkpoint ?? null
    },
    now,
    Ladder.ofSettlement(prev, settlement)
  )
  // a row the settle ends keeps the worker of its last attempt (its lease's expiry and token are cleared): a succeeded
  // job's log presents that attempt's start line from it; a Retry or Release clears it, as the SQL stores do
  const next: JobRow = isTerminal(ended.status) ? { ...ended, leaseOwner: prev.leaseOwner } : ended
  // only a success stores its result: a late Complete on a CANCELLING job stores none
  if (settlement._tag === "Complete" && settlement.result !== null && next.status === "SUCCEEDED") {
    state.results.set(settlement.result.id, {
      id: settlement.result.id,
      jobId: prev.id,
      value: settlement.result.value,
      createdAt: now
    })
  }
  state.write(prev, next, now)
  return next
}

/** `JobStore.settle` over the state: reports the settlements that applied. */
export const settle =
  (state: MemoryState): JobStore.Service["settle"] =>
  (options) =>
    Effect.suspend(() => {
      if (options.logs !== undefined) appendLines(state, options.logs)
      const changes: Array<StatusChange> = []
      const queues: Array<string> = []
      for (const settlement of options.settlements) {
        const next = settleOne(state, settlement.workerId ?? options.workerId, options.now, settlement)
        if (next === undefined) continue
        changes.push({ id: next.id, status: next.status })
        if (next.status === "QUEUED") queues.push(next.queue)
      }
      return Effect.as(state.publish(enqueued(queues)), changes)
    })
