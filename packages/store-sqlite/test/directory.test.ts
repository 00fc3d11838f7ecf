import { afterAll, describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-dir-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe("SqliteJobStore.layer", () => {
  it.effect("creates the directory of its file when it does not exist", () => {
    const filename = Path.join(dir, "not", "yet", "there", "jobs.db")
    return Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      expect(yield* store.stats({ filter: {} })).toEqual([])
      expect(Fs.existsSync(filename)).toBe(true)
    }).pipe(Effect.provide(Layer.fresh(SqliteJobStore.layer({ filename }))))
  })
})
