/**
 * The SQLite `JobStore`: the store a new user gets without setting anything up. One file, WAL, on
 * `@effect/sql-sqlite-node` (better-sqlite3). It migrates its own prefixed tables on start, wakes workers of this
 * process at once through an in-process signal, and is seen by other processes sharing the file within their poll
 * interval.
 *
 * The constructors mean what they mean in the PostgreSQL store:
 * - `make(options)`: the store on the host's `SqlClient` from context. jobloom's tables then live in the host's
 *   database, and an enqueue inside the host's transaction commits or rolls back with it.
 * - `layerClient(options)`: `make` as a layer that requires the client.
 * - `layerWith(options)`: a store with a client of its own, configured in full (`client`: the
 *   `@effect/sql-sqlite-node` configuration).
 * - `layer(options)`: a store with a client of its own, from a file name (or `:memory:`).
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { JobStore } from "@jobloom/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Errors from "./internal/errors.js"
import * as Migrate from "./internal/migrate.js"
import * as Signals from "./internal/signals.js"
import * as Store from "./internal/store.js"
import * as Tables from "./internal/tables.js"
import * as Transaction from "./internal/transaction.js"

/** Where the store's tables live and whether it migrates them: the options of every constructor. */
export interface StoreOptions {
  /** Prefix of every table and index jobloom creates (its migrations table too). Default `"jobloom_"`. */
  readonly tablePrefix?: string
  /** Apply pending migrations when the store starts. Default true. */
  readonly migrate?: boolean
}

/** How a store with a connection of its own sets that connection up (the PRAGMAs it runs on opening it). */
export interface ConnectionOptions {
  /** How long a statement waits for another process's write lock before failing `Unavailable`. Default 5 s. */
  readonly busyTimeout?: Duration.DurationInput
  /**
   * The connection's page cache in KiB. Default 2,000 (SQLite's own default; better-sqlite3 builds with 16,000): the
   * hot paths touch few pages, and the cache is memory of the host process. Raise it for large lists and stats.
   */
  readonly cacheSizeKiB?: number
}

/** Options of {@link layer}: a store with its own connection to a file. */
export interface LayerOptions extends StoreOptions, ConnectionOptions {
  /** The database file; `:memory:` for a private in-memory database (tests). */
  readonly filename: string
}

/** Options of {@link layerWith}: a store with its own client, configured in full. */
export interface LayerWithOptions extends StoreOptions, ConnectionOptions {
  /** The `@effect/sql-sqlite-node` client configuration (file, prepared-statement cache, transforms, …). */
  readonly client: SqliteClient.SqliteClientConfig
}

/** The default table prefix. */
export const defaultTablePrefix = "jobloom_"

const tablesOf = (options: StoreOptions) => Tables.make(options.tablePrefix ?? defaultTablePrefix)

/**
 * Applies jobloom's pending migrations to the database of the `SqlClient` in context, in one write transaction (so
 * processes starting together on one file take turns). Returns the migrations it applied: none on a re-run.
 */
export const migrate = (
  options: Pick<StoreOptions, "tablePrefix"> = {}
): Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* Transaction.writeTransaction(sql)(Migrate.run(tablesOf(options)))
  }).pipe(
    Errors.refail,
    Effect.catchTag("MigrationError", (error) => Effect.fail(Errors.migrationFailed(error))),
    // a migration whose own effect fails is raised by the Migrator as a defect
    Effect.catchAllDefect((defect) =>
      Errors.isMigrationError(defect) ? Effect.fail(Errors.migrationFailed(defect)) : Effect.die(defect)
    )
  )

/**
 * The store on the host's `SqlClient` from context (a SQLite client): jobloom's tables live in the host's database,
 * and its statements join a transaction the host has open in the calling fiber. It holds no fibers, so it needs no
 * Scope. Migrates unless `migrate: false`.
 */
export const make = (
  options: StoreOptions = {}
): Effect.Effect<JobStore.JobStore.Service, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    if (options.migrate !== false) yield* migrate(options)
    const client = yield* SqlClient.SqlClient
    // the host's SqliteClient names its file, so stores of this process on that file share wake-ups
    const sqlite = yield* Effect.serviceOption(SqliteClient.SqliteClient)
    const filename = Option.getOrUndefined(Option.map(sqlite, (c) => c.config.filename))
    const hubs = yield* Signals.Hubs
    return yield* Store.make({
      tables: tablesOf(options),
      signals: Signals.make(hubs.hubFor(Signals.keyOf(filename, client))),
      joinTransactions: true
    })
  })

/** {@link make} as a layer: the store on the host's `SqlClient`, sharing its client and its transactions. */
export const layerClient = (
  options: StoreOptions = {}
): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Layer.effect(JobStore.JobStore, make(options))

/**
 * The store with a client of its own, configured in full: the file's directory is created as needed; the
 * connection is set to `synchronous = NORMAL` with a busy timeout, a 2 MB page cache and foreign keys on (WAL unless
 * the client configuration disables it); migrated on start unless `migrate` is false; `PRAGMA optimize` at close.
 * Its statements never join a transaction of another client open in the fiber.
 */
export const layerWith = (options: LayerWithOptions): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  Layer.scoped(
    JobStore.JobStore,
    Effect.gen(function* () {
      const filename = options.client.filename
      // the file's directory is created as needed, as the quickstart does (not for `:memory:` or `file:` URIs)
      if (!Signals.isPrivate(filename) && !filename.startsWith("file:")) {
        yield* Effect.try({
          try: () => Fs.mkdirSync(Path.dirname(Path.resolve(filename)), { recursive: true }),
          catch: (error) => Errors.unavailable(`cannot create the directory of SQLite database ${filename}`, error)
        })
      }
      const client = yield* SqliteClient.make(options.client).pipe(
        // better-sqlite3 throws when the file cannot be opened (missing directory, not a database)
        Effect.catchAllDefect((defect) =>
          Effect.fail(Errors.unavailable(`cannot open SQLite database ${filename}`, defect))
        ),
        // opening switches the file to WAL, which another process opening it at the same moment can hold for a few
        // milliseconds; SQLite answers that switch with "database is locked" at once instead of waiting: try again
        Effect.retry({
          schedule: Schedule.spaced("25 millis"),
          times: 200,
          while: (error) => /database is locked|SQLITE_BUSY/i.test(String(error.cause))
        })
      )
      const busyMs = Math.max(0, Math.floor(Duration.toMillis(Duration.decode(options.busyTimeout ?? "5 seconds"))))
      yield* Errors.refail(
        Effect.gen(function* () {
          // NORMAL is durable across process crashes in WAL mode (only power loss can drop the newest commits)
          yield* client`PRAGMA synchronous = NORMAL`
          yield* client.unsafe(`PRAGMA busy_timeout = ${busyMs}`)
          yield* client.unsafe(`PRAGMA cache_size = ${-Math.max(1, Math.floor(options.cacheSizeKiB ?? 2000))}`)
          yield* client`PRAGMA foreign_keys = ON`
        })
      )
      const withClient = Effect.provideService(SqlClient.SqlClient, client)
      if (options.migrate !== false) yield* withClient(migrate(options))
      const hubs = yield* Signals.Hubs
      const store = yield* withClient(
        Store.make({
          tables: tablesOf(options),
          signals: Signals.make(hubs.hubFor(Signals.keyOf(filename, client))),
          joinTransactions: false
        })
      )
      // keeps the planner's statistics fresh at close, as SQLite recommends for long-lived connections
      yield* Effect.addFinalizer(() => Effect.ignore(client`PRAGMA optimize`))
      return store
    })
  ).pipe(Layer.provide(Reactivity.layer))

/** The store with a client of its own on a file (or `:memory:`): {@link layerWith} with the client from `filename`. */
export const layer = ({ filename, ...options }: LayerOptions): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  layerWith({ ...options, client: { filename } })
