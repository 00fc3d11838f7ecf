import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
// the core decoder is internal: read through its source, as the tests run on sources
import { toJob } from "../../core/src/internal/jobRow.js"
import { SqliteJobStore } from "../src/index.js"
import { hostClient, makeRow } from "./support.js"

describe("bad data", () => {
  it.effect("a row with corrupted JSON columns is still read, listed and filtered, never an error", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* SqliteJobStore.make()
      const row = makeRow({ tags: ["a"] })
      const other = makeRow({ tags: ["a"] })
      yield* store.insert({ jobs: [row, other] })
      yield* sql`UPDATE jobloom_jobs SET params = '{not json', tags = 'oops[', progress = 'x', metadata = '7'
        WHERE id = ${row.id}`
      const read = Option.getOrThrow(yield* store.get({ id: row.id }))
      expect(read.params).toBe("{not json")
      expect(read.tags).toEqual([])
      expect(toJob(read).params).toBe("{not json")
      const tagged = yield* store.list({
        filter: { tag: "a" },
        sort: "createdAt",
        order: "desc",
        limit: 10,
        cursor: null,
        withTotal: true
      })
      expect(tagged.rows.map((r) => r.id)).toEqual([other.id])
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})
