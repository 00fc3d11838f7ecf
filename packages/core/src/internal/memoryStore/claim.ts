/** The memory store's side of a worker holding jobs: claim, heartbeat and progress writes. */
import * as Effect from "effect/Effect"
import type { JobRow, JobStore, StatusChange } from "../../JobStore.js"
import type { MemoryState } from "./state.js"

/** `JobStore.claim` over the state: walks the QUEUED jobs in claim order, counting held jobs against the limits. */
export const claim =
  (state: MemoryState): JobStore.Service["claim"] =>
  (options) =>
    Effect.sync(() => {
      if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return []
      const types = options.types === undefined ? undefined : new Set(options.types)
      const byType = new Map<string, number>()
      const byQueue = new Map<string, number>()
      for (const row of state.running.values()) {
        byType.set(row.type, (byType.get(row.type) ?? 0) + 1)
        byQueue.set(row.queue, (byQueue.get(row.queue) ?? 0) + 1)
      }
      // chosen first, written after: a write makes the row stale in the queued index
      const chosen: Array<JobRow> = []
      for (const row of state.queued.entries) {
        if (chosen.length >= options.limit) break
        if (!state.queued.isCurrent(row)) continue
        if (row.runAt > options.now || !options.queues.includes(row.queue)) continue
        if (types !== undefined && !types.has(row.type)) continue
        const typeLimit = options.typeLimits[row.type]
        const queueLimit = options.queueLimits[row.queue]
        const typeCount = byType.get(row.type) ?? 0
        const queueCount = byQueue.get(row.queue) ?? 0
        if (typeLimit !== undefined && typeCount >= typeLimit) continue
        if (queueLimit !== undefined && queueCount >= queueLimit) continue
        byType.set(row.type, typeCount + 1)
        byQueue.set(row.queue, queueCount + 1)
        chosen.push(row)
      }
      const claimed = chosen.map((row) => {
        const next: JobRow = {
          ...row,
          status: "RUNNING",
          attempt: row.attempt + 1,
          startedAt: options.now,
          leaseOwner: options.workerId,
          leaseExpiresAt: options.now + options.leaseMs,
          leaseToken: options.token,
          updatedAt: options.now
        }
        state.write(row, next, options.now)
        return next
      })
      state.queued.trimFront()
      return claimed
    })

/** `JobStore.heartbeat` over the state: extends the leases the worker still holds and reports those. */
export const heartbeat =
  (state: MemoryState): JobStore.Service["heartbeat"] =>
  (options) =>
    Effect.sync(() => {
      const changes: Array<StatusChange> = []
      const seen = new Set<string>()
      for (const { id, token } of options.leases) {
        const row = state.jobs.get(id)
        if (seen.has(id) || !state.holds(row, options.workerId, token)) continue
        seen.add(id)
        // updatedAt is left alone: a lease refresh is not a change anyone sees
        state.put({ ...row, leaseExpiresAt: options.now + options.leaseMs })
        changes.push({ id, status: row.status })
      }
      return changes
    })

/** `JobStore.saveProgress` over the state: writes only jobs the worker holds by the given claims. */
export const saveProgress =
  (state: MemoryState): JobStore.Service["saveProgress"] =>
  (options) =>
    Effect.sync(() => {
      for (const { id, progress, token } of options.updates) {
        const row = state.jobs.get(id)
        if (!state.holds(row, options.workerId, token)) continue
        state.put({ ...row, progress, updatedAt: options.now })
      }
    })
