/**
 * A by-hand check, never part of `pnpm test` (it restarts the shared PostgreSQL server): three worker processes drain
 * a backlog while the server restarts mid-run; the run must still complete with nothing lost.
 *
 *   node --import tsx packages/store-postgres/test/manual/restart.ts [jobs] [restart command]
 *
 * The default restart command is `pg_ctlcluster --skip-systemctl-redirect 15 main restart`.
 */
import { execSync } from "node:child_process"
import { Jobs, JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as PgJobStore from "../../src/PgJobStore.js"
import { Limited, Probe, setupStatements } from "../fixtures/types.js"
import { startWorker } from "../processes.js"
import { adminQuery, databaseUrl, freshSchema } from "../utils.js"

const total = Number(process.argv[2] ?? 3000)
const restartCommand = process.argv[3] ?? "pg_ctlcluster --skip-systemctl-redirect 15 main restart"

// every statement of this script may meet the server down: retry until it is back
const retrying = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, Schedule.spaced("250 millis").pipe(Schedule.intersect(Schedule.recurs(240))))

const main = Effect.gen(function* () {
  const schema = yield* freshSchema
  const context = yield* Layer.build(
    Jobs.layer({ types: [Probe, Limited] }).pipe(
      Layer.provideMerge(PgJobStore.layer({ url: databaseUrl, schema, applicationName: "jobloom-restart-parent" }))
    )
  )
  const jobs = Context.get(context, Jobs.Jobs)
  const store = Context.get(context, JobStore.JobStore)
  for (const statement of setupStatements(schema)) yield* adminQuery(statement)
  const workers = yield* Effect.all(
    [0, 1, 2].map((i) =>
      startWorker({
        schema,
        workerId: `w${i}`,
        appName: `jr-${schema}-w${i}`,
        leaseMs: 5_000,
        heartbeatMs: 1_000,
        rescueMs: 1_000
      })
    ),
    { concurrency: "unbounded" }
  )
  for (let i = 0; i < total; i += 500) {
    yield* jobs.createMany(
      Array.from({ length: Math.min(500, total - i) }, (_, k) =>
        (i + k) % 20 === 0 ? { type: "limited", params: { sleepMs: 5 } } : { type: "probe", params: { sleepMs: 5 } }
      ),
      { startNow: true }
    )
  }
  const runs = () =>
    retrying(adminQuery(`SELECT count(*)::int AS n FROM "${schema}".runs`)).pipe(
      Effect.map((rows) => rows[0]!.n as number)
    )
  while ((yield* runs()) < total / 5) yield* Effect.sleep("50 millis")
  const before = yield* runs()
  const startedAt = Date.now()
  console.log(`restarting PostgreSQL after ${before} completions: ${restartCommand}`)
  execSync(restartCommand, { stdio: "inherit" })
  const restartedAt = Date.now()
  console.log(`restart command returned after ${restartedAt - startedAt} ms`)

  let resumedAt: number | null = null
  while (true) {
    const stats = yield* retrying(store.stats({ filter: {} }))
    const count = (status: string) => stats.filter((s) => s.status === status).reduce((n, s) => n + s.count, 0)
    if (resumedAt === null && (yield* runs()) > before) resumedAt = Date.now()
    if (count("SUCCEEDED") === total) break
    if (count("FAILED") + count("CANCELLED") + count("TIMED_OUT") > 0) {
      console.log("jobs ended unsuccessfully", stats)
      break
    }
    yield* Effect.sleep("200 millis")
  }
  const finishedAt = Date.now()
  const summary = yield* adminQuery(
    `SELECT
       (SELECT count(*)::int FROM "${schema}".jobloom_jobs) AS jobs,
       (SELECT count(*)::int FROM "${schema}".jobloom_jobs WHERE status = 'SUCCEEDED') AS succeeded,
       (SELECT count(*)::int FROM "${schema}".jobloom_jobs WHERE status = 'RUNNING') AS running,
       (SELECT count(*)::int FROM "${schema}".runs) AS completed,
       (SELECT count(*)::int FROM "${schema}".runs WHERE completions > 1) AS completed_more_than_once,
       (SELECT count(*)::int FROM "${schema}".jobloom_jobs WHERE attempt > 1) AS retried,
       (SELECT max(peak) FROM "${schema}".gauge) AS limited_peak`
  )
  console.log(JSON.stringify({ total, ...summary[0] }, null, 2))
  console.log(
    `first completion after the restart: ${resumedAt === null ? "none" : `${resumedAt - restartedAt} ms`}; ` +
      `all done ${finishedAt - restartedAt} ms after the restart`
  )
  for (const worker of workers) {
    if (process.env.RAW) console.log(worker.output().slice(0, 3000))
    const lines = worker
      .output()
      .split("\n")
      // the pretty logger of NodeRuntime.runMain: "[time] LEVEL (#fiber): message", in colour
      // eslint-disable-next-line no-control-regex
      .map((line) => line.replace(/\x1b\[[0-9;]*m/g, ""))
      .filter((line) => /\b(WARN|INFO|ERROR)\b/.test(line))
      .map((line) => line.replace(/^\[[^\]]*\] /, "").slice(0, 160))
    console.log(
      `${worker.workerId}: ${lines.length} log lines, e.g.\n  ${Array.from(new Set(lines)).slice(0, 6).join("\n  ")}`
    )
  }
  yield* Effect.forEach(workers, (w) => w.kill("SIGTERM"))
}).pipe(Effect.scoped)

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
