import { assert, describe, expect, it } from "@effect/vitest"
import { JobType, Jobs, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHmac } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { engine, logMessages } from "./WorkerSupport.js"

interface Received {
  readonly path: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  readonly server: Server
}

/** A local receiver on 127.0.0.1:0 that answers each request with the next of `statuses` (then 200). */
const receiver = (statuses: ReadonlyArray<number>) =>
  Effect.acquireRelease(
    Effect.async<Receiver>((resume) => {
      const received: Array<Received> = []
      const server = createServer((request, response) => {
        let body = ""
        request.setEncoding("utf8")
        request.on("data", (chunk: string) => (body += chunk))
        request.on("end", () => {
          const status = statuses[received.length] ?? 200
          received.push({ path: request.url, headers: request.headers, body })
          // a redirect points elsewhere on the same server: a deliverer that followed it would be seen there
          const location: Record<string, string> = status >= 300 && status < 400 ? { location: "/elsewhere" } : {}
          response.writeHead(status, { "content-type": "text/plain", ...location }).end("ok")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/hook`, received, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** Polls (live time) until `check` holds, for at most `seconds`. */
const eventually = (check: () => boolean, seconds = 10) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds * 50; i++) {
      if (check()) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage("condition never held")
  })

const Report = JobType.make({ key: "report", result: Schema.Struct({ rows: Schema.Number }) })
const Doomed = JobType.make({ key: "doomed", retry: { maxAttempts: 1 } })

const handlers = JobType.toLayer(Report, () => Effect.succeed({ rows: 3 }))
const doomedHandler = JobType.toLayer(Doomed, () => Effect.fail(new Error("nope")))

const fast = {
  pollInterval: "20 millis",
  expireInterval: "20 millis",
  flushInterval: "10 millis",
  // the receivers listen on loopback, which the default policy refuses
  callbacks: { secret: "s3cret", retryDelay: "50 millis", timeout: "2 seconds", allowPrivateNetworks: true }
} as const

/** The receiver's URL with its host spelled another way. */
const respelled = (url: string, host: string) => {
  const parsed = new URL(url)
  return `http://${host}:${parsed.port}${parsed.pathname}`
}

/** Waits until the job's log has a line containing `text`; returns the lines. */
const awaitLine = (jobId: string, text: string) =>
  Effect.gen(function* () {
    let lines: ReadonlyArray<string> = []
    for (let i = 0; i < 250 && !lines.some((l) => l.includes(text)); i++) {
      yield* Effect.sleep("20 millis")
      lines = yield* logMessages(jobId)
    }
    return lines
  })

describe("Callbacks", () => {
  it.live("delivers a signed callback once after success", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make(fast)
      const job = yield* jobs.enqueue({ type: "report", callbackUrl: hook.url })
      yield* eventually(() => hook.received.length === 1)
      const done = yield* jobs.get(job.id)
      assert.strictEqual(done.status, "SUCCEEDED")
      const [delivery] = hook.received
      expect(JSON.parse(delivery.body)).toEqual({
        id: job.id,
        status: "SUCCEEDED",
        terminalReason: null,
        resultId: done.resultId,
        finishedAt: done.finishedAt
      })
      assert.strictEqual(delivery.headers["content-type"], "application/json")
      assert.strictEqual(
        delivery.headers["x-jobloom-signature"],
        `sha256=${createHmac("sha256", "s3cret").update(delivery.body).digest("hex")}`
      )
      // delivered: never again, though the deliverer keeps polling
      yield* Effect.sleep("300 millis")
      assert.strictEqual(hook.received.length, 1)
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("retries after the receiver answers 500 twice, then stops", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([500, 500])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make(fast)
      const job = yield* jobs.enqueue({ type: "doomed", callbackUrl: hook.url })
      yield* eventually(() => hook.received.length === 3)
      const bodies = hook.received.map((r) => JSON.parse(r.body))
      expect(bodies.map((b) => [b.id, b.status, b.terminalReason])).toEqual([
        [job.id, "FAILED", "error"],
        [job.id, "FAILED", "error"],
        [job.id, "FAILED", "error"]
      ])
      yield* Effect.sleep("300 millis")
      assert.strictEqual(hook.received.length, 3)
    }).pipe(Effect.scoped, Effect.provide(engine([Doomed], doomedHandler)))
  )

  it.live("gives up after maxAttempts tries with a line in the job's log", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([500, 500, 500, 500, 500])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ ...fast, callbacks: { ...fast.callbacks, maxAttempts: 3 } })
      const job = yield* jobs.enqueue({ type: "report", callbackUrl: hook.url })
      yield* eventually(() => hook.received.length === 3)
      let lines: ReadonlyArray<string> = []
      for (let i = 0; i < 100 && !lines.some((l) => l.includes("given up")); i++) {
        yield* Effect.sleep("20 millis")
        lines = yield* logMessages(job.id)
      }
      expect(lines).toContain(`callback to ${hook.url} given up after 3 tries: HTTP 500`)
      yield* Effect.sleep("300 millis")
      assert.strictEqual(hook.received.length, 3)
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("sends no signature header when no secret is configured", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ ...fast, callbacks: { retryDelay: "50 millis", allowPrivateNetworks: true } })
      yield* jobs.enqueue({ type: "report", callbackUrl: hook.url })
      yield* eventually(() => hook.received.length === 1)
      assert.isUndefined(hook.received[0].headers["x-jobloom-signature"])
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("refuses loopback, private and link-local targets in every spelling, saying only 'refused by policy'", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ ...fast, callbacks: { retryDelay: "50 millis", timeout: "2 seconds" } })
      const hosts = [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::1]",
        "0.0.0.0",
        "169.254.169.254",
        "10.0.0.1",
        "[fd00::1]"
      ]
      const created = []
      for (const host of hosts) {
        const url = respelled(hook.url, host)
        created.push({ url, job: yield* jobs.enqueue({ type: "report", callbackUrl: url }) })
      }
      for (const { job, url } of created) {
        const lines = yield* awaitLine(job.id, "refused by policy")
        const line = lines.find((l) => l.startsWith("callback to"))
        expect(line, url).toBe(`callback to ${url} refused by policy: not delivered`)
      }
      expect(hook.received).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("delivers to a non-public host the host allows by name, by a predicate on the resolved address", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([])
      const jobs = yield* Jobs.Jobs
      const targets: Array<Worker.CallbackTarget> = []
      yield* Worker.make({
        ...fast,
        callbacks: {
          retryDelay: "50 millis",
          allow: (target) => {
            targets.push(target)
            return target.hostname === "localhost" && target.address === "127.0.0.1"
          }
        }
      })
      const url = respelled(hook.url, "localhost")
      yield* jobs.enqueue({ type: "report", callbackUrl: url })
      yield* eventually(() => hook.received.length === 1)
      // the predicate saw the address after resolution, and the connection went there
      expect(targets.some((t) => t.hostname === "localhost" && t.address === "127.0.0.1")).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("delivers to a host on the allow list", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ ...fast, callbacks: { retryDelay: "50 millis", allow: ["127.0.0.1"] } })
      yield* jobs.enqueue({ type: "report", callbackUrl: hook.url })
      yield* eventually(() => hook.received.length === 1)
      assert.strictEqual(hook.received[0]!.headers["x-jobloom-signature"], undefined)
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.live("never follows a redirect", () =>
    Effect.gen(function* () {
      const hook = yield* receiver([307, 307, 307])
      const jobs = yield* Jobs.Jobs
      yield* Worker.make({ ...fast, callbacks: { ...fast.callbacks, maxAttempts: 2 } })
      const job = yield* jobs.enqueue({ type: "report", callbackUrl: hook.url })
      const lines = yield* awaitLine(job.id, "given up")
      expect(lines).toContain(`callback to ${hook.url} given up after 2 tries: HTTP 307`)
      // two tries, each to the hook itself: the Location was never fetched
      expect(hook.received.map((r) => r.path)).toEqual(["/hook", "/hook"])
    }).pipe(Effect.scoped, Effect.provide(engine([Report], handlers)))
  )

  it.effect("refuses a callback URL with credentials at create, naming the field", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const error = yield* Effect.flip(jobs.create({ type: "report", callbackUrl: "https://user:pw@example.com/hook" }))
      expect(error._tag).toBe("InvalidInput")
      expect(JSON.stringify(error)).toContain("callbackUrl")
      expect(JSON.stringify(error)).toContain("must not carry credentials")
    }).pipe(Effect.provide(engine([Report], handlers)))
  )
})
