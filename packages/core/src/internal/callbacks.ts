/**
 * Callback delivery (DESIGN §4.6): pending callbacks are rows the store inserted with the terminal write, so a crash
 * loses none. A deliverer claims them with a lease, POSTs `{ id, status, terminalReason, resultId, finishedAt }`,
 * signs the body with HMAC-SHA256 when a secret is set, and deletes the row on a 2xx answer; otherwise it retries
 * with exponential backoff until `maxAttempts`, then gives up with a log line on the job.
 */
import { createHmac } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import { formatTimeOrNull, type LogLevel } from "../Job.js"
import type { CallbackRow, JobStore } from "../JobStore.js"

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
  /** Writes a line to the job's log (through the worker's log buffer). */
  readonly log: (jobId: string, at: number, level: LogLevel, message: string) => void
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

/** POSTs once; succeeds with the HTTP status, fails with a message. */
export const post = (row: CallbackRow, options: Pick<CallbackOptions, "secret" | "timeout">) => {
  const payload = body(row)
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "jobloom" }
  if (options.secret !== undefined) headers[signatureHeader] = sign(options.secret, payload)
  return Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(row.url, { method: "POST", headers, body: payload, signal })
      // drain the body so the connection can be reused
      await response.arrayBuffer().catch(() => undefined)
      return response.status
    },
    catch: (cause) => (cause instanceof Error ? cause.message : String(cause))
  }).pipe(
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => `no answer within ${Duration.format(options.timeout)}`
    })
  )
}

/** Delivers one claimed callback and settles it. Never fails. */
export const deliver = (store: JobStore, row: CallbackRow, options: CallbackOptions): Effect.Effect<void> =>
  Effect.gen(function* () {
    const outcome = yield* Effect.either(post(row, options))
    const now = yield* Clock.currentTimeMillis
    const delivered = Either.isRight(outcome) && outcome.right >= 200 && outcome.right < 300
    if (delivered) {
      yield* store.settleCallback({ id: row.id, retryAt: null, now })
      return
    }
    const problem = Either.isRight(outcome) ? `HTTP ${outcome.right}` : outcome.left
    const tries = row.attempts + 1
    if (tries >= options.maxAttempts) {
      options.log(row.jobId, now, "error", `callback to ${row.url} given up after ${tries} tries: ${problem}`)
      yield* store.settleCallback({ id: row.id, retryAt: null, now })
      return
    }
    yield* store.settleCallback({ id: row.id, retryAt: now + retryDelayMs(options.retryDelay, tries), now })
  }).pipe(Effect.catchAll((error) => Effect.logWarning("jobloom: settling a callback failed", error)))

/**
 * The delivery loop, forever (fork it): claims due callbacks, delivers them concurrently, and waits for `wake` (a
 * job became terminal here) or the next due retry or the poll interval, whichever comes first.
 */
export const loop = (store: JobStore, wake: Queue.Dequeue<void>, options: CallbackOptions): Effect.Effect<never> => {
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
