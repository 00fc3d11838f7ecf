/**
 * The server of the remote-worker bench: the jobs API and the worker routes (`/api/workers/…`) over a SQLite file,
 * with one job type, `noop`, registered without a handler and no in-process worker: only remote workers run jobs.
 * Prints `listening <port>` when ready; exits on SIGTERM.
 */
import { serve } from "@hono/node-server"
import { Jobs, JobType, RemoteWorker } from "@jobloom/core"
import { JobsApi, WorkersApi } from "@jobloom/http"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import type { Server } from "node:http"

const args = process.argv.slice(2)
const file = args[args.indexOf("--file") + 1] ?? ":memory:"

/** A job that does nothing: the bench measures the HTTP path and the store, not work. */
const Noop = JobType.make({ key: "noop", retry: { maxAttempts: 1 } })

const runtime = ManagedRuntime.make(
  RemoteWorker.layer().pipe(
    Layer.provideMerge(Jobs.layer({ types: [Noop] })),
    Layer.provideMerge(SqliteJobStore.layer({ filename: file }))
  )
)
const app = new Hono()
app.route("/api", WorkersApi.make({ runtime }))
app.route("/api", JobsApi.make({ runtime, dashboard: false }))

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`listening ${info.port}\n`)
}) as Server

process.on("SIGTERM", () => {
  server.close()
  void runtime.dispose().then(() => process.exit(0))
})
