// The one test on a real socket (loopback only): a 413 must not leave the unread body to be parsed as the next request.
import { describe, expect, it } from "@effect/vitest"
import { serve } from "@hono/node-server"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { JobsApi } from "../src/index.js"
import { engineLayer } from "./support.js"

interface Reply {
  readonly status: number
  readonly body: string
  readonly connection: string | undefined
}

const send = (agent: http.Agent, port: number, method: string, path: string, body?: string) =>
  new Promise<Reply>((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers:
          body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      },
      (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: text, connection: response.headers.connection })
        )
      }
    )
    request.setTimeout(5000, () => request.destroy(new Error("timed out")))
    // a server that answers before reading everything may reset the socket while the body is still being written
    request.on("error", reject)
    if (body !== undefined) request.write(body)
    request.end()
  })

describe("a body over the limit on a kept-alive connection", () => {
  it("is answered 413 with Connection: close, and the client's next request works", async () => {
    const runtime = ManagedRuntime.make(engineLayer())
    const app = JobsApi.make({ runtime, bodyLimit: 1024 })
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" })
    await new Promise<void>((resolve) => server.once("listening", () => resolve()))
    const port = (server.address() as AddressInfo).port
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const big = JSON.stringify({ type: "delay", name: "x".repeat(200 * 1024) })
      const refused = await send(agent, port, "POST", "/jobs", big)
      expect(refused.status).toBe(413)
      expect(refused.connection).toBe("close")
      expect(JSON.parse(refused.body)).toMatchObject({ status: 413 })
      const next = await send(agent, port, "POST", "/jobs", JSON.stringify({ type: "delay", params: { seconds: 1 } }))
      expect(next.status).toBe(201)
      expect(JSON.parse(next.body)).toMatchObject({ type: "delay", status: "CREATED" })
    } finally {
      agent.destroy()
      await new Promise((resolve) => server.close(resolve))
      await runtime.dispose()
    }
  })
})
