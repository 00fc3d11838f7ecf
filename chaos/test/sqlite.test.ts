// The chaos suite on a SQLite file: two worker processes share it; one is SIGKILLed mid-drain and a new process
// started on the same file. Nothing is lost, nothing runs twice at once, and no process ever sees SQLITE_BUSY.
import { SqliteJobStore } from "@jobloom/store-sqlite"
import { afterAll, describe, expect, it } from "vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import {
  awaitDrained,
  engineOver,
  enqueue,
  figuresOf,
  openJobs,
  outcomes,
  readExecutions,
  startWorker,
  tempDir,
  type StoreEnv,
  type WorkerProcess
} from "../src/harness.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe("chaos: SQLite", () => {
  it("two processes share the file; one is SIGKILLed mid-drain and restarted: none lost, 0 SQLITE_BUSY", async () => {
    const dir = tempDir("sqlite")
    const records = Path.join(dir, "records")
    Fs.mkdirSync(records)
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const file = Path.join(dir, "jobs.db")
    const store: StoreEnv = { store: "sqlite", file }
    const engine = engineOver(SqliteJobStore.layer({ filename: file }))
    cleanups.push(() => engine.dispose())
    const settings = { concurrency: 10, leaseMs: 5_000, heartbeatMs: 1_000, rescueMs: 1_000 }
    const workers: Array<WorkerProcess> = []
    cleanups.push(async () => {
      await Promise.all(workers.map((w) => w.kill("SIGKILL")))
    })
    workers.push(...(await Promise.all([startWorker(store, records, settings), startWorker(store, records, settings)])))
    const ids = await enqueue(engine, 1_000, 50)
    while ((await openJobs(engine)) > 600) await sleep(50)
    const victim = workers[0]!
    await victim.kill("SIGKILL")
    const openAtKill = await openJobs(engine)
    workers.push(await startWorker(store, records, settings))
    await awaitDrained(engine, 120)
    await Promise.all(workers.map((w) => w.kill("SIGTERM")))
    const deaths = new Map(workers.map((w) => [w.pid, w.diedAt() ?? Date.now()]))
    const figures = figuresOf(readExecutions(records, deaths), ids)
    const { doubleSucceeded, statuses } = await outcomes(engine, ids)
    const busy = workers.reduce((n, w) => n + (w.output().match(/SQLITE_BUSY|database is locked/g)?.length ?? 0), 0)
    console.log(
      `[chaos] SQLite kill and restart: ${JSON.stringify({ openAtKill, ...figures, statuses, doubleSucceeded, busy })}`
    )
    expect(openAtKill, "the kill came mid-drain").toBeGreaterThan(0)
    expect(statuses, "every job SUCCEEDED (0 lost)").toEqual({ SUCCEEDED: 1_000 })
    expect(doubleSucceeded).toBe(0)
    expect(figures.overlaps).toBe(0)
    expect(busy, "no SQLITE_BUSY in any process").toBe(0)
  })
})
