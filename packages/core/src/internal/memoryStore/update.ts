/** The memory store's guarded writes by id or filter: update, delete and deleteMany. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isTerminal } from "../../Job.js"
import type { JobRow, JobStore, StoreSignal } from "../../JobStore.js"
import { matches } from "./order.js"
import { conflict, type MemoryState } from "./state.js"

/** `JobStore.update` over the state: the patch applies only from the given statuses. */
export const update =
  (state: MemoryState): JobStore.Service["update"] =>
  (options) =>
    Effect.suspend(() => {
      const prev = state.jobs.get(options.id)
      if (prev === undefined || !options.from.includes(prev.status)) return Effect.succeed(Option.none<JobRow>())
      const patch: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(options.patch)) {
        // an explicit `undefined` means "not given", as in the other stores
        if (value !== undefined) patch[key] = key === "tags" ? [...(value as ReadonlyArray<string>)] : value
      }
      const next = { ...prev, ...patch, updatedAt: options.now } as JobRow
      if (next.idempotencyKey !== null && !isTerminal(next.status)) {
        const holder = state.holderOf(next)
        if (holder !== undefined && holder.id !== next.id) {
          return Effect.fail(
            conflict(`idempotency key ${next.idempotencyKey} of job ${next.id} is held by job ${holder.id}`)
          )
        }
      }
      state.write(prev, next, options.now)
      const signals: Array<StoreSignal> = []
      if (next.status !== prev.status) signals.push({ _tag: "Changed", id: next.id, status: next.status })
      if (next.status === "QUEUED" && (next.status !== prev.status || "runAt" in patch)) {
        signals.push({ _tag: "Enqueued", queue: next.queue })
      }
      return Effect.as(state.publish(signals), Option.some(next))
    })

/** `JobStore.delete` over the state: only from the given statuses. */
export const deleteOne =
  (state: MemoryState): JobStore.Service["delete"] =>
  (options) =>
    Effect.sync(() => {
      const row = state.jobs.get(options.id)
      if (row === undefined || !options.from.includes(row.status)) return false
      state.remove(row.id)
      return true
    })

/** `JobStore.deleteMany` over the state. */
export const deleteMany =
  (state: MemoryState): JobStore.Service["deleteMany"] =>
  (options) =>
    Effect.sync(() => {
      const ids = Array.from(state.jobs.values())
        .filter((row) => matches(options.filter, row))
        .map((row) => row.id)
      for (const id of ids) state.remove(id)
      return ids.length
    })
