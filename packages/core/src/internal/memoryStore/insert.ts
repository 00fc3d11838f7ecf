/** The memory store's insert: all or none, idempotency decided in input order, items with their jobs. */
import * as Effect from "effect/Effect"
import type { JobRow, JobStore } from "../../JobStore.js"
import { conflict, enqueued, type MemoryState } from "./state.js"

/** `JobStore.insert` over the state. */
export const insert =
  (state: MemoryState): JobStore.Service["insert"] =>
  (options) =>
    Effect.suspend(() => {
      const seen = new Set<string>()
      for (const job of options.jobs) {
        if (state.jobs.has(job.id) || seen.has(job.id)) return Effect.fail(conflict(`job ${job.id} already exists`))
        seen.add(job.id)
      }
      // idempotency is decided in input order, so a later job of the same call sees an earlier one as the holder
      const outcomes = options.jobs.map((job) => {
        const holder = state.holderOf(job)
        if (holder !== undefined) return { row: holder, inserted: false }
        const row: JobRow = { ...job, number: ++state.jobCounter, tags: [...job.tags] }
        state.put(row)
        return { row, inserted: true }
      })
      state.items.insertFor(options.items, new Set(outcomes.flatMap((o) => (o.inserted ? [o.row.id] : []))))
      const queues = outcomes.filter((o) => o.inserted && o.row.status === "QUEUED").map((o) => o.row.queue)
      return Effect.as(state.publish(enqueued(queues)), outcomes)
    })
