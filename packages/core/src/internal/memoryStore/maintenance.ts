/** The memory store's maintenance: rescue of expired leases and expiry of jobs past their deadline. */
import * as Effect from "effect/Effect"
import type { JobStore, StatusChange, StoreSignal } from "../../JobStore.js"
import * as Ladder from "./ladder.js"
import { enqueued, held, type MemoryState } from "./state.js"

/** `JobStore.rescue` over the state: every held job whose lease expired by `now` ends by the ladder. */
export const rescue =
  (state: MemoryState): JobStore.Service["rescue"] =>
  (options) =>
    Effect.suspend(() => {
      const now = options.now
      const changes: Array<StatusChange> = []
      const queues: Array<string> = []
      for (const prev of Array.from(state.jobs.values())) {
        if (!held(prev.status) || prev.leaseExpiresAt === null || prev.leaseExpiresAt > now) continue
        const next = Ladder.next(prev, now, Ladder.ofLostLease(prev))
        state.write(prev, next, now)
        changes.push({ id: next.id, status: next.status })
        if (next.status === "QUEUED") queues.push(next.queue)
      }
      const signals: Array<StoreSignal> = changes.map((c) => ({ _tag: "Changed", id: c.id, status: c.status }))
      return Effect.as(state.publish([...signals, ...enqueued(queues)]), changes)
    })

/** `JobStore.expire` over the state: QUEUED, RUNNING and PAUSED jobs with `deadline <= now` time out. */
export const expire =
  (state: MemoryState): JobStore.Service["expire"] =>
  (options) =>
    Effect.suspend(() => {
      const now = options.now
      const changes: Array<StatusChange> = []
      for (const prev of Array.from(state.jobs.values())) {
        if (prev.status !== "QUEUED" && prev.status !== "RUNNING" && prev.status !== "PAUSED") continue
        if (prev.deadline === null || prev.deadline > now) continue
        state.write(prev, Ladder.next(prev, now, Ladder.expired), now)
        changes.push({ id: prev.id, status: "TIMED_OUT" })
      }
      return Effect.as(state.publish(changes.map((c) => ({ _tag: "Changed", id: c.id, status: c.status }))), changes)
    })
