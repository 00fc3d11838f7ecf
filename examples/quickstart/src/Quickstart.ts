/**
 * The quickstart server: a Hono host app serving the jobs API at `/api`, the engine with an in-process worker, and
 * a store (a SQLite file, or PostgreSQL when `DATABASE_URL` is set). Everything is read from the environment.
 */
import { Jobs, JobSchedule, JobSchedules, JobType, RemoteWorker, Worker } from "@jobloom/core"
import type { JobRetention } from "@jobloom/core"
import { AntennaApi, Health, JobsApi, McritApi, Metrics, WorkersApi } from "@jobloom/http"
import { PgJobStore } from "@jobloom/store-postgres"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Runtime from "effect/Runtime"
import * as Option from "effect/Option"
import { Hono } from "hono"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { serve } from "./HttpServer.js"
import { serveUntilSignal } from "./Process.js"
import * as DataStorageSync from "./jobs/DataStorageSync.js"
import * as MlPipeline from "./jobs/MlPipeline.js"
import * as MlReport from "./jobs/MlReport.js"
import * as WordCount from "./jobs/WordCount.js"
import * as ItemRouters from "./ItemRouters.js"
import * as ProcessingService from "./ProcessingService.js"

/** The quickstart's settings, each from an environment variable. */
export interface QuickstartConfig {
  /** `PORT`, default 3000; 0 picks a free port. */
  readonly port: number
  /** `HOST`, default: every interface (IPv6 and IPv4). */
  readonly host: Option.Option<string>
  /** `JOBLOOM_DB`, default `./data/jobloom.db`, relative to the directory the command was typed in. */
  readonly db: string
  /** `DATABASE_URL`: PostgreSQL instead of SQLite when set. */
  readonly databaseUrl: Option.Option<string>
  /** `JOBLOOM_PG_SCHEMA`, default `public`: the PostgreSQL schema of the tables (created when missing). */
  readonly pgSchema: string
  /** `JOBLOOM_WORKER`, default true: run jobs in this process (false = API only). */
  readonly worker: boolean
  /** `JOBLOOM_CONCURRENCY`, default 10: jobs the in-process worker runs at once. */
  readonly concurrency: number
  /** `JOBLOOM_GRACE_PERIOD` seconds, default 10: how long running jobs may finish on shutdown. */
  readonly gracePeriod: Duration.Duration
  /**
   * `JOBLOOM_CALLBACK_ALLOW`, default none: comma-separated hosts that callbacks may reach although they resolve to
   * a private or loopback address (callbacks reach public addresses only otherwise).
   */
  readonly callbackAllow: ReadonlyArray<string>
  /** `JOBLOOM_CALLBACK_ALLOW_PRIVATE`, default false: callbacks may reach any address (development only). */
  readonly callbackAllowPrivate: boolean
  /** `JOBLOOM_REMOTE_TYPES`, default none: comma-separated job types served only by remote workers (no handler here). */
  readonly remoteTypes?: ReadonlyArray<string>
  /** `JOBLOOM_REMOTE_LEASE` seconds, default 30: the lease of a remote worker's claim, renewed by its heartbeats. */
  readonly remoteLease?: Duration.Duration
}

/** Reads {@link QuickstartConfig} from the environment. */
export const config: Config.Config<QuickstartConfig> = Config.all({
  port: Config.integer("PORT").pipe(
    Config.withDefault(3000),
    Config.validate({ message: "must be between 0 and 65535", validation: (n) => n >= 0 && n <= 65535 })
  ),
  host: Config.option(Config.nonEmptyString("HOST")),
  db: Config.string("JOBLOOM_DB").pipe(
    Config.withDefault("./data/jobloom.db"),
    // pnpm runs scripts in the package directory; INIT_CWD is where the user typed the command
    Config.map((file) => (file === ":memory:" ? file : Path.resolve(process.env.INIT_CWD ?? process.cwd(), file)))
  ),
  databaseUrl: Config.option(Config.nonEmptyString("DATABASE_URL")),
  pgSchema: Config.string("JOBLOOM_PG_SCHEMA").pipe(Config.withDefault("public")),
  worker: Config.boolean("JOBLOOM_WORKER").pipe(Config.withDefault(true)),
  concurrency: Config.integer("JOBLOOM_CONCURRENCY").pipe(
    Config.withDefault(10),
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 })
  ),
  gracePeriod: Config.number("JOBLOOM_GRACE_PERIOD").pipe(Config.withDefault(10), Config.map(Duration.seconds)),
  callbackAllow: Config.string("JOBLOOM_CALLBACK_ALLOW").pipe(
    Config.withDefault(""),
    Config.map((list) => list.split(",").flatMap((host) => (host.trim() === "" ? [] : [host.trim()])))
  ),
  callbackAllowPrivate: Config.boolean("JOBLOOM_CALLBACK_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  remoteTypes: Config.string("JOBLOOM_REMOTE_TYPES").pipe(
    Config.withDefault(""),
    Config.map((list) => list.split(",").flatMap((type) => (type.trim() === "" ? [] : [type.trim()])))
  ),
  remoteLease: Config.number("JOBLOOM_REMOTE_LEASE").pipe(Config.withDefault(30), Config.map(Duration.seconds))
})

/** The job types of the quickstart (besides the built-in `delay`). */
export const jobTypes: ReadonlyArray<JobType.Any> = [
  MlPipeline.MlPipeline,
  DataStorageSync.DataStorageSync,
  WordCount.WordCount,
  MlReport.MlReport
]

/** The handlers of the quickstart's job types but those in `remote` (served by remote workers only). */
export const handlersExcept = (remote: ReadonlyArray<string>): Layer.Layer<never, never, JobType.JobRegistry> =>
  Layer.mergeAll(
    Layer.empty,
    ...[
      [MlPipeline.MlPipeline.key, MlPipeline.layer],
      [WordCount.WordCount.key, WordCount.layer],
      [DataStorageSync.DataStorageSync.key, DataStorageSync.layer()],
      [MlReport.MlReport.key, MlReport.layer]
    ].flatMap(([key, layer]) => (remote.includes(key as string) ? [] : [layer as typeof MlPipeline.layer]))
  ).pipe(Layer.provide(ProcessingService.layer()))

/** The handlers of the quickstart's job types, with the fake processing service they call. */
export const handlers: Layer.Layer<never, never, JobType.JobRegistry> = handlersExcept([])

/** The store: PostgreSQL when a URL is configured, else the SQLite file (its directory created if missing). */
export const storeLayer = (config: QuickstartConfig) =>
  Option.match(config.databaseUrl, {
    onNone: () =>
      SqliteJobStore.layer({ filename: config.db }).pipe(
        Layer.provide(
          Layer.effectDiscard(
            Effect.sync(() => {
              if (config.db !== ":memory:") Fs.mkdirSync(Path.dirname(config.db), { recursive: true })
            })
          )
        )
      ),
    onSome: (url) => PgJobStore.layer({ url, schema: config.pgSchema })
  })

/** The quickstart's schedule: the storage sync every night at 03:00 Berlin time (see `/api/schedules`). */
export const schedules: ReadonlyArray<JobSchedule.Definition> = [
  JobSchedule.make({
    key: "nightly-storage-sync",
    cron: "0 3 * * *",
    timeZone: "Europe/Berlin",
    type: DataStorageSync.DataStorageSync,
    params: {}
  })
]

/** The quickstart's retention: succeeded and cancelled jobs go after 7 days, failed and timed-out ones after 30. */
export const retention: JobRetention.RetentionOptions = {
  olderThan: { SUCCEEDED: "7 days", CANCELLED: "7 days", FAILED: "30 days", TIMED_OUT: "30 days" }
}

/**
 * The engine, the handlers, the schedules and (unless disabled) the worker with maintenance, over the configured
 * store.
 */
export const engineLayer = (config: QuickstartConfig) => {
  // the worker starts after the handlers are registered, so it claims from their queues
  const local = handlersExcept(config.remoteTypes ?? [])
  const running = config.worker
    ? Worker.layer({
        concurrency: config.concurrency,
        gracePeriod: config.gracePeriod,
        callbacks: { allow: config.callbackAllow, allowPrivateNetworks: config.callbackAllowPrivate },
        // maintenance also fires the schedules' ticks; the pruner is on here (off by default in the library)
        retention
      }).pipe(Layer.provide(local))
    : local
  // remote workers (any language, over HTTP at /api/workers) serve every registered type, handler here or not
  return Layer.mergeAll(
    running,
    RemoteWorker.layer({ leaseDuration: config.remoteLease ?? Duration.seconds(30) }),
    JobSchedules.layer({ schedules })
  ).pipe(Layer.provideMerge(Jobs.layer({ types: jobTypes })), Layer.provideMerge(storeLayer(config)))
}

/** The compat routers the quickstart mounts beside the jobs API (DESIGN §6). */
export interface CompatApps {
  /** Antenna's job API, at `/api/v2`. */
  readonly antenna?: Hono
  /** MCRIT's job queue API, at `/mcrit`. */
  readonly mcrit?: Hono
  /** The remote workers' routes, at `/api/workers` (not a compat router, but mounted the same way, before `/api`). */
  readonly workers?: Hono
  /** `/health`, `/ready` and `/metrics`, at the root. */
  readonly probes?: Hono
}

/** The probes and metrics a load balancer, Kubernetes and Prometheus read: `/health`, `/ready`, `/metrics`. */
export const makeProbes = (runtime: Runtime.Runtime<Jobs.Jobs>, options: { readonly worker: boolean }): Hono => {
  const app = new Hono()
  app.get("/health", Health.health())
  app.get("/ready", Health.ready({ runtime, worker: options.worker }))
  app.get("/metrics", Metrics.metrics({ runtime }))
  return app
}

/**
 * The host app: its own small index at `/`, the jobs API at `/api` (its dashboard at `/api/dashboard`), the compat
 * routers at their seed paths.
 */
export const makeApp = (api: Hono, compat: CompatApps = {}): Hono => {
  const app = new Hono()
  app.get("/", (c) =>
    c.json({
      name: "jobloom quickstart",
      api: "/api/jobs",
      docs: "/api/docs",
      dashboard: "/api/dashboard",
      openapi: "/api/openapi.json",
      jobTypes: "/api/job-types",
      ...(compat.antenna === undefined ? {} : { antenna: "/api/v2/jobs" }),
      ...(compat.mcrit === undefined ? {} : { mcrit: "/mcrit/jobs" })
    })
  )
  // before `/api`: the jobs API's own middleware would otherwise also see `/api/v2` requests first
  if (compat.probes !== undefined) app.route("/", compat.probes)
  if (compat.antenna !== undefined) app.route("/api/v2", compat.antenna)
  if (compat.mcrit !== undefined) app.route("/mcrit", compat.mcrit)
  if (compat.workers !== undefined) app.route("/api", compat.workers)
  app.route("/api", api)
  return app
}

/** Serves the app until the scope closes, then closes the HTTP server before the worker and the store. */
export const serverLayer = (config: QuickstartConfig) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<Jobs.Jobs | JobType.JobRegistry | RemoteWorker.RemoteWorker>()
      const app = ItemRouters.mount(
        makeApp(JobsApi.make({ runtime }), {
          antenna: AntennaApi.make({ runtime }),
          mcrit: McritApi.make({ runtime }),
          workers: WorkersApi.make({ runtime }),
          probes: makeProbes(runtime, { worker: config.worker })
        }),
        runtime
      )
      const address = yield* serve({ fetch: app.fetch, port: config.port, host: Option.getOrUndefined(config.host) })
      const wildcard = address.address === "::" || address.address === "0.0.0.0"
      const host = wildcard ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address
      const base = `http://${host}:${address.port}`
      const store = Option.match(config.databaseUrl, {
        onNone: () => `SQLite ${config.db}`,
        onSome: () => `PostgreSQL, schema ${config.pgSchema}`
      })
      const worker = config.worker ? `worker runs ${config.concurrency} jobs at a time` : "no worker"
      yield* Console.log(
        `jobloom quickstart (${store}; ${worker}), listening on ${wildcard ? "every interface" : host}, port ${address.port}`
      )
      yield* Console.log(`  API:  ${base}/api`)
      yield* Console.log(`  Docs: ${base}/api/docs`)
      yield* Console.log(`  Dashboard: ${base}/api/dashboard`)
      yield* Console.log(`  Antenna: ${base}/api/v2/jobs`)
      yield* Console.log(`  MCRIT: ${base}/mcrit/jobs`)
      yield* Console.log(`  Workers: ${base}/api/workers/openapi.json`)
    })
  )

/** The whole quickstart server as one layer. */
export const layer = (config: QuickstartConfig) => serverLayer(config).pipe(Layer.provide(engineLayer(config)))

/** Reads the configuration and runs the server until SIGINT or SIGTERM, then shuts it down gracefully. */
export const main = Effect.flatMap(config, (config) =>
  serveUntilSignal(layer(config), (signal) =>
    Console.log(
      `${signal}: shutting down` +
        (config.worker ? `; running jobs get ${Duration.format(config.gracePeriod)} to finish` : "")
    )
  ).pipe(Effect.zipRight(Console.log("stopped")))
)
