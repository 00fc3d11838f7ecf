/** The memory store's reads: one job, a page of jobs, statuses, stats and results. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobRow, JobStore, ListCursor, StatsRow, StatusChange } from "../../JobStore.js"
import { comparePositions, matches, sortValue } from "./order.js"
import type { MemoryState } from "./state.js"

/** `JobStore.get` over the state. */
export const get =
  (state: MemoryState): JobStore.Service["get"] =>
  (options) =>
    Effect.sync(() => Option.fromNullable(state.jobs.get(options.id)))

/** `JobStore.list` over the state: filter, then keyset paging by (sort value, id). */
export const list =
  (state: MemoryState): JobStore.Service["list"] =>
  (options) =>
    Effect.sync(() => {
      const direction = options.order === "asc" ? 1 : -1
      const cursor = options.cursor
      let total = 0
      const after: Array<{ readonly row: JobRow; readonly position: ListCursor }> = []
      for (const row of state.jobs.values()) {
        if (!matches(options.filter, row)) continue
        total++
        const position = { value: sortValue(row, options.sort), id: row.id }
        if (cursor === null || comparePositions(position, cursor) * direction > 0) after.push({ row, position })
      }
      after.sort((a, b) => comparePositions(a.position, b.position) * direction)
      const page = after.slice(0, Math.max(0, options.limit))
      const last = page[page.length - 1]
      return {
        rows: page.map((entry) => entry.row),
        nextCursor: after.length > page.length && last !== undefined ? last.position : null,
        total: options.withTotal ? total : null
      }
    })

/** `JobStore.statuses` over the state. */
export const statuses =
  (state: MemoryState): JobStore.Service["statuses"] =>
  (options) =>
    Effect.sync(() => {
      const changes: Array<StatusChange> = []
      for (const id of new Set(options.ids)) {
        const row = state.jobs.get(id)
        if (row !== undefined) changes.push({ id, status: row.status })
      }
      return changes
    })

/** `JobStore.stats` over the state. */
export const stats =
  (state: MemoryState): JobStore.Service["stats"] =>
  (options) =>
    Effect.sync(() => {
      const counts = new Map<string, StatsRow>()
      for (const row of state.jobs.values()) {
        if (!matches(options.filter, row)) continue
        const key = JSON.stringify([row.type, row.status])
        const current = counts.get(key)
        counts.set(key, { type: row.type, status: row.status, count: (current?.count ?? 0) + 1 })
      }
      return Array.from(counts.values())
    })

/** `JobStore.getResult` over the state. */
export const getResult =
  (state: MemoryState): JobStore.Service["getResult"] =>
  (options) =>
    Effect.sync(() => Option.fromNullable(state.results.get(options.resultId)))
