/**
 * The commands: `serve`, `worker`, `migrate` and `jobs list|get|cancel|retry|delete`. Each resolves with the
 * process's exit code; errors are thrown and printed by `main` as one line.
 */
import type { Job, Jobloom, Jobs } from "@jobloom/core"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Args from "./args.js"
import * as Database from "./database.js"
import { ExitCode, UsageError } from "./errors.js"
import { open } from "./open.js"
import * as Table from "./table.js"

const workerFlags = {
  types: { type: "string", short: "t", multiple: true },
  concurrency: { type: "string", short: "c" },
  queues: { type: "string", short: "q" }
} as const

/** Resolves on the first SIGINT or SIGTERM; later ones are ignored while the shutdown runs. */
const untilSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const ignore = () => {}
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of ["SIGINT", "SIGTERM"] as const) {
        process.off(s, onSignal)
        process.on(s, ignore)
      }
      resolve(signal)
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  })

const typesOf = (parsed: Args.Parsed): ReadonlyArray<string> => {
  const value = (parsed.values as Record<string, unknown>)["types"]
  return Array.isArray(value) ? (value as ReadonlyArray<string>) : []
}

const workerOptions = (parsed: Args.Parsed) => ({
  concurrency: Args.positiveInt(parsed, "concurrency", 10, {
    name: "JOBLOOM_CONCURRENCY",
    value: process.env["JOBLOOM_CONCURRENCY"]
  }),
  queues: Args.list(parsed, "queues")
})

const typeKeys = (jobloom: Jobloom.Jobloom) =>
  jobloom
    .types()
    .map((t) => t.key)
    .join(", ")

/** `jobloom serve`. */
export const serve = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = Args.parse(argv, {
    ...workerFlags,
    port: { type: "string", short: "p" },
    host: { type: "string" },
    "no-worker": { type: "boolean" }
  })
  Args.positionals(parsed, [])
  const port = Args.port(parsed, 3000, process.env["PORT"])
  const host = Args.string(parsed, "host") ?? (process.env["HOST"] || undefined)
  const noWorker = parsed.values["no-worker"] === true
  const worker = noWorker ? false : workerOptions(parsed)
  // the HTTP stack loads while the store opens
  const http = Promise.all([import("@hono/node-server"), import("@jobloom/http"), import("hono")])
  const { jobloom, database } = await open(parsed, { types: typesOf(parsed), worker })
  const [{ serve: listen }, { Health, JobsApi, Metrics }, { Hono }] = await http
  const app = new Hono()
  app.get("/", (c) => c.redirect("/api"))
  // probes for load balancers and Kubernetes, metrics for Prometheus, at the root
  app.get("/health", Health.health())
  app.get("/ready", Health.ready({ runtime: jobloom.runtime, worker: worker !== false }))
  app.get("/metrics", Metrics.metrics({ runtime: jobloom.runtime }))
  app.route("/api", JobsApi.make({ runtime: jobloom.runtime }))
  let server: Http.Server
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server = listen({ fetch: app.fetch, port, ...(host === undefined ? {} : { hostname: host }) }) as Http.Server
    server.once("error", reject)
    server.once("listening", () => resolve(server.address() as AddressInfo))
  }).catch(async (error: Error) => {
    await jobloom.close()
    throw new Error(`cannot listen on ${host ?? "every interface"}, port ${port}: ${error.message}`)
  })
  const wildcard = address.address === "::" || address.address === "0.0.0.0"
  const shown = wildcard ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address
  const base = `http://${shown}:${address.port}`
  const running = worker === false ? "no worker" : `worker runs ${worker.concurrency} jobs at a time`
  console.log(
    `jobloom serve (${Database.describe(database)}; ${running}; types: ${typeKeys(jobloom)}), port ${address.port}`
  )
  // one write, so a reader that waits for the API line has the whole banner
  console.log([`  API:  ${base}/api`, `  Docs: ${base}/api/docs`, `  Dashboard: ${base}/api/dashboard`].join("\n"))
  const signal = await untilSignal()
  console.log(`${signal}: shutting down`)
  await new Promise<void>((resolve) => {
    server!.close(() => resolve())
    server!.closeIdleConnections()
    // long-lived responses (SSE) would hold the close open: cut them after a second
    setTimeout(() => server!.closeAllConnections(), 1000).unref()
  })
  await jobloom.close()
  console.log("stopped")
  return ExitCode.ok
}

/** `jobloom worker`. */
export const worker = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = Args.parse(argv, workerFlags)
  Args.positionals(parsed, [])
  const types = typesOf(parsed)
  if (types.length === 0) throw new UsageError("--types <module> is required: the module that exports the job types")
  const options = workerOptions(parsed)
  const { jobloom, database } = await open(parsed, { types, worker: options })
  console.log(
    `jobloom worker (${Database.describe(database)}; runs ${options.concurrency} jobs at a time` +
      `${options.queues === undefined ? "" : ` from ${options.queues.join(", ")}`}; types: ${typeKeys(jobloom)})`
  )
  const signal = await untilSignal()
  console.log(`${signal}: shutting down`)
  await jobloom.close()
  console.log("stopped")
  return ExitCode.ok
}

/** `jobloom migrate`: opening the store migrates it. */
export const migrate = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = Args.parse(argv, {})
  Args.positionals(parsed, [])
  const { jobloom, database } = await open(parsed)
  await jobloom.close()
  console.log(`migrated: ${Database.describe(database)}`)
  return ExitCode.ok
}

const statuses = new Set([
  "CREATED",
  "QUEUED",
  "RUNNING",
  "PAUSING",
  "PAUSED",
  "CANCELLING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT"
])

const printJob = (parsed: Args.Parsed, job: Job.Job) =>
  console.log(parsed.values["json"] === true ? JSON.stringify(job, null, 2) : Table.jobDetail(job))

/** `jobloom jobs <subcommand>`. */
export const jobs = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [sub, ...rest] = argv
  const json = { json: { type: "boolean" } } as const
  const withJobloom = async (parsed: Args.Parsed, run: (jobloom: Jobloom.Jobloom) => Promise<void>) => {
    const { jobloom } = await open(parsed)
    try {
      await run(jobloom)
    } finally {
      await jobloom.close()
    }
    return ExitCode.ok
  }
  switch (sub) {
    case "list": {
      const parsed = Args.parse(rest, {
        ...json,
        status: { type: "string", short: "s" },
        type: { type: "string" },
        queue: { type: "string" },
        limit: { type: "string", short: "n" }
      })
      Args.positionals(parsed, [])
      const wanted = Args.list(parsed, "status")?.map((s) => s.toUpperCase())
      const bad = wanted?.find((s) => !statuses.has(s))
      if (bad !== undefined)
        throw new UsageError(`--status: unknown status "${bad}" (one of ${[...statuses].join(", ")})`)
      const limit = Args.positiveInt(parsed, "limit", 50)
      const types = Args.list(parsed, "type")
      const queues = Args.list(parsed, "queue")
      const query: Jobs.ListQuery = {
        limit,
        ...(wanted === undefined ? {} : { statuses: wanted as ReadonlyArray<Job.JobStatus> }),
        ...(types === undefined ? {} : { types }),
        ...(queues === undefined ? {} : { queues })
      }
      return withJobloom(parsed, async (jobloom) => {
        const page = await jobloom.list(query)
        if (parsed.values["json"] === true) console.log(JSON.stringify(page, null, 2))
        else console.log(page.items.length === 0 ? "no jobs" : Table.jobsTable(page.items))
      })
    }
    case "get":
    case "cancel":
    case "retry": {
      const parsed = Args.parse(rest, json)
      const [id] = Args.positionals(parsed, ["id"])
      return withJobloom(parsed, async (jobloom) =>
        printJob(
          parsed,
          await (sub === "get" ? jobloom.get(id!) : sub === "cancel" ? jobloom.cancel(id!) : jobloom.retry(id!))
        )
      )
    }
    case "delete": {
      const parsed = Args.parse(rest, { ...json, force: { type: "boolean" } })
      const [id] = Args.positionals(parsed, ["id"])
      return withJobloom(parsed, async (jobloom) => {
        await jobloom.delete(id!, { force: parsed.values["force"] === true })
        console.log(parsed.values["json"] === true ? JSON.stringify({ deleted: id }) : `deleted ${id}`)
      })
    }
    case undefined:
      throw new UsageError("missing subcommand: list, get, cancel, retry or delete")
    default:
      throw new UsageError(`unknown subcommand "jobs ${sub}": list, get, cancel, retry or delete`)
  }
}
