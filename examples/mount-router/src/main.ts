/**
 * Starts the app with jobloom over SQLite (`JOBLOOM_DB`, default `./data/mount-router.db`) on `PORT` (default 3000).
 * SIGINT/SIGTERM close the HTTP server, then jobloom (running jobs finish or are released).
 */
import { serve } from "@hono/node-server"
import { Jobloom } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { jobsPrefix, makeApp } from "./app.js"

const filename = process.env.JOBLOOM_DB ?? "./data/mount-router.db"
Fs.mkdirSync(Path.dirname(filename), { recursive: true })

const jobloom = await Jobloom.make({ store: SqliteJobStore.layer({ filename }) })
const app = makeApp(jobloom)
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, (info: AddressInfo) => {
  console.log(`listening on http://localhost:${info.port}, jobs API at ${jobsPrefix}`)
})

const shutdown = () => {
  server.close()
  void jobloom.close().then(() => process.exit(0))
}
process.once("SIGINT", shutdown)
process.once("SIGTERM", shutdown)
