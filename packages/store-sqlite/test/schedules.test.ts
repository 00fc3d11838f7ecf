import { afterAll } from "@effect/vitest"
import { runScheduleConformance } from "@jobloom/core/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"

// a real file (WAL, as in production), fresh for each run
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-schedules-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

runScheduleConformance(
  "SqliteJobStore schedules (temp file)",
  SqliteJobStore.layer({ filename: Path.join(dir, "store.db") })
)
