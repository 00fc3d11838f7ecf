// The chaos suite on PostgreSQL: workers SIGKILLed in a storm (the machine's database, a schema of our own), the
// database restarted mid-drain and a worker cut off from it for longer than its lease (a private cluster each: the
// machine's main cluster is never restarted or reconfigured).
import { Jobs } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Fs from "node:fs"
import * as Pg from "pg"
import {
  awaitDrained,
  engineOver,
  enqueue,
  figuresOf,
  openJobs,
  outcomes,
  privateCluster,
  readExecutions,
  startWorker,
  tempDir,
  type PrivateCluster,
  type StoreEnv,
  type WorkerProcess
} from "../src/harness.js"

const mainUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const schemaName = (label: string) => `jobloom_chaos_${label}_${Math.random().toString(36).slice(2, 8)}`

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const dropSchema = (url: string, schema: string) => async () => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${Pg.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
}

const report = (name: string, figures: object) => console.log(`[chaos] ${name}: ${JSON.stringify(figures)}`)

describe("chaos: PostgreSQL", () => {
  it("SIGKILL storm: 3 workers x 10 slots, one killed every 1.5 s and replaced; 2,000 jobs, none lost, none run twice at once", async () => {
    const schema = schemaName("storm")
    const store: StoreEnv = { store: "pg", url: mainUrl, schema }
    const records = tempDir("storm")
    cleanups.push(dropSchema(mainUrl, schema), () => Fs.rmSync(records, { recursive: true, force: true }))
    const engine = engineOver(PgJobStore.layer({ url: mainUrl, schema }))
    cleanups.push(() => engine.dispose())
    const settings = { concurrency: 10, leaseMs: 5_000, heartbeatMs: 1_000, rescueMs: 1_000 }
    const alive: Array<WorkerProcess> = []
    const all: Array<WorkerProcess> = []
    const spawnOne = async () => {
      const worker = await startWorker(store, records, settings)
      alive.push(worker)
      all.push(worker)
    }
    cleanups.push(async () => {
      await Promise.all(all.map((w) => w.kill("SIGKILL")))
    })
    await Promise.all([spawnOne(), spawnOne(), spawnOne()])
    const ids = await enqueue(engine, 2_000, 200)
    let kills = 0
    let waits = 0
    const started = Date.now()
    const starting: Array<Promise<void>> = []
    while ((await openJobs(engine)) > 0) {
      if (Date.now() - started > 150_000) throw new Error("the storm did not drain in 150 s")
      await sleep(1_500)
      // a kill only while the whole fleet is up: on a machine so busy that a replacement takes longer than 1.5 s to
      // start, the tick waits for it rather than killing the fleet down to nothing
      if (alive.length < 3) {
        waits++
        continue
      }
      const victim = alive.splice(Math.floor(Math.random() * alive.length), 1)[0]!
      await victim.kill("SIGKILL")
      kills++
      // replaced at once; a replacement takes a while to start, during which the others carry on
      if (alive.length + starting.length < 3) starting.push(spawnOne().finally(() => starting.splice(0, 1)))
    }
    const drainedMs = Date.now() - started
    await Promise.all(starting)
    await Promise.all(alive.map((w) => w.kill("SIGTERM")))
    const deaths = new Map(all.map((w) => [w.pid, w.diedAt() ?? Date.now()]))
    const figures = figuresOf(readExecutions(records, deaths), ids)
    const { doubleSucceeded, statuses } = await outcomes(engine, ids)
    report("SIGKILL storm", { kills, waits, drainedMs, ...figures, statuses, doubleSucceeded })
    expect(statuses, "every job SUCCEEDED (0 lost)").toEqual({ SUCCEEDED: 2_000 })
    expect(doubleSucceeded, "no job SUCCEEDED twice").toBe(0)
    expect(figures.overlaps, "no two executions of one job at once").toBe(0)
    expect(kills).toBeGreaterThan(0)
  })

  describe("on a private cluster", () => {
    let cluster: PrivateCluster
    beforeAll(async () => {
      cluster = await privateCluster()
      cleanups.push(() => cluster.destroy())
    })

    it("PostgreSQL restarted mid-drain: workers survive without restart, the drain finishes, none lost", async () => {
      const schema = schemaName("restart")
      const url = cluster.url()
      const store: StoreEnv = { store: "pg", url, schema }
      const records = tempDir("restart")
      cleanups.push(() => Fs.rmSync(records, { recursive: true, force: true }))
      const engine = engineOver(PgJobStore.layer({ url, schema }))
      const settings = { concurrency: 10, leaseMs: 5_000, heartbeatMs: 1_000, rescueMs: 1_000 }
      const workers = await Promise.all([0, 1, 2].map(() => startWorker(store, records, settings)))
      cleanups.push(async () => {
        await Promise.all(workers.map((w) => w.kill("SIGKILL")))
      })
      const ids = await enqueue(engine, 1_500, 100)
      while ((await openJobs(engine)) > 1_000) await sleep(100)
      const restartAt = Date.now()
      cluster.restart()
      const restartMs = Date.now() - restartAt
      await awaitDrained(engine, 120)
      const survivors = workers.filter((w) => w.diedAt() === undefined).length
      await Promise.all(workers.map((w) => w.kill("SIGTERM")))
      const deaths = new Map(workers.map((w) => [w.pid, w.diedAt() ?? Date.now()]))
      const figures = figuresOf(readExecutions(records, deaths), ids)
      const { doubleSucceeded, statuses } = await outcomes(engine, ids)
      await engine.dispose()
      report("PostgreSQL restart", { restartMs, survivors, ...figures, statuses, doubleSucceeded })
      expect(survivors, "every worker process survived the restart").toBe(3)
      expect(statuses, "every job SUCCEEDED (0 lost)").toEqual({ SUCCEEDED: 1_500 })
      expect(figures.overlaps).toBe(0)
    })

    it("a worker cut off from PostgreSQL for longer than its lease never runs a job beside its rescuer", async () => {
      const schema = schemaName("cut")
      cluster.psql(`CREATE ROLE chaos_cut LOGIN SUPERUSER`)
      const store: StoreEnv = { store: "pg", url: cluster.url(), schema }
      const cutStore: StoreEnv = { store: "pg", url: cluster.url("chaos_cut"), schema }
      const records = tempDir("cut")
      cleanups.push(() => Fs.rmSync(records, { recursive: true, force: true }))
      const engine = engineOver(PgJobStore.layer({ url: cluster.url(), schema }))
      const settings = { concurrency: 10, leaseMs: 3_000, heartbeatMs: 1_000, rescueMs: 500 }
      const cut = await startWorker(cutStore, records, settings)
      const workers = [cut]
      cleanups.push(async () => {
        await Promise.all(workers.map((w) => w.kill("SIGKILL")))
      })
      // ten long jobs, all taken by the worker about to be cut off
      const long = await engine.runPromise(
        Effect.flatMap(Jobs.Jobs, (jobs) =>
          jobs.createMany(
            Array.from({ length: 10 }, () => ({ type: "chaos", params: { ms: 12_000 } })),
            { startNow: true }
          )
        )
      )
      const longIds = long.jobs.map((job) => job.id)
      for (let i = 0; i < 400 && readExecutions(records, new Map()).length < 10; i++) await sleep(50)
      workers.push(await startWorker(store, records, settings), await startWorker(store, records, settings))
      const cutAt = Date.now()
      cluster.psql(`ALTER ROLE chaos_cut NOLOGIN`)
      cluster.psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'chaos_cut'`)
      await sleep(9_000)
      cluster.psql(`ALTER ROLE chaos_cut LOGIN`)
      await awaitDrained(engine, 60)
      const cutMs = Date.now() - cutAt
      await Promise.all(workers.map((w) => w.kill("SIGTERM")))
      const deaths = new Map(workers.map((w) => [w.pid, w.diedAt() ?? Date.now()]))
      const executions = readExecutions(records, deaths)
      const all = executions.map((e) => e.jobId).filter((id, i, list) => list.indexOf(id) === i)
      const figures = figuresOf(executions, all)
      const { doubleSucceeded, statuses } = await outcomes(engine, all)
      await engine.dispose()
      const stoppedOnCutWorker = executions.filter((e) => e.pid === cut.pid && e.how === "stopped").length
      report("cut-off worker", { cutMs, stoppedOnCutWorker, ...figures, statuses, doubleSucceeded })
      if (stoppedOnCutWorker === 0) {
        console.log(cut.output())
        console.log(executions.map((e) => `${e.jobId.slice(-6)} ${e.pid} ${e.start - cutAt} ${e.end - cutAt} ${e.how}`))
      }
      expect(figures.overlaps, "no two executions of one job at once").toBe(0)
      expect(stoppedOnCutWorker, "the cut-off worker stopped the attempts it could not renew").toBeGreaterThan(0)
      expect(statuses.SUCCEEDED, "every job SUCCEEDED").toBe(all.length)
      expect(longIds.every((id) => all.includes(id))).toBe(true)
    })
  })
})
