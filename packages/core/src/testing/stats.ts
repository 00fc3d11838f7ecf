/**
 * The stats part of the store conformance suite: counts by type and status over a filter. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { JobStatus } from "../Job.js"
import { JobStore } from "../JobStore.js"
import { makeRow } from "./rows.js"
import { insertRows, unique, type StoreIt } from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const statsTests = (it: StoreIt): void => {
  it.effect("stats counts jobs by type and status over the filter", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const typeA = unique("a")
      const typeB = unique("b")
      yield* insertRows([
        makeRow({ batchId, type: typeA, status: "QUEUED" }),
        makeRow({ batchId, type: typeA, status: "QUEUED" }),
        makeRow({ batchId, type: typeA, status: "FAILED" }),
        makeRow({ batchId, type: typeB, status: "QUEUED" }),
        makeRow({ batchId: unique("batch"), type: typeA, status: "QUEUED" })
      ])
      const order = (rows: ReadonlyArray<{ type: string; status: JobStatus; count: number }>) =>
        rows
          .map(({ type, status, count }) => ({ type, status, count }))
          .sort((x, y) => `${x.type} ${x.status}`.localeCompare(`${y.type} ${y.status}`))
      expect(
        order(yield* store.stats({ filter: { batchId } })),
        "stats: one row per type and status present, none for absent combinations"
      ).toEqual(
        order([
          { type: typeA, status: "QUEUED", count: 2 },
          { type: typeA, status: "FAILED", count: 1 },
          { type: typeB, status: "QUEUED", count: 1 }
        ])
      )
      expect(
        order(yield* store.stats({ filter: { batchId, statuses: ["QUEUED"], types: [typeA] } })),
        "stats: the filter applies before counting"
      ).toEqual([{ type: typeA, status: "QUEUED", count: 2 }])
      expect(
        yield* store.stats({ filter: { batchId, statuses: [] } }),
        "stats: a filter matching nothing gives no rows"
      ).toEqual([])
    })
  )
}
