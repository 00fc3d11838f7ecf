/**
 * The job counters of migration 0009 across backends: each writing backend keeps its own shard rows, the stats read
 * sums them, and folds them into shard 0 once a group has more than a handful. (That the counts stay exact through
 * every write is the conformance suite's "stats and totals stay exact" test, run on every store.)
 */
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import { makeRow } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PgJobStore from "../src/PgJobStore.js"
import { adminQuery, databaseUrl, freshSchema } from "./utils.js"

describe("PgJobStore counters", () => {
  it.live("writes of many backends count exactly, and a stats read folds their shards into one row", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const type = `counted-${Math.random().toString(36).slice(2, 10)}`
      const store = (migrate: boolean) =>
        Effect.map(Layer.build(PgJobStore.layer({ url: databaseUrl, schema, maxConnections: 1, migrate })), (context) =>
          Context.get(context, JobStore.JobStore)
        )
      const first = yield* store(true)
      // 20 pools of one connection each: 20 backends, so 20 shards of the same (type, queue, status)
      const stores = [first, ...(yield* Effect.all(Array.from({ length: 19 }, () => store(false))))]
      yield* Effect.forEach(stores, (s) => s.insert({ jobs: [makeRow({ type })] }), { concurrency: "unbounded" })
      const rows = () =>
        adminQuery(`SELECT shard, n::int AS n FROM "${schema}".jobloom_counts WHERE type = $1 ORDER BY shard`, [type])
      expect((yield* rows()).length, "one shard row per backend that wrote").toBe(20)
      const stats = yield* first.stats({ filter: { types: [type] } })
      expect(
        stats.map(({ status, count }) => ({ status, count })),
        "the shards sum to the exact count"
      ).toEqual([{ status: "QUEUED", count: 20 }])
      expect(yield* rows(), "the read folded every shard into shard 0").toEqual([{ shard: 0, n: 20 }])
      expect(
        (yield* stores[7]!.stats({ filter: { types: [type] } })).map(({ count }) => count),
        "the count after the fold"
      ).toEqual([20])
    }).pipe(Effect.scoped)
  )
})
