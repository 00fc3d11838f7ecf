import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Jobs, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Url from "node:url"
import { SqliteJobStore } from "../src/index.js"
import { crashType } from "./fixtures/crashType.js"
import { makeRow } from "./support.js"

const here = Path.dirname(Url.fileURLToPath(import.meta.url))
const root = Path.resolve(here, "../../..")
const workerScript = Path.join(here, "fixtures", "crash-worker.ts")
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-crash-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const total = 500

/** A worker process on the file, killed (if still running) when the scope closes. */
const startWorker = (filename: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      // node itself with tsx's loader: the `tsx` command runs the script in a child process of its own, which a
      // SIGKILL of the command would leave running
      const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", workerScript, filename], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk) => (output += String(chunk)))
      child.stderr.on("data", (chunk) => (output += String(chunk)))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      return { child, exited, output: () => output }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const count = (query: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql.unsafe<{ n: number }>(query), (rows) => Number(rows[0]?.n ?? 0))
  )

describe("crash", () => {
  it.live(
    "a worker process killed with SIGKILL mid-run loses no job: a new process on the file finishes them all",
    () => {
      const filename = Path.join(dir, "crash.db")
      const host = SqliteClient.layer({ filename })
      return Effect.gen(function* () {
        // 500 jobs queued in the file, and the host's side-effect table beside jobloom's
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE crash_effects (job_id TEXT NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL)`
          const jobs = yield* Jobs.Jobs
          yield* jobs.createMany(
            Array.from({ length: total }, (_, n) => ({ type: crashType.key, params: { n } })),
            { startNow: true }
          )
        }).pipe(
          Effect.provide(
            Jobs.layer({ types: [crashType] }).pipe(
              Layer.provideMerge(SqliteJobStore.layer({ filename })),
              Layer.provideMerge(host)
            )
          )
        )

        // the first worker is killed once it has done some of the work
        const first = yield* startWorker(filename)
        yield* count("SELECT count(*) AS n FROM crash_effects").pipe(
          Effect.delay("10 millis"),
          Effect.repeat({ until: (n) => n >= 100 || first.child.exitCode !== null }),
          Effect.provide(host)
        )
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => first.exited)
        const [succeededAtKill, runningAtKill] = yield* Effect.all([
          count("SELECT count(*) AS n FROM jobloom_jobs WHERE status = 'SUCCEEDED'"),
          count("SELECT count(*) AS n FROM jobloom_jobs WHERE status = 'RUNNING'")
        ]).pipe(Effect.provide(host))
        // the kill landed mid-run: work done, work in flight, work left
        expect(succeededAtKill, first.output()).toBeGreaterThan(0)
        expect(succeededAtKill).toBeLessThan(total)
        expect(runningAtKill).toBeGreaterThan(0)
        const inFlight = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ id: string }>`SELECT id FROM jobloom_jobs WHERE status = 'RUNNING'`
        ).pipe(Effect.provide(host))

        // a new process on the same file rescues the dead worker's jobs and finishes everything
        const second = yield* startWorker(filename)
        const code = yield* Effect.promise(() => second.exited).pipe(
          Effect.timeoutFail({ duration: "90 seconds", onTimeout: () => new Error(second.output()) })
        )
        expect(code, second.output()).toBe(0)

        const { effects, jobs } = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const jobs = yield* sql<{ id: string; status: string; attempt: number }>`
            SELECT id, status, attempt FROM jobloom_jobs`
          const effects = yield* sql<{ job_id: string; runs: number; attempts: number }>`
            SELECT job_id, count(*) AS runs, count(DISTINCT attempt) AS attempts FROM crash_effects GROUP BY job_id`
          return { jobs, effects: new Map(effects.map((row) => [row.job_id, row])) }
        }).pipe(Effect.provide(host))

        expect(jobs).toHaveLength(total)
        expect(jobs.filter((job) => job.status !== "SUCCEEDED")).toEqual([])
        for (const job of jobs) {
          const effect = effects.get(job.id)
          // done at least once; at most once per attempt, and every attempt but the last was interrupted
          expect(effect?.runs ?? 0, job.id).toBeGreaterThanOrEqual(1)
          expect(effect!.runs, job.id).toBeLessThanOrEqual(job.attempt)
          expect(effect!.attempts, job.id).toBe(effect!.runs)
        }
        // the jobs in flight at the kill were rescued and ran again, in the second process
        const attempts = new Map(jobs.map((job) => [job.id, job.attempt]))
        for (const { id } of inFlight) expect(attempts.get(id), id).toBeGreaterThanOrEqual(2)
      }).pipe(Effect.scoped)
    },
    120_000
  )
})

describe("claims across processes", () => {
  it.live(
    "four processes claiming from one file at once never take the same job",
    () => {
      const filename = Path.join(dir, "race.db")
      return Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const now = Date.now()
        const ids = Array.from({ length: 1000 }, (_, i) => `race-${String(i).padStart(4, "0")}`)
        yield* store.insert({ jobs: ids.map((id) => makeRow({ id, type: "race", queue: "race", runAt: now })) })
        const children = ["a", "b", "c", "d"].map((workerId, i) => {
          const child = ChildProcess.spawn(
            process.execPath,
            ["--import", "tsx", Path.join(here, "fixtures", "claim-race.ts"), filename, workerId, String(i % 2)],
            { cwd: root, stdio: ["pipe", "pipe", "pipe"] }
          )
          let out = ""
          child.stdout.on("data", (chunk) => (out += String(chunk)))
          child.stderr.on("data", (chunk) => (out += String(chunk)))
          const exited = new Promise<string>((resolve, reject) =>
            child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(out))))
          )
          return { child, exited, output: () => out }
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => children.forEach(({ child }) => child.kill("SIGKILL"))))
        // all open, then all start at once
        yield* Effect.sync(() => children.every(({ output }) => output().includes("ready"))).pipe(
          Effect.delay("20 millis"),
          Effect.repeat({ until: (ready) => ready }),
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("claimers never got ready") })
        )
        for (const { child } of children) child.stdin.end("go\n")
        const outputs = yield* Effect.forEach(children, ({ exited }) => Effect.promise(() => exited))
        const claimed = outputs.map((out) => JSON.parse(out.trim().split("\n").pop()!) as Array<string>)
        const all = claimed.flat()
        expect(new Set(all).size).toBe(all.length)
        expect(all.sort()).toEqual(ids)
        // every process got a share, so the claims really raced
        for (const mine of claimed) expect(mine.length).toBeGreaterThan(0)
      }).pipe(Effect.scoped, Effect.provide(SqliteJobStore.layer({ filename })))
    },
    120_000
  )
})
