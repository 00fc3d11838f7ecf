/**
 * The server of the fair-service bench: the jobs API (`JobsApi.make` on a Hono app, `@hono/node-server`) over a SQLite
 * file (or PostgreSQL with `--pg <url>`), no worker: requests create jobs only. Prints `listening <port>` when ready,
 * and on SIGTERM one `stats {…}` line: the time requests spent inside the server (from Node's `request` event to the
 * response's `finish`) and the longest stall of its event loop, which tell a wait inside request handling from a wait
 * before the request was read at all.
 */
import { serve } from "@hono/node-server"
import { Jobloom } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { PgJobStore } from "@jobloom/store-postgres"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import { Hono } from "hono"
import type { Server } from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { percentile } from "../stats.js"

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i < 0 ? undefined : args[i + 1]
}
const file = flag("--file")
const pgUrl = flag("--pg")
const schema = flag("--schema") ?? "jobloom_bench_http"

const store =
  pgUrl === undefined
    ? SqliteJobStore.layer({ filename: file ?? ":memory:" })
    : PgJobStore.layer({ url: pgUrl, schema })
const jobloom = await Jobloom.make({ store, worker: false })
const app = new Hono()
app.route("/api", JobsApi.make({ runtime: jobloom.runtime }))

const lag = monitorEventLoopDelay({ resolution: 10 })
lag.enable()
const inServer: Array<number> = []

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`listening ${info.port}\n`)
}) as Server
server.prependListener("request", (_request, response) => {
  const started = performance.now()
  response.on("finish", () => inServer.push(performance.now() - started))
})

process.on("SIGTERM", () => {
  const stats = {
    inServerP50: percentile(inServer, 50),
    inServerMax: Math.max(...inServer),
    loopStallMax: lag.max / 1e6
  }
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`)
  server.close()
  void jobloom.close().then(() => process.exit(0))
})
