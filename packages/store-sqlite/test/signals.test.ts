import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { SqliteJobStore } from "../src/index.js"
import * as Signals from "../src/internal/signals.js"
import { makeRow, storeOf, tempFiles } from "./support.js"

const tempFile = tempFiles("jobloom-sqlite-signals-").next

describe("signals", () => {
  it.effect("wake a worker's store when another store of this process inserts into the same file", () => {
    const filename = tempFile()
    return Effect.gen(function* () {
      const worker = yield* storeOf(SqliteJobStore.layer({ filename }))
      const api = yield* storeOf(SqliteJobStore.layer({ filename }))
      const signals = yield* worker.subscribe
      yield* api.insert({ jobs: [makeRow({ queue: "wake" })] })
      expect(yield* Queue.take(signals)).toEqual({ _tag: "Enqueued", queue: "wake" })
      expect(worker.crossProcessSignals).toBe(false)
    }).pipe(Effect.scoped)
  })

  it.effect("stay within one database: a :memory: store never hears another", () =>
    Effect.gen(function* () {
      const one = yield* storeOf(SqliteJobStore.layer({ filename: ":memory:" }))
      const other = yield* storeOf(SqliteJobStore.layer({ filename: ":memory:" }))
      const signals = yield* one.subscribe
      yield* other.insert({ jobs: [makeRow()] })
      yield* one.insert({ jobs: [makeRow({ queue: "mine" })] })
      expect(yield* Queue.take(signals)).toEqual({ _tag: "Enqueued", queue: "mine" })
    }).pipe(Effect.scoped)
  )

  it.effect("share a hub only through one registry: a store given a registry of its own hears only its own", () => {
    const filename = tempFile()
    return Effect.gen(function* () {
      const apart = yield* storeOf(SqliteJobStore.layer({ filename })).pipe(
        Effect.provideService(Signals.Hubs, Signals.makeRegistry())
      )
      const shared = yield* storeOf(SqliteJobStore.layer({ filename }))
      const signals = yield* apart.subscribe
      yield* shared.insert({ jobs: [makeRow({ queue: "shared" })] })
      yield* apart.insert({ jobs: [makeRow({ queue: "apart" })] })
      expect(yield* Queue.take(signals)).toEqual({ _tag: "Enqueued", queue: "apart" })
    }).pipe(Effect.scoped)
  })
})
