/**
 * The SQLite `JobStore`: the store a new user gets without setting anything up. One file, WAL, on
 * `@effect/sql-sqlite-node` (better-sqlite3). It migrates its own prefixed tables on start, wakes workers of this
 * process at once through an in-process signal, and is seen by other processes sharing the file within their poll
 * interval.
 *
 * - `layer({ filename })` / `layerWith(options)`: a private connection to a file (or `:memory:`).
 * - `layerClient(options)` / `make(options)`: the host's `SqlClient` from context; jobloom's tables then live in the
 *   host's database, and an enqueue inside the host's transaction commits or rolls back with it.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import type * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { JobStore } from "@jobloom/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Migrate from "./internal/migrate.js"
import * as internal from "./internal/store.js"
import * as Tables from "./internal/tables.js"
import * as Transaction from "./internal/transaction.js"

/** Options shared by every constructor. */
export interface Options {
  /** Prefix of every table and index jobloom creates (its migrations table too). Default `"jobloom_"`. */
  readonly tablePrefix?: string
  /** Apply pending migrations when the store starts. Default true. */
  readonly migrate?: boolean
}

/** Options of a store with its own connection. */
export interface LayerOptions extends Options {
  /** The database file; `:memory:` for a private in-memory database (tests). */
  readonly filename: string
  /** How long a statement waits for another process's write lock before failing `Unavailable`. Default 5 s. */
  readonly busyTimeout?: Duration.DurationInput
  /**
   * The connection's page cache in KiB. Default 2,000 (SQLite's own default; better-sqlite3 builds with 16,000): the
   * hot paths touch few pages, and the cache is memory of the host process. Raise it for large lists and stats.
   */
  readonly cacheSizeKiB?: number
}

/** The default table prefix. */
export const defaultTablePrefix = "jobloom_"

const isPrivate = (filename: string) => filename === "" || filename === ":memory:"

/** Maps a migration failure (a failure, or a failed migration, which the Migrator raises as a defect). */
const migrationError = (cause: unknown): JobStore.JobStoreError =>
  new JobStore.JobStoreError({
    reason: "Unknown",
    message: `jobloom migrations failed: ${cause instanceof Error ? cause.message : String(cause)}${
      typeof cause === "object" && cause !== null && "cause" in cause && cause.cause instanceof Error
        ? `: ${cause.cause.message}`
        : ""
    }`
  })

const isMigrationError = (u: unknown): u is Migrator.MigrationError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "MigrationError"

/**
 * Applies jobloom's pending migrations to the database of the `SqlClient` in context, in one write transaction (so
 * processes starting together on one file take turns). Returns the migrations it applied: none on a re-run.
 */
export const migrate = (
  options: Pick<Options, "tablePrefix"> = {}
): Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables = Tables.make(options.tablePrefix ?? defaultTablePrefix)
    return yield* Transaction.writeTransaction(sql)(Migrate.run(tables))
  }).pipe(
    Effect.catchAll((error: Migrator.MigrationError | SqlError) =>
      Effect.fail(error._tag === "SqlError" ? internal.toStoreError(error) : migrationError(error))
    ),
    Effect.catchAllDefect((defect) =>
      isMigrationError(defect) ? Effect.fail(migrationError(defect)) : Effect.die(defect)
    )
  )

/**
 * The store over the host's `SqlClient` (a SQLite client): jobloom's tables live in the host's database, and its
 * statements join a transaction the host has open in the calling fiber.
 */
export const make = (
  options: Options = {}
): Effect.Effect<JobStore.JobStore, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    if (options.migrate !== false) yield* migrate(options)
    const client = yield* SqlClient.SqlClient
    // the host's SqliteClient names its file, so stores of this process on that file share wake-ups
    const sqlite = yield* Effect.serviceOption(SqliteClient.SqliteClient)
    const filename = Option.getOrUndefined(Option.map(sqlite, (c) => c.config.filename))
    return yield* internal.make({
      tables: Tables.make(options.tablePrefix ?? defaultTablePrefix),
      hub: internal.hubFor(filename !== undefined && !isPrivate(filename) ? Path.resolve(filename) : client),
      joinTransactions: true
    })
  })

/** The store over the host's `SqlClient` from context, as a layer. */
export const layerClient = (
  options: Options = {}
): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError, SqlClient.SqlClient> =>
  Layer.effect(JobStore.JobStore, make(options))

/**
 * The store with its own connection to `filename` (default `:memory:`): WAL, `synchronous = NORMAL`, a busy
 * timeout, a 2 MB page cache and foreign keys on; migrated on start unless `migrate` is false.
 */
export const layerWith = (
  options: Partial<LayerOptions> = {}
): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  Layer.scoped(
    JobStore.JobStore,
    Effect.gen(function* () {
      const filename = options.filename ?? ":memory:"
      // the file's directory is created as needed, as the quickstart does (not for `:memory:` or `file:` URIs)
      if (!isPrivate(filename) && !filename.startsWith("file:")) {
        yield* Effect.try({
          try: () => Fs.mkdirSync(Path.dirname(Path.resolve(filename)), { recursive: true }),
          catch: (error) =>
            new JobStore.JobStoreError({
              reason: "Unavailable",
              message: `cannot create the directory of SQLite database ${filename}: ${error instanceof Error ? error.message : String(error)}`
            })
        })
      }
      const client = yield* SqliteClient.make({ filename }).pipe(
        // better-sqlite3 throws when the file cannot be opened (missing directory, not a database)
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new JobStore.JobStoreError({
              reason: "Unavailable",
              message: `cannot open SQLite database ${filename}: ${defect instanceof Error ? defect.message : String(defect)}`
            })
          )
        )
      )
      const busyMs = Math.max(0, Math.floor(Duration.toMillis(Duration.decode(options.busyTimeout ?? "5 seconds"))))
      const setup = Effect.gen(function* () {
        // NORMAL is durable across process crashes in WAL mode (only power loss can drop the newest commits)
        yield* client`PRAGMA synchronous = NORMAL`
        yield* client.unsafe(`PRAGMA busy_timeout = ${busyMs}`)
        yield* client.unsafe(`PRAGMA cache_size = ${-Math.max(1, Math.floor(options.cacheSizeKiB ?? 2000))}`)
        yield* client`PRAGMA foreign_keys = ON`
      }).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(internal.toStoreError(error))))
      yield* setup
      const withClient = Effect.provideService(SqlClient.SqlClient, client)
      if (options.migrate !== false) yield* withClient(migrate(options))
      const store = yield* withClient(
        internal.make({
          tables: Tables.make(options.tablePrefix ?? defaultTablePrefix),
          hub: internal.hubFor(isPrivate(filename) ? client : Path.resolve(filename)),
          joinTransactions: false
        })
      )
      // keeps the planner's statistics fresh at close, as SQLite recommends for long-lived connections
      yield* Effect.addFinalizer(() => Effect.ignore(client`PRAGMA optimize`))
      return store
    })
  ).pipe(Layer.provide(Reactivity.layer))

/** The store with its own connection to a file (or `:memory:`); see {@link layerWith}. */
export const layer = (options: LayerOptions): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  layerWith(options)
