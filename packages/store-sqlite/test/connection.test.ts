import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"
import { makeRow, storeOf, tempFiles } from "./support.js"

const { dir, next: tempFile } = tempFiles("jobloom-sqlite-connection-")

describe("connection", () => {
  it.effect("opens its connection with WAL, synchronous NORMAL, a busy timeout, a 2 MB cache and foreign keys on", () =>
    Effect.gen(function* () {
      const filename = tempFile()
      const issued: Array<string> = []
      // every statement the layer runs while it opens, as compiled
      yield* Effect.scoped(Layer.build(SqliteJobStore.layer({ filename, busyTimeout: "2 seconds" }))).pipe(
        Statement.withTransformer((statement) => {
          issued.push(statement.compile()[0])
          return Effect.succeed(statement)
        })
      )
      expect(issued).toEqual(
        expect.arrayContaining([
          "PRAGMA synchronous = NORMAL",
          "PRAGMA busy_timeout = 2000",
          "PRAGMA cache_size = -2000",
          "PRAGMA foreign_keys = ON"
        ])
      )
      const sized: Array<string> = []
      yield* Effect.scoped(Layer.build(SqliteJobStore.layer({ filename, cacheSizeKiB: 64_000 }))).pipe(
        Statement.withTransformer((statement) => {
          sized.push(statement.compile()[0])
          return Effect.succeed(statement)
        })
      )
      expect(sized).toContain("PRAGMA cache_size = -64000")
      // WAL is a property of the file, so a second connection sees it
      const [mode] = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ journal_mode: string }>`PRAGMA journal_mode`),
        SqliteClient.layer({ filename, disableWAL: true })
      )
      expect(mode?.journal_mode).toBe("wal")
    })
  )

  it.effect("fails with Unavailable when the file cannot be opened", () =>
    Effect.gen(function* () {
      // a missing directory is created (the quickstart's behaviour); a parent that is a plain file cannot be
      const blocker = Path.join(dir, "not-a-directory")
      Fs.writeFileSync(blocker, "")
      const exit = yield* Effect.exit(
        Effect.provide(JobStore.JobStore, SqliteJobStore.layer({ filename: Path.join(blocker, "x.db") }))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error).toBeInstanceOf(JobStore.JobStoreError)
        expect((error as JobStore.JobStoreError).reason).toBe("Unavailable")
      }
    })
  )

  it.effect("works on a private :memory: database with its client configured in full", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const row = makeRow()
      yield* store.insert({ jobs: [row] })
      expect(Option.isSome(yield* store.get({ id: row.id }))).toBe(true)
    }).pipe(Effect.provide(SqliteJobStore.layerWith({ client: { filename: ":memory:" } })))
  )

  it.effect("opens the client as configured in full: a read-only client reads, and a write fails Unavailable", () =>
    Effect.gen(function* () {
      const filename = tempFile()
      const row = makeRow()
      const writer = yield* storeOf(SqliteJobStore.layer({ filename }))
      yield* writer.insert({ jobs: [row] })
      const reader = yield* storeOf(
        SqliteJobStore.layerWith({ client: { filename, readonly: true, disableWAL: true }, migrate: false })
      )
      expect(Option.map(yield* reader.get({ id: row.id }), (found) => found.id)).toEqual(Option.some(row.id))
      const error = yield* Effect.flip(reader.insert({ jobs: [makeRow()] }))
      expect(error).toBeInstanceOf(JobStore.JobStoreError)
      expect(error.reason).toBe("Unavailable")
      // the driver's error stays underneath, for logs
      expect((error.cause as { readonly _tag?: string } | undefined)?._tag).toBe("SqlError")
    }).pipe(Effect.scoped)
  )
})
