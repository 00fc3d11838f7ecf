/**
 * The PostgreSQL `JobStore`: any number of worker processes, on any number of machines, against one database, with no
 * coordinator beyond Postgres itself. Claims take `FOR NO KEY UPDATE SKIP LOCKED` rows in one statement; per-type and
 * per-queue limits are counted under advisory locks; a worker's batch of settlements is one statement; inserts,
 * status changes and re-queues are announced with `NOTIFY`, so idle workers wake at once and a cancel reaches the
 * worker running the job on whichever machine.
 *
 * Enqueueing inside the host's own transaction: build the store on the host's client (`make` or `layerClient`), and
 * call the engine inside `sql.withTransaction`; the job exists only if the transaction commits, and its wake-up is
 * sent at commit.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Migrate from "./internal/migrate.js"
import * as Names from "./internal/names.js"
import * as Errors from "./internal/errors.js"
import * as Signals from "./internal/signals.js"
import * as Store from "./internal/store.js"

/** The store's own options, shared by every constructor: where its tables live and whether it migrates them. */
export interface StoreOptions {
  /** The schema of the tables; created when missing. Lower-case letters, digits and `_`. Default `"public"`. */
  readonly schema?: string
  /** Prefix of every table (`<prefix>jobs`, `<prefix>logs`, …) and of the NOTIFY channel. Default `"jobloom_"`. */
  readonly tablePrefix?: string
  /** Run the migrations on start (safe when many processes start at once). Default true. */
  readonly migrate?: boolean
  /**
   * Make the worker's writes (claims, settlements, heartbeats, progress, logs, maintenance) wait for the WAL flush,
   * as inserts and user actions always do. Default false: they commit asynchronously, which removes the flush from
   * the hot path. A server crash (not a restart: a restart flushes) may then roll back their last fraction of a
   * second, which at-least-once delivery redoes: a lost claim leaves its job QUEUED, a lost settlement leaves it
   * RUNNING until the lease expires and the rescuer re-queues it. Nothing is lost either way.
   */
  readonly durableWorkerWrites?: boolean
}

/** Options of {@link layer}: a client of the store's own, from a connection URL. */
export interface LayerOptions extends StoreOptions {
  /** The connection URL, e.g. `postgres://user@host:5432/db`. */
  readonly url: string | Redacted.Redacted
  /** Pool size of this process. Default 10. */
  readonly maxConnections?: number
  /** Shown in `pg_stat_activity`. Default `"jobloom"`. */
  readonly applicationName?: string
}

/** Options of {@link layerWith}: a client of the store's own, configured in full. */
export interface LayerWithOptions extends StoreOptions {
  /** The full `@effect/sql-pg` client configuration. */
  readonly client: PgClient.PgClientConfig
}

/**
 * Builds the store on the `PgClient` in context (the host's client): its statements join the caller's transaction
 * when there is one. Migrates unless `migrate: false`. The scope holds the listener.
 */
export const make = (
  options: StoreOptions = {}
): Effect.Effect<JobStore.JobStore.Service, JobStore.JobStoreError, PgClient.PgClient | Scope.Scope> =>
  Effect.gen(function* () {
    const pg = yield* PgClient.PgClient
    const names = yield* Names.make(options.schema ?? "public", options.tablePrefix ?? "jobloom_")
    if (options.migrate ?? true) yield* Errors.refail(Migrate.run(names))
    const signals = yield* Signals.make(Signals.clientConfig(pg.config), names.channel)
    return yield* Store.make(names, signals, { durableWorkerWrites: options.durableWorkerWrites ?? false })
  }).pipe(Effect.provideServiceEffect(SqlClient.SqlClient, PgClient.PgClient))

/** The store on the `PgClient` in context, as a layer (the host shares its client and its transactions). */
export const layerClient = (
  options: StoreOptions = {}
): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError, PgClient.PgClient> =>
  Layer.scoped(JobStore.JobStore, make(options))

/** The store with a client of its own, configured in full. */
export const layerWith = (options: LayerWithOptions): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  layerClient(options).pipe(Layer.provide(PgClient.layer(options.client).pipe(Layer.mapError(Errors.clientFailed))))

/** The store with a client of its own, from a connection URL. */
export const layer = (options: LayerOptions): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  layerWith({
    ...options,
    client: {
      url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
      maxConnections: options.maxConnections,
      applicationName: options.applicationName ?? "jobloom"
    }
  })
