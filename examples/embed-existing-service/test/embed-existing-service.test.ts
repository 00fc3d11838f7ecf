import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { request, start, stop, waitFor, type Running } from "../../quickstart/test/ServerProcess.js"

describe("embed-existing-service example", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-shop-"))
  let shop: Running
  let base: string

  beforeAll(async () => {
    shop = start("examples/embed-existing-service/src/main.ts", { PORT: "0", DATA_DIR: dir })
    base = (await waitFor(shop, /shop listening on (http:\/\/\S+) /))[1]!
  })
  afterAll(async () => {
    await stop(shop, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  /** Polls the order until its receipt job is terminal. */
  const settled = async (id: number) => {
    for (;;) {
      const order = await request(`${base}/orders/${id}`)
      if (["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(order.receiptStatus)) return order
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it("keeps its own routes and database working", async () => {
    expect(await request(`${base}/health`)).toEqual({ ok: true })
    expect(await request(`${base}/orders`, { method: "POST", body: { customer: "Ada" } }, [400])).toEqual({
      error: "customer, email and total are required"
    })
  })

  it("sends an order's receipt in a background job and shows its status on the order", async () => {
    const order = await request(`${base}/orders`, {
      method: "POST",
      body: { customer: "Ada", email: "ada@example.com", total: 42.5 }
    })
    expect(order.receiptJobId).toEqual(expect.any(String))
    expect(order.receiptSentAt).toBeNull()
    const done = await settled(order.id)
    expect(done.receiptStatus).toBe("SUCCEEDED")
    expect(done.receiptSentAt).toEqual(expect.any(String))
  })

  it("exposes the jobs API under /admin/jobs, with the receipt's stages and result", async () => {
    const order = await request(`${base}/orders`, {
      method: "POST",
      body: { customer: "Grace", email: "grace@example.com", total: 7 }
    })
    await settled(order.id)
    const job = await request(`${base}/admin/jobs/jobs/${order.receiptJobId}`)
    expect(job.type).toBe("send_receipt")
    expect(job.metadata).toEqual({ orderId: order.id })
    expect(job.progress.stages.map((s: { key: string; status: string }) => [s.key, s.status])).toEqual([
      ["render", "SUCCEEDED"],
      ["send", "SUCCEEDED"]
    ])
    const result = await request(`${base}/admin/jobs/jobs/${order.receiptJobId}/result`)
    expect(result.value).toEqual({ to: "grace@example.com" })
  })

  it("shuts down with exit code 0 on SIGTERM", async () => {
    expect(await stop(shop, "SIGTERM")).toBe(0)
  })
})
