/**
 * A chaos worker process, configured by environment variables: runs `chaos` jobs (sleep `ms`) against PostgreSQL or a
 * SQLite file and records every execution in `<CHAOS_RECORDS>/<pid>.log` (`S jobId attempt pid start`, then
 * `E jobId attempt pid end how`), appended synchronously so a SIGKILL loses at most the end line of what it cut.
 * Prints `ready` once its worker runs; SIGTERM shuts it down gracefully.
 */
import { Jobs, JobType, Worker } from "@jobloom/core"
import type { JobStore } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Chaos } from "./types.js"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`${name} is required`)
  return value
}
const number = (name: string, fallback: number) => Number(env(name, String(fallback)))

const records = Path.join(env("CHAOS_RECORDS"), `${process.pid}.log`)
const record = (line: string) => Fs.appendFileSync(records, `${line}\n`)

const handler = JobType.toLayer(Chaos, ({ ms }, context) => {
  const { attempt, id } = context.job
  return Effect.sync(() => record(`S ${id} ${attempt} ${process.pid} ${Date.now()}`)).pipe(
    Effect.zipRight(Effect.sleep(ms)),
    Effect.onExit((exit) =>
      Effect.sync(() =>
        record(`E ${id} ${attempt} ${process.pid} ${Date.now()} ${Exit.isSuccess(exit) ? "ok" : "stopped"}`)
      )
    )
  )
})

const store: Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =
  env("CHAOS_STORE") === "pg"
    ? PgJobStore.layer({
        url: env("CHAOS_URL"),
        schema: env("CHAOS_SCHEMA"),
        maxConnections: 4,
        applicationName: "jobloom-chaos"
      })
    : SqliteJobStore.layer({ filename: env("CHAOS_FILE") })

const live = Worker.layer({
  concurrency: number("CHAOS_CONCURRENCY", 10),
  leaseDuration: number("CHAOS_LEASE_MS", 5_000),
  heartbeatInterval: number("CHAOS_HEARTBEAT_MS", 1_000),
  rescueInterval: number("CHAOS_RESCUE_MS", 1_000),
  pollInterval: number("CHAOS_POLL_MS", 200),
  gracePeriod: 2_000
}).pipe(
  Layer.provideMerge(handler),
  Layer.provideMerge(Jobs.layer({ types: [Chaos] })),
  Layer.provideMerge(store),
  Layer.tap(() => Effect.sync(() => process.stdout.write("ready\n")))
)

const fiber = Effect.runFork(Layer.launch(live))
const stop = () => Effect.runFork(Fiber.interrupt(fiber))
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
fiber.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
    process.stderr.write(`worker failed: ${String(exit.cause)}\n`)
    process.exit(1)
  }
  process.exit(0)
})
