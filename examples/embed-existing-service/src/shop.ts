/**
 * An order service that existed before jobloom: plain `node:http` routes over its own SQLite database. The lines
 * marked `jobloom:` are all it took to add background jobs: sending an order's receipt now happens in a job, with
 * retries, progress and logs, and operators get the jobs API under `/admin/jobs`.
 *
 * No Effect code here: jobloom is used through its Promise facade (`Jobloom.make`), and the job type's params are a
 * declared Schema (a description of the shape, used to validate input).
 */
import { getRequestListener } from "@hono/node-server"
import { Jobloom, JobType } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import Database from "better-sqlite3"
import * as Schema from "effect/Schema"
import { Hono } from "hono"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

/** An order as the service stores it. */
export interface Order {
  readonly id: number
  readonly customer: string
  readonly email: string
  readonly total: number
  readonly receiptJobId: string | null
  readonly receiptSentAt: string | null
}

// jobloom: the job type, declared once
/** Sends the receipt of one order. */
export const SendReceipt = JobType.make({
  key: "send_receipt",
  name: "Send receipt",
  params: Schema.Struct({ orderId: Schema.Int }),
  result: Schema.Struct({ to: Schema.String }),
  stages: [
    { key: "render", name: "Render" },
    { key: "send", name: "Send", params: [{ key: "to", name: "To" }] }
  ],
  retry: { maxAttempts: 5 }
})

/** Options of {@link start}. */
export interface ShopOptions {
  /** Where both databases live: the service's `shop.db` and jobloom's `jobs.db`. */
  readonly dataDir: string
  /** 0 picks a free port. */
  readonly port: number
  /** How long sending one e-mail takes. Default 300 ms. */
  readonly mailLatencyMs?: number
}

/** Starts the service; resolves once it listens. */
export const start = async (options: ShopOptions) => {
  // the service's own database, untouched by jobloom
  const db = new Database(Path.join(options.dataDir, "shop.db"))
  db.pragma("journal_mode = WAL")
  db.exec(`
    CREATE TABLE IF NOT EXISTS orders (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      customer TEXT NOT NULL,
      email TEXT NOT NULL,
      total REAL NOT NULL,
      receipt_job_id TEXT,
      receipt_sent_at TEXT
    );
    CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT, body TEXT);
  `)
  const getOrder = (id: number): Order | undefined =>
    db
      .prepare(
        `SELECT id, customer, email, total, receipt_job_id AS receiptJobId, receipt_sent_at AS receiptSentAt
         FROM orders WHERE id = ?`
      )
      .get(id) as Order | undefined

  // jobloom: start it (its own SQLite file, a worker in this process) with the receipt handler
  const jobloom = await Jobloom.make({
    store: SqliteJobStore.layer({ filename: Path.join(options.dataDir, "jobs.db") }),
    handlers: [
      Jobloom.handler(SendReceipt, async ({ orderId }, job) => {
        const order = getOrder(orderId)
        if (order === undefined) throw new JobType.JobFailure({ message: `no order ${orderId}`, retryable: false })
        job.stage("render").start()
        const body = `Dear ${order.customer}, thank you for your order #${order.id} of ${order.total.toFixed(2)}.`
        job.stage("render").complete()
        job.stage("send").start()
        job.stage("send").param("to", order.email)
        // the signal aborts the wait when the job is cancelled or the service shuts down
        await sleep(options.mailLatencyMs ?? 300, undefined, { signal: job.signal })
        db.prepare("INSERT INTO outbox (recipient, body) VALUES (?, ?)").run(order.email, body)
        db.prepare("UPDATE orders SET receipt_sent_at = ? WHERE id = ?").run(new Date().toISOString(), orderId)
        job.stage("send").complete()
        job.log.info(`receipt of order #${order.id} sent to ${order.email}`)
        return { to: order.email }
      })
    ]
  })
  // jobloom: the jobs API for operators, as a plain Node request listener
  const jobsAdmin = getRequestListener(
    new Hono().route("/admin/jobs", JobsApi.make({ runtime: jobloom.runtime })).fetch
  )

  const send = (res: Http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
  }
  const readJson = async (req: Http.IncomingMessage): Promise<any> => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")
  }

  const server = Http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost")
      if (url.pathname.startsWith("/admin/jobs")) return await jobsAdmin(req, res) // jobloom: mounted
      const orderPath = url.pathname.match(/^\/orders\/(\d+)$/)
      if (req.method === "GET" && url.pathname === "/health") return send(res, 200, { ok: true })
      if (req.method === "GET" && url.pathname === "/orders") {
        return send(res, 200, db.prepare("SELECT * FROM orders ORDER BY id").all())
      }
      if (req.method === "POST" && url.pathname === "/orders") {
        const input = await readJson(req)
        if (typeof input.customer !== "string" || typeof input.email !== "string" || typeof input.total !== "number") {
          return send(res, 400, { error: "customer, email and total are required" })
        }
        const { lastInsertRowid } = db
          .prepare("INSERT INTO orders (customer, email, total) VALUES (?, ?, ?)")
          .run(input.customer, input.email, input.total)
        const id = Number(lastInsertRowid)
        // jobloom: the receipt is sent in the background, retried if the mail server is down
        const job = await jobloom.enqueue({ type: "send_receipt", params: { orderId: id }, metadata: { orderId: id } })
        db.prepare("UPDATE orders SET receipt_job_id = ? WHERE id = ?").run(job.id, id)
        return send(res, 201, getOrder(id))
      }
      if (req.method === "GET" && orderPath !== null) {
        const order = getOrder(Number(orderPath[1]))
        if (order === undefined) return send(res, 404, { error: "no such order" })
        // jobloom: show the receipt job's status beside the order
        const receipt = order.receiptJobId === null ? null : await jobloom.get(order.receiptJobId)
        return send(res, 200, { ...order, receiptStatus: receipt?.status ?? null })
      }
      return send(res, 404, { error: "not found" })
    } catch (error) {
      return send(res, 500, { error: String(error) })
    }
  })
  await new Promise<void>((resolve) => server.listen(options.port, resolve))

  return {
    port: (server.address() as AddressInfo).port,
    /** Stops accepting requests, then shuts jobloom down gracefully, then closes the service's database. */
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await jobloom.close() // jobloom: running jobs finish or are released for the next start
      db.close()
    }
  }
}
