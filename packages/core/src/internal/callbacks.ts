/**
 * Callback delivery (DESIGN §4.6): pending callbacks are rows the store inserted with the terminal write, so a crash
 * loses none. A deliverer claims them with a lease, POSTs `{ id, status, terminalReason, resultId, finishedAt }`,
 * signs the body with HMAC-SHA256 when a secret is set, and deletes the row on a 2xx answer; otherwise it retries
 * with exponential backoff until `maxAttempts`, then gives up with a log line on the job.
 *
 * Deliveries reach public addresses only unless the host allows more (`AddressPolicy`): the address is checked after
 * DNS resolution, inside the connection's own `lookup`, so the address connected to is the one checked (a name that
 * resolves differently a moment later cannot slip past). Redirects are never followed. A refused delivery is given
 * up at once with a log line that says only that the policy refused it: nothing of what (if anything) listens there.
 */
import { createHmac } from "node:crypto"
import * as Dns from "node:dns"
import * as Http from "node:http"
import * as Https from "node:https"
import { isIP, type LookupFunction } from "node:net"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import { formatTimeOrNull, type LogLevel } from "../Job.js"
import type { CallbackRow, JobStore } from "../JobStore.js"
import * as AddressPolicy from "./addressPolicy.js"

/** Resolved options of callback delivery. */
export interface CallbackOptions {
  readonly secret: string | undefined
  readonly maxAttempts: number
  readonly timeout: Duration.Duration
  /** Delay before the first retry; doubled for each later one, capped at 5 minutes. */
  readonly retryDelay: Duration.Duration
  /** Fallback poll for due callbacks. */
  readonly pollInterval: Duration.Duration
  /** Callbacks claimed per pass, and delivered at once. */
  readonly batchSize: number
  /** Writes a line to the job's log (through the worker's log buffer when a worker runs the delivery). */
  readonly log: (jobId: string, at: number, level: LogLevel, message: string) => Effect.Effect<void>
  /** Which addresses deliveries may reach; public ones only when absent. */
  readonly policy?: AddressPolicy.AddressPolicy
}

/** A delivery the address policy refused; it carries nothing about the target. */
export class Refused {
  readonly _tag = "Refused"
}

/** Marks the lookup error of a refused address, so the request's error can be told from a network failure. */
const refusedCode = "EJOBLOOM_REFUSED"

/**
 * A `lookup` for node's `http.request` that resolves the name and hands the socket only the addresses the policy
 * permits, so the connection goes to an address that was checked.
 */
const checkedLookup =
  (policy: AddressPolicy.AddressPolicy, hostname: string, port: number): LookupFunction =>
  (host, options, callback) => {
    Dns.lookup(host, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, "", 0)
      const permitted = addresses.filter((a) => AddressPolicy.permits(policy, { hostname, address: a.address, port }))
      if (permitted.length === 0) {
        const refused = Object.assign(new Error("refused by policy"), { code: refusedCode })
        return callback(refused, "", 0)
      }
      if ((options as { readonly all?: boolean }).all === true) {
        return (callback as unknown as (e: null, all: ReadonlyArray<Dns.LookupAddress>) => void)(null, permitted)
      }
      callback(null, permitted[0]!.address, permitted[0]!.family)
    })
  }

/** The target of a callback URL, or why the policy refuses it before any lookup. */
const targetOf = (raw: string, policy: AddressPolicy.AddressPolicy) => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  if (url.username !== "" || url.password !== "") return undefined
  const hostname = url.hostname.replace(/^\[|\]$/g, "")
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
  // an IP literal is connected to without a lookup: it is checked here
  if (isIP(hostname) !== 0 && !AddressPolicy.permits(policy, { hostname, address: hostname, port })) return undefined
  return { url, hostname, port }
}

/** The header carrying the signature. */
export const signatureHeader = "X-Jobloom-Signature"

/** The JSON body POSTed for a callback. */
export const body = (row: CallbackRow): string =>
  JSON.stringify({
    id: row.jobId,
    status: row.status,
    terminalReason: row.terminalReason,
    resultId: row.resultId,
    finishedAt: formatTimeOrNull(row.finishedAt)
  })

/** `sha256=<hex HMAC-SHA256 of the body>`. */
export const sign = (secret: string, payload: string): string =>
  `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`

const maxRetryDelayMs = 5 * 60_000

/** The delay before the retry that follows delivery try number `tries` (1-based). */
export const retryDelayMs = (base: Duration.Duration, tries: number): number =>
  Math.min(maxRetryDelayMs, Duration.toMillis(base) * 2 ** Math.max(0, tries - 1))

/**
 * POSTs once, never following a redirect; succeeds with the HTTP status, fails with a message or `Refused` when the
 * address policy refuses the target.
 */
export const post = (row: CallbackRow, options: Pick<CallbackOptions, "secret" | "timeout" | "policy">) => {
  const payload = body(row)
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "jobloom",
    "content-length": String(Buffer.byteLength(payload))
  }
  if (options.secret !== undefined) headers[signatureHeader] = sign(options.secret, payload)
  const policy = options.policy ?? AddressPolicy.publicOnly
  return Effect.async<number, string | Refused>((resume) => {
    const target = targetOf(row.url, policy)
    if (target === undefined) return resume(Effect.fail(new Refused()))
    const request = (target.url.protocol === "https:" ? Https : Http).request(
      target.url,
      { method: "POST", headers, lookup: checkedLookup(policy, target.hostname, target.port) },
      (response) => {
        // drain the body so the connection can be reused; a 3xx is an answer like any other, never followed
        response.resume()
        resume(Effect.succeed(response.statusCode ?? 0))
      }
    )
    request.on("error", (error: Error & { readonly code?: string }) =>
      resume(Effect.fail(error.code === refusedCode ? new Refused() : error.message))
    )
    request.end(payload)
    return Effect.sync(() => request.destroy())
  }).pipe(
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => `no answer within ${Duration.format(options.timeout)}`
    })
  )
}

/** Delivers one claimed callback and settles it. Never fails. */
export const deliver = (store: JobStore.Service, row: CallbackRow, options: CallbackOptions): Effect.Effect<void> =>
  Effect.gen(function* () {
    const outcome = yield* Effect.either(post(row, options))
    const now = yield* Clock.currentTimeMillis
    if (Either.isLeft(outcome) && outcome.left instanceof Refused) {
      // not retried: the policy will not change its mind, and nothing of the target is told
      yield* options.log(row.jobId, now, "error", `callback to ${row.url} refused by policy: not delivered`)
      yield* store.settleCallback({ id: row.id, retryAt: null, now })
      return
    }
    const delivered = Either.isRight(outcome) && outcome.right >= 200 && outcome.right < 300
    if (delivered) {
      yield* store.settleCallback({ id: row.id, retryAt: null, now })
      return
    }
    const problem = Either.isRight(outcome) ? `HTTP ${outcome.right}` : outcome.left
    const tries = row.attempts + 1
    if (tries >= options.maxAttempts) {
      yield* options.log(row.jobId, now, "error", `callback to ${row.url} given up after ${tries} tries: ${problem}`)
      yield* store.settleCallback({ id: row.id, retryAt: null, now })
      return
    }
    yield* store.settleCallback({ id: row.id, retryAt: now + retryDelayMs(options.retryDelay, tries), now })
  }).pipe(Effect.catchAll((error) => Effect.logWarning("jobloom: settling a callback failed", error)))

/**
 * The delivery loop, forever (fork it): claims due callbacks, delivers them concurrently, and waits for `wake` (a
 * job became terminal here) or the next due retry or the poll interval, whichever comes first.
 */
export const loop = (
  store: JobStore.Service,
  wake: Queue.Dequeue<void>,
  options: CallbackOptions
): Effect.Effect<never> => {
  // the lease hides a callback from other deliverers while this one tries it
  const leaseMs = Duration.toMillis(options.timeout) * 2 + 5_000
  const pollMs = Duration.toMillis(options.pollInterval)
  const pass = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* store
      .claimCallbacks({ now, limit: options.batchSize, leaseMs })
      .pipe(
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning("jobloom: claiming callbacks failed", error), [] as ReadonlyArray<CallbackRow>)
        )
      )
    yield* Effect.forEach(rows, (row) => deliver(store, row, options), {
      concurrency: options.batchSize,
      discard: true
    })
    if (rows.length === options.batchSize) return
    // a failed try is due again after its delay; wake for the earliest one rather than waiting for the poll
    const nextRetry = rows.reduce(
      (min, row) => Math.min(min, retryDelayMs(options.retryDelay, row.attempts + 1)),
      Number.POSITIVE_INFINITY
    )
    yield* Effect.ignore(Effect.timeout(Queue.take(wake), Math.min(pollMs, nextRetry)))
  })
  return Effect.forever(pass)
}
