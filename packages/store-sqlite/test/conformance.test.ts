import { afterAll } from "@effect/vitest"
import { runEngineConformance, runStoreConformance } from "@jobloom/core/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"

// real files (WAL, as in production), fresh for each run
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-conformance-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

runStoreConformance("SqliteJobStore (temp file)", SqliteJobStore.layer({ filename: Path.join(dir, "store.db") }))

runEngineConformance(
  "SqliteJobStore engine (temp file)",
  SqliteJobStore.layer({ filename: Path.join(dir, "engine.db") })
)
