/**
 * The delete part of the store conformance suite: `delete` is guarded by status and cascades; `deleteMany` removes
 * exactly what its filter matches. Registered by `runStoreConformance`.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { uuidv7 } from "uuidv7"
import type { JobFilter, JobRow } from "../JobStore.js"
import { JobStore } from "../JobStore.js"
import { makeRow, T0 } from "./rows.js"
import {
  complete,
  insertRows,
  isMissing,
  listAll,
  runningJob,
  sortedIds,
  takeCallbacks,
  unique,
  type StoreIt
} from "./support.js"

/** Declares the tests on `it` (the conformance suite's, over one shared store). */
export const deleteTests = (it: StoreIt): void => {
  it.effect("delete is guarded by from and cascades to logs, result and callbacks", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const workerId = unique("w")
      const job = yield* runningJob({ workerId, row: { callbackUrl: "https://example.com/cb" } })
      const resultId = uuidv7()
      yield* store.appendLogs({ entries: [{ jobId: job.id, at: T0, level: "info", message: "hi" }], cap: 100 })
      yield* store.settle({ workerId, now: T0 + 10, settlements: [complete(job.id, { id: resultId, value: "1" })] })
      expect(
        yield* store.delete({ id: job.id, from: ["CREATED", "QUEUED"] }),
        "delete: a status outside from is not deleted"
      ).toBe(false)
      expect(yield* isMissing(job.id), "delete: a refused delete keeps the job").toBe(false)
      expect(yield* store.delete({ id: uuidv7(), from: ["SUCCEEDED"] }), "delete: a missing job reports false").toBe(
        false
      )
      expect(yield* store.delete({ id: job.id, from: ["SUCCEEDED"] }), "delete: a status in from deletes").toBe(true)
      expect(yield* isMissing(job.id), "delete: the job is gone").toBe(true)
      expect(
        (yield* store.logs({ jobId: job.id, limit: 10, cursor: null })).rows,
        "delete: the job's logs are gone"
      ).toEqual([])
      expect(Option.isNone(yield* store.getResult({ resultId })), "delete: the job's result is gone").toBe(true)
      expect(yield* takeCallbacks([job.id], T0 + 10), "delete: the job's pending callbacks are gone").toEqual([])
    })
  )

  it.effect("deleteMany deletes exactly the jobs matching each filter, with their logs", () =>
    Effect.gen(function* () {
      const store = yield* JobStore
      const batchId = unique("batch")
      const typeA = unique("a")
      const owner = unique("owner")
      const rows = {
        typeA: makeRow({ batchId, type: typeA, status: "SUCCEEDED", finishedAt: T0 + 500 }),
        failedOld: makeRow({ batchId, status: "FAILED", finishedAt: T0 + 100 }),
        failedNew: makeRow({ batchId, status: "FAILED", finishedAt: T0 + 900 }),
        queued: makeRow({ batchId, status: "QUEUED", createdAt: T0 - 100 }),
        owned: makeRow({ batchId, owner, status: "CREATED" }),
        keep: makeRow({ batchId, status: "CANCELLED", finishedAt: T0 + 1_000, createdAt: T0 + 5 })
      }
      yield* insertRows(Object.values(rows))
      yield* store.appendLogs({
        entries: [{ jobId: rows.typeA.id, at: T0, level: "info", message: "x" }],
        cap: 100
      })
      const remove = (filter: JobFilter, gone: ReadonlyArray<JobRow>, rule: string) =>
        Effect.gen(function* () {
          const count = yield* store.deleteMany({ filter: { batchId, ...filter } })
          expect(count, `deleteMany: ${rule} (count)`).toBe(gone.length)
          for (const row of gone) expect(yield* isMissing(row.id), `deleteMany: ${rule} (job gone)`).toBe(true)
        })
      yield* remove({ types: [typeA] }, [rows.typeA], "by types")
      expect(
        (yield* store.logs({ jobId: rows.typeA.id, limit: 10, cursor: null })).rows,
        "deleteMany: logs of deleted jobs are gone"
      ).toEqual([])
      yield* remove({ finishedBefore: T0 + 500 }, [rows.failedOld], "finishedBefore deletes only jobs finished before")
      yield* remove({ statuses: ["FAILED", "QUEUED"], createdBefore: T0 }, [rows.queued], "statuses and createdBefore")
      yield* remove({ owner }, [rows.owned], "by owner")
      yield* remove({ statuses: [] }, [], "an empty statuses list deletes nothing")
      const left = yield* listAll({ filter: { batchId }, sort: "createdAt", order: "asc", limit: 100 })
      expect(sortedIds(left), "deleteMany: jobs matching no filter remain").toEqual(
        sortedIds([rows.failedNew, rows.keep])
      )
      yield* remove({}, [rows.failedNew, rows.keep], "by batchId alone")
    })
  )
}
