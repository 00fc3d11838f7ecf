/**
 * The LISTEN side of the store's signals: one dedicated connection per process (shared by every subscriber, opened
 * on the first subscription and closed after the last), which reconnects by itself with backoff.
 *
 * It uses its own `pg` client rather than `PgClient.listen`: that stream swallows the errors of its listen connection
 * (a terminated connection just goes quiet, forever) and its UNLISTEN finalizer runs on the shared connection. Here an
 * `error` or `end` event, or a health query that fails or hangs, ends the session, and the next one starts on a fresh
 * connection. Notifications sent while no session is listening are lost; workers poll, so that costs latency only.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { Job } from "@jobloom/core"
import type { JobStore } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as RcRef from "effect/RcRef"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import * as Pg from "pg"

/** Tuning of the listener. */
export interface ListenerOptions {
  /** How often the listen connection is checked with a query. */
  readonly healthInterval: Duration.Duration
  /** A health query slower than this ends the session. */
  readonly healthTimeout: Duration.Duration
  /** The longest wait between reconnection attempts. */
  readonly maxBackoff: Duration.Duration
  /** How long the first subscription waits for LISTEN to be in place before it returns anyway. */
  readonly readyTimeout: Duration.Duration
}

/** The defaults of {@link ListenerOptions}. */
export const defaultListenerOptions: ListenerOptions = {
  healthInterval: Duration.seconds(2),
  healthTimeout: Duration.seconds(3),
  maxBackoff: Duration.seconds(5),
  readyTimeout: Duration.seconds(5)
}

// the status list is core's, so a status added there is understood here without a second list to keep in step
const statuses: ReadonlySet<string> = new Set(Job.statuses)

/**
 * Parses a NOTIFY payload; anything that is not a well-formed signal is ignored, and so is an `Enqueued` whose
 * `origin` is `self`: the inserting process published it in-process already (see {@link Signals.publish}).
 */
export const decode = (payload: string, self?: string): JobStore.StoreSignal | undefined => {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null || !("_tag" in value)) return undefined
  const v = value as Record<string, unknown>
  if (v._tag === "Enqueued" && typeof v.queue === "string") {
    return self !== undefined && v.origin === self ? undefined : { _tag: "Enqueued", queue: v.queue }
  }
  if (v._tag === "Changed" && typeof v.id === "string" && typeof v.status === "string" && statuses.has(v.status)) {
    const status = v.status as JobStore.StatusChange["status"]
    // a job a dependency's end failed (migration 7's trigger) says so
    return v.reason === "dependency_failed"
      ? { _tag: "Changed", id: v.id, status, reason: "dependency_failed" }
      : { _tag: "Changed", id: v.id, status }
  }
  return undefined
}

/** The `pg` client settings of a `PgClient`'s configuration. */
export const clientConfig = (config: PgClient.PgClientConfig): Pg.ClientConfig => ({
  connectionString: config.url === undefined ? undefined : Redacted.value(config.url),
  host: config.host,
  port: config.port,
  database: config.database,
  user: config.username,
  password: config.password === undefined ? undefined : Redacted.value(config.password),
  ssl: config.ssl,
  application_name: `${config.applicationName ?? "jobloom"} (listen)`,
  connectionTimeoutMillis: Duration.toMillis(config.connectTimeout ?? Duration.seconds(5)),
  // a dead peer is noticed by the health query; keepalive also frees the socket of a half-open connection
  keepAlive: true
})

const errorOf = (cause: unknown): Error => (cause instanceof Error ? cause : new Error(String(cause)))

/** One connection's life: connect, LISTEN, publish notifications, and fail as soon as the connection is unwell. */
const session = (
  config: Pg.ClientConfig,
  channel: string,
  origin: string,
  pubsub: PubSub.PubSub<JobStore.StoreSignal>,
  options: ListenerOptions,
  onListening: Effect.Effect<void>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const lost = yield* Deferred.make<never, Error>()
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const client = new Pg.Client(config)
          client.on("error", (error) => Deferred.unsafeDone(lost, Exit.fail(error)))
          client.on("end", () => Deferred.unsafeDone(lost, Exit.fail(new Error("listen connection ended"))))
          client.on("notification", (message) => {
            if (message.channel !== channel || message.payload === undefined) return
            const signal = decode(message.payload, origin)
            if (signal !== undefined) pubsub.unsafeOffer(signal)
          })
          return client
        }),
        (client) =>
          Effect.promise(() => client.end().catch(() => undefined)).pipe(
            Effect.interruptible,
            Effect.timeoutOption(1000),
            Effect.ensuring(Effect.sync(() => client.removeAllListeners()))
          )
      )
      const query = (text: string) =>
        Effect.tryPromise({ try: () => client.query(text), catch: errorOf }).pipe(
          Effect.timeoutFail({
            duration: options.healthTimeout,
            onTimeout: () =>
              new Error(`listen connection did not answer within ${Duration.format(options.healthTimeout)}`)
          })
        )
      yield* Effect.tryPromise({ try: () => client.connect(), catch: errorOf })
      yield* query(`LISTEN ${Pg.escapeIdentifier(channel)}`)
      yield* onListening
      const health = Effect.forever(Effect.zipRight(Effect.sleep(options.healthInterval), query("SELECT 1")))
      return yield* Effect.raceFirst(Deferred.await(lost), health)
    })
  )

/** The signals of one store. */
export interface Signals {
  /** Subscribes (see `JobStore.subscribe`). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<JobStore.StoreSignal>, never, Scope.Scope>
  /**
   * This store's mark on the NOTIFY payloads of its own inserts. An `Enqueued` carrying it is published in-process
   * by {@link Signals.publish} once the insert committed, so its listener drops it: an idle worker of this process
   * wakes without waiting for the notification to come back, and wakes once.
   */
  readonly origin: string
  /** Publishes a signal to this process's subscribers now (nothing when there are none). */
  readonly publish: (signals: ReadonlyArray<JobStore.StoreSignal>) => void
}

/**
 * Builds the signals of one store: the first subscriber starts the listener (and waits, up to `readyTimeout`,
 * until LISTEN is in place, so that a write made after `subscribe` returns is seen); the last one stops it.
 */
export const make = (
  config: Pg.ClientConfig,
  channel: string,
  options: ListenerOptions = defaultListenerOptions
): Effect.Effect<Signals, never, Scope.Scope> =>
  Effect.gen(function* () {
    const origin = randomUUID()
    // the hub's PubSub while it is open: publish reaches the subscribers without acquiring it
    let current: PubSub.PubSub<JobStore.StoreSignal> | undefined
    const hub = yield* RcRef.make({
      acquire: Effect.gen(function* () {
        // sliding: a subscriber that stops reading loses its oldest hints, never blocks the listener
        const pubsub = yield* Effect.acquireRelease(PubSub.sliding<JobStore.StoreSignal>(4096), (pubsub) =>
          Effect.zipRight(
            Effect.sync(() => {
              if (current === pubsub) current = undefined
            }),
            PubSub.shutdown(pubsub)
          )
        )
        current = pubsub
        const ready = yield* Deferred.make<void>()
        let failures = 0
        const onListening = Effect.suspend(() => {
          const recovered = failures > 0
          failures = 0
          return Effect.zipRight(
            recovered ? Effect.logInfo("jobloom: LISTEN connection restored") : Effect.void,
            Deferred.succeed(ready, undefined)
          )
        })
        const retry = (cause: Cause.Cause<Error>) =>
          Effect.suspend(() => {
            failures++
            const delay = Duration.min(Duration.millis(100 * 2 ** Math.min(failures - 1, 10)), options.maxBackoff)
            const log =
              failures === 1
                ? Effect.logWarning("jobloom: LISTEN connection lost; reconnecting", Cause.squash(cause))
                : Effect.logDebug(`jobloom: LISTEN reconnection attempt ${failures} failed`, Cause.squash(cause))
            return Effect.zipRight(log, Effect.sleep(delay))
          })
        yield* session(config, channel, origin, pubsub, options, onListening).pipe(
          Effect.catchAllCause(retry),
          Effect.forever,
          Effect.forkScoped
        )
        yield* Deferred.await(ready).pipe(Effect.timeoutOption(options.readyTimeout))
        return pubsub
      })
    })
    return {
      subscribe: Effect.flatMap(RcRef.get(hub), PubSub.subscribe),
      origin,
      publish: (signals) => {
        if (current === undefined) return
        for (const signal of signals) current.unsafeOffer(signal)
      }
    }
  })
