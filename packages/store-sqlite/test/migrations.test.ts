import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { SqliteJobStore } from "../src/index.js"
import { hostClient, tempFiles } from "./support.js"

const tempFile = tempFiles("jobloom-sqlite-migrations-").next

/** The schema as SQLite stores it, sorted, one statement per entry. */
const schemaOf = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ type: string; name: string; sql: string | null }>`
    SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`
  return rows.map((row) => `-- ${row.type} ${row.name}\n${row.sql ?? ""};`).join("\n\n") + "\n"
})

describe("migrations", () => {
  it.effect("migrate a fresh file, and a re-run applies nothing and changes nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const first = yield* SqliteJobStore.migrate()
      const before = yield* schemaOf
      const second = yield* SqliteJobStore.migrate()
      const after = yield* schemaOf
      expect(first).toEqual([
        [1, "init"],
        [2, "items"],
        [3, "trace"],
        [4, "schedules"],
        [5, "dependencies"],
        [6, "pause"],
        [7, "scale"]
      ])
      expect(second).toEqual([])
      expect(after).toEqual(before)
      // recorded in jobloom's own table, never in the host's default one
      const recorded = yield* sql<{ migration_id: number }>`SELECT migration_id FROM jobloom_migrations`
      expect(recorded.map((row) => row.migration_id)).toEqual([1, 2, 3, 4, 5, 6, 7])
      const defaults = yield* sql`SELECT name FROM sqlite_master WHERE name = 'effect_sql_migrations'`
      expect(defaults).toEqual([])
    }).pipe(Effect.provide(hostClient(tempFile())))
  )

  it.effect("match the committed schema snapshot", () =>
    Effect.gen(function* () {
      yield* SqliteJobStore.migrate()
      const schema = yield* schemaOf
      yield* Effect.promise(() => expect(schema).toMatchFileSnapshot("./__snapshots__/schema.sql"))
    }).pipe(Effect.provide(hostClient(":memory:")))
  )

  it.effect("put every table and index under the table prefix", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqliteJobStore.migrate({ tablePrefix: "acme_jl_" })
      const names = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`
      expect(names.length).toBeGreaterThan(5)
      for (const { name } of names) expect(name.startsWith("acme_jl_")).toBe(true)
    }).pipe(Effect.provide(hostClient(":memory:")))
  )

  it.effect("are skipped when migrate is false, so a host can run them itself", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqliteJobStore.make({ migrate: false })
      expect(yield* sql`SELECT name FROM sqlite_master WHERE name = 'jobloom_jobs'`).toEqual([])
    }).pipe(Effect.provide(hostClient(":memory:")))
  )
})
