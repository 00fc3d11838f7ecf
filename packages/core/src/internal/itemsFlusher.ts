/**
 * The worker's item writer: attempts mark their changed items, and one `flush` writes every changed item of every
 * attempt in one `saveItems` call. The flusher runs it with progress and logs; the settler runs it before each
 * settlement, so a settled job's items are never older than its status. Flushes run one at a time, so an older
 * state of an item never lands after a newer one.
 */
import * as Effect from "effect/Effect"
import type { ItemRow, JobStore, LeaseRef } from "../JobStore.js"
import type { AttemptItems, ItemsHost } from "./attemptItems.js"

/** Rows read per page when an attempt loads its job's items. */
const loadPage = 1000

/** Every item of a job, in order. */
export const loadAll = (store: JobStore.Service, jobId: string) =>
  Effect.gen(function* () {
    const rows: Array<ItemRow> = []
    let cursor: { readonly position: number; readonly key: string } | null = null
    for (;;) {
      const page: Effect.Effect.Success<ReturnType<JobStore.Service["listItems"]>> = yield* store.listItems({
        jobId,
        limit: loadPage,
        cursor
      })
      rows.push(...page.rows)
      if (page.nextCursor === null) return rows
      cursor = page.nextCursor
    }
  })

/** The items writer of one worker. */
export interface ItemsFlusher {
  /** The items host of one attempt, whose writes are guarded by its claim's `token`. */
  readonly host: (armFlush: () => void, token: string) => ItemsHost
  readonly flush: Effect.Effect<void>
}

/** Builds the items writer of a worker. */
export const make = (store: JobStore.Service, workerId: string): Effect.Effect<ItemsFlusher> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    // each attempt's items with the token of its claim
    const dirty = new Map<AttemptItems, string>()
    return {
      host: (armFlush, token) => ({
        load: (jobId) => loadAll(store, jobId),
        changed: (items) => {
          if (!dirty.has(items)) {
            dirty.set(items, token)
            armFlush()
          }
        }
      }),
      // no lock taken when nothing changed: the settler calls this for every batch
      flush: Effect.suspend(() =>
        dirty.size === 0
          ? Effect.void
          : lock.withPermits(1)(
              Effect.suspend(() => {
                const rows: Array<ItemRow> = []
                const leases: Array<LeaseRef> = []
                for (const [items, token] of dirty) {
                  rows.push(...items.drain())
                  leases.push({ id: items.jobId, token })
                }
                dirty.clear()
                if (rows.length === 0) return Effect.void
                return store
                  .saveItems({ workerId, leases, items: rows })
                  .pipe(
                    Effect.catchAll((error) => Effect.logWarning(`jobloom: saving ${rows.length} items failed`, error))
                  )
              })
            )
      )
    }
  })
