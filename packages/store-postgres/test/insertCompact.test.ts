/**
 * Migration 11's compact insert: the columns every job of a call shares are sent once, the others per row; each job
 * is stored exactly as given whichever side its columns travelled on, and the old array form still inserts.
 */
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import { makeRow } from "@jobloom/core/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { toCompactJson } from "../src/internal/compact.js"
import { toJsonRow } from "../src/internal/rows.js"
import * as PgJobStore from "../src/PgJobStore.js"
import { adminQuery, databaseUrl, freshSchema } from "./utils.js"

const newRow = (overrides: Partial<JobStore.JobRow> = {}): JobStore.NewJobRow => {
  const { number: _number, ...row } = makeRow(overrides)
  return row
}

describe("compact insert", () => {
  it("sends shared columns once and the differing ones per row, leaving nulls out", () => {
    const a = newRow({ params: '{"i":1}', tags: ["x"], owner: null, deadline: 5 })
    const b = newRow({ params: '{"i":2}', tags: ["x"], owner: "o", deadline: null })
    const parsed = JSON.parse(toCompactJson([a, b])) as {
      common: Record<string, unknown>
      rows: Array<Record<string, unknown>>
    }
    expect(parsed.common.type).toBe(a.type)
    expect(parsed.common.tags).toEqual(["x"])
    expect(parsed.common).not.toHaveProperty("owner")
    expect(parsed.common).not.toHaveProperty("params")
    expect(parsed.rows).toEqual([
      { id: a.id, params: '{"i":1}', deadline: 5 },
      { id: b.id, params: '{"i":2}', owner: "o" }
    ])
  })

  it.live("stores every job as given, its columns shared or not, and still takes the array form", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const store = yield* Effect.map(
        Layer.build(PgJobStore.layer({ url: databaseUrl, schema, maxConnections: 2, migrate: true })),
        (context) => Context.get(context, JobStore.JobStore)
      )
      const rows = [
        newRow({ params: '{"i":1}', tags: ["a", "b"], owner: "one", deadline: 1_000, priority: 3 }),
        newRow({ params: '{"i":2}', tags: [], owner: null, deadline: null, priority: 3, status: "CREATED" }),
        newRow({ params: '{"i":3}', tags: ["a"], owner: "two", queue: "other", traceContext: "00-trace-01" }),
        newRow({ params: '{"i":4}', tags: ["a", "b"], callbackUrl: "http://example.test/cb", maxAttempts: 7 })
      ]
      const outcomes = yield* store.insert({ jobs: rows })
      expect(outcomes.map((o) => o.inserted)).toEqual([true, true, true, true])
      for (const [i, given] of rows.entries()) {
        const stored = Option.getOrThrow(yield* store.get({ id: given.id }))
        // the trace context is written, not read back with the row (checked below)
        const { number, traceContext: _read, ...rest } = stored
        const { traceContext: _given, ...expected } = given
        expect(number).toBe(outcomes[i]!.row.number)
        expect(rest).toMatchObject(expected)
      }
      const traced = yield* adminQuery(`SELECT trace_context FROM "${schema}".jobloom_jobs WHERE id = $1`, [
        rows[2]!.id
      ])
      expect(traced).toEqual([{ trace_context: "00-trace-01" }])
      // one job alone: every column is common, its row empty
      const single = newRow({ params: '{"single":true}' })
      yield* store.insert({ jobs: [single] })
      expect(Option.getOrThrow(yield* store.get({ id: single.id })).params).toBe('{"single":true}')
      // the array form of the previous version
      const old = newRow({ params: '{"old":true}', tags: ["t"] })
      yield* adminQuery(`SELECT * FROM "${schema}".jobloom_insert_unkeyed($1::json, NULL)`, [
        JSON.stringify([toJsonRow(old)])
      ])
      const stored = Option.getOrThrow(yield* store.get({ id: old.id }))
      expect([stored.params, stored.tags, stored.status]).toEqual(['{"old":true}', ["t"], old.status])
    }).pipe(Effect.scoped)
  )
})
