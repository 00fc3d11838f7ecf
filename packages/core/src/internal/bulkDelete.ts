/**
 * Bulk delete that publishes a `deleted` event for every job it deletes (the store's `deleteMany` only counts):
 * the matching jobs are taken a page of ids at a time and each page is deleted by id (filter kept, so a job whose
 * status changed meanwhile stays), which tells exactly which jobs went. A job that starts matching after the call
 * began may survive it, as with any delete racing an insert.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobFilter, JobStore, JobStoreError } from "../JobStore.js"

const PAGE = 1000

/** Deletes every job matching `filter`, calling `deleted` with the ids of each page deleted; answers how many. */
export const deleteAll = (
  store: JobStore.Service,
  filter: JobFilter,
  deleted: (ids: ReadonlyArray<string>) => Effect.Effect<void>
): Effect.Effect<number, JobStoreError> =>
  Effect.gen(function* () {
    let count = 0
    for (;;) {
      // always the first page: every listed job is gone after its round, deleted or no longer matching
      const page = yield* store.list({
        filter,
        sort: "createdAt",
        order: "asc",
        limit: PAGE,
        cursor: null,
        withTotal: false
      })
      if (page.rows.length === 0) return count
      const ids = page.rows.map((row) => row.id)
      const n = yield* store.deleteMany({ filter: { ...filter, ids } })
      count += n
      const gone =
        n === ids.length ? ids : yield* Effect.filter(ids, (id) => Effect.map(store.get({ id }), Option.isNone))
      if (gone.length > 0) yield* deleted(gone)
      if (page.nextCursor === null) return count
    }
  })
