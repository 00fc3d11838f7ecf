/** The memory store's callback queue: taking due callbacks under a lease, and settling them. */
import * as Effect from "effect/Effect"
import type { CallbackRow, JobStore } from "../../JobStore.js"
import { compareValues } from "./order.js"
import type { MemoryState } from "./state.js"

/** `JobStore.claimCallbacks` over the state: the oldest due first; a taken callback hides for `leaseMs`. */
export const claimCallbacks =
  (state: MemoryState): JobStore.Service["claimCallbacks"] =>
  (options) =>
    Effect.sync(() => {
      const due = Array.from(state.callbacks.values())
        .filter((callback) => callback.dueAt <= options.now)
        .sort((a, b) => a.dueAt - b.dueAt || compareValues(a.id, b.id))
        .slice(0, Math.max(0, options.limit))
      return due.map(({ dueAt: _, ...row }): CallbackRow => {
        state.callbacks.set(row.id, { ...row, dueAt: options.now + options.leaseMs })
        return row
      })
    })

/** `JobStore.settleCallback` over the state: delivered (no retryAt) deletes it; a retry makes it due again then. */
export const settleCallback =
  (state: MemoryState): JobStore.Service["settleCallback"] =>
  (options) =>
    Effect.sync(() => {
      const callback = state.callbacks.get(options.id)
      if (callback === undefined) return
      if (options.retryAt === null) state.callbacks.delete(options.id)
      else state.callbacks.set(options.id, { ...callback, attempts: callback.attempts + 1, dueAt: options.retryAt })
    })
