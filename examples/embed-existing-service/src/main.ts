/**
 * Runs the order service on `PORT` (default 3000) with its data in `DATA_DIR` (default `./data`), until SIGINT or
 * SIGTERM.
 */
import * as Fs from "node:fs"
import * as Shop from "./shop.js"

const dataDir = process.env.DATA_DIR ?? "./data"
Fs.mkdirSync(dataDir, { recursive: true })
const shop = await Shop.start({ dataDir, port: Number(process.env.PORT ?? 3000) })
console.log(`shop listening on http://localhost:${shop.port} (orders at /orders, jobs at /admin/jobs/jobs)`)

const shutdown = () => {
  shop.close().then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}
process.once("SIGINT", shutdown)
process.once("SIGTERM", shutdown)
