/**
 * `pnpm --filter @jobloom/bench scale` (also a step of `pnpm bench`, tiny under `--quick`): cost as the history grows,
 * on PostgreSQL and SQLite. Finished jobs (with their log lines and results, as the stores write them) are generated
 * by SQL (`scale/history.ts`: seconds for a million), then, at each size:
 * - the drain rate of `--n` new no-op jobs, the median of `--drains` drains each after a checkpoint, with the
 *   worker's claim and settle time per job measured from the client side (`scale/drain.ts`); it must not fall as
 *   the history grows. Each size has a schema (file) of its own and the drains go round the sizes, so the machine's
 *   noise falls on every size alike;
 * - (at the largest size) the latency of the API's reads through the Hono router in process (`app.request`, so the
 *   whole path is measured): the first page, filtered pages, active jobs with a total, a finishedAt sort, the stats,
 *   a batch and the dashboard's list query. Targets: p50 < 20 ms for list pages, < 50 ms for stats.
 *
 * Options: `--store postgres,sqlite` (both by default), `--sizes 0,100000,1000000` (finished jobs present per
 * measurement), `--n` new jobs per drain (10,000), `--drains` per size (3), `--reps` requests per read (30),
 * `--quick` (sizes 0,2000, n 500, one drain, reps 5: the CI path), `--explain` (the plans of the reads' main
 * statements at the largest size; PostgreSQL's with ANALYZE and BUFFERS, before and after migration 0009),
 * `--strip` (drops what migrations 0009 / 0007 add to every write, then measures drains only: their cost),
 * `--keep` (leaves the schemas or files; `--schema name` / `--file path` name them, `<name>_<size>` /
 * `<path>-<size>.db`, and reuse them: a history is not generated again).
 */
import { execSync } from "node:child_process"
import { loadavg, cpus, tmpdir } from "node:os"
import path from "node:path"
import { Jobloom } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { Hono } from "hono"
import type { Drained } from "./scale/drain.js"
import { drain } from "./scale/drain.js"
import type { History } from "./scale/history.js"
import { postgres, sqlite } from "./scale/history.js"
import { fmt, percentile, summarize } from "./stats.js"

const args = process.argv.slice(2)
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const quick = args.includes("--quick")
const stores = flag("--store", "postgres,sqlite").split(",")
const sizes = flag("--sizes", quick ? "0,2000" : "0,100000,1000000")
  .split(",")
  .map(Number)
const drainN = Number(flag("--n", quick ? "500" : "10000"))
const drains = Number(flag("--drains", quick ? "1" : "3"))
const reps = Number(flag("--reps", quick ? "5" : "30"))
const explain = args.includes("--explain")
const strip = args.includes("--strip")
const keep = args.includes("--keep")
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** The reads measured, as the API's paths; `{batch}` is one generated batch's id. */
const reads: ReadonlyArray<{ readonly name: string; readonly path: string; readonly target: number }> = [
  { name: "first page", path: "/jobs", target: 20 },
  { name: "status=FAILED&type=ml", path: "/jobs?status=FAILED&type=ml", target: 20 },
  // no ml job timed out in the generated history: the default order finds nothing to stop at
  { name: "status=TIMED_OUT&type=ml (none)", path: "/jobs?status=TIMED_OUT&type=ml", target: 20 },
  { name: "owner=", path: "/jobs?owner=owner-7", target: 20 },
  { name: "status=active&withTotal", path: "/jobs?status=active&withTotal=true", target: 20 },
  { name: "status=QUEUED,RUNNING&limit=1", path: "/jobs?status=QUEUED,RUNNING&limit=1", target: 20 },
  { name: "sort=finishedAt", path: "/jobs?sort=finishedAt", target: 20 },
  { name: "sort=finishedAt, page 2", path: "{next:/jobs?sort=finishedAt}", target: 20 },
  { name: "withTotal=true", path: "/jobs?withTotal=true", target: 20 },
  { name: "dashboard list", path: "/jobs?sort=createdAt&order=desc&limit=50", target: 20 },
  { name: "GET /jobs/stats", path: "/jobs/stats", target: 50 },
  { name: "GET /jobs/stats?type=ml", path: "/jobs/stats?type=ml", target: 50 },
  // a filter the counters have no column for: counted row by row
  { name: "GET /jobs/stats?owner=owner-7", path: "/jobs/stats?owner=owner-7", target: 50 },
  { name: "GET /batches/{id}", path: "/batches/{batch}", target: 20 }
]

/** p50 and p95 of `reps` requests of `path` (after one warm-up), failing on any non-200 answer. */
const time = async (app: Hono, path: string) => {
  const once = async () => {
    const started = performance.now()
    const response = await app.request(`/api${path}`)
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status}`)
    return performance.now() - started
  }
  await once()
  const samples: Array<number> = []
  for (let i = 0; i < reps; i++) samples.push(await once())
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) }
}

/** The path of a read: `{batch}` filled in, `{next:path}` the second page of `path` (its cursor read first). */
const resolve = async (app: Hono, read: string, batch: string) => {
  const next = /^\{next:(.*)\}$/.exec(read)
  if (next === null) return read.replace("{batch}", batch)
  const response = await app.request(`/api${next[1]}`)
  const body = (await response.json()) as { readonly nextCursor?: string | null }
  const cursor = body.nextCursor
  return typeof cursor === "string" ? `${next[1]}&cursor=${encodeURIComponent(cursor)}` : undefined
}

/** One store at one size: its history, and the API over it. */
interface Sized {
  readonly size: number
  readonly history: History
  readonly jobloom: Jobloom.Jobloom
  readonly app: Hono
  readonly runs: Array<Drained>
}

/**
 * Every measurement of one store, as table rows. Each size has a schema (or file) of its own, and the drains go
 * round the sizes (0, 100k, 1M, 0, 100k, 1M, …), so a noisy spell of a shared machine falls on every size alike.
 */
const measure = async (make: (size: number) => Promise<History>): Promise<Array<Array<string>>> => {
  const table: Array<Array<string>> = []
  const all: Array<Sized> = []
  try {
    for (const size of sizes) {
      const history = await make(size)
      // the store's migrations run here, before any generation
      const jobloom = await Jobloom.make({ store: history.layer(true), worker: false })
      const app = new Hono()
      app.route("/api", JobsApi.make({ runtime: jobloom.runtime }))
      all.push({ size, history, jobloom, app, runs: [] })
      if (strip) await history.strip()
      const present = await history.present()
      const started = performance.now()
      if (size > present) await history.generate(present, size)
      const seconds = (performance.now() - started) / 1000
      if (size > present)
        console.log(`scale ${history.name}: ${size.toLocaleString("en-US")} generated in ${fmt(seconds)} s`)
    }
    for (let i = 0; i < drains; i++)
      for (const sized of all) {
        await sized.history.checkpoint()
        sized.runs.push(await drain(sized.history, drainN))
        // the drained jobs leave the table, so each drain starts from its finished history alone
        await sized.history.dropDrained()
      }
    for (const { history, runs, size } of all) {
      const median = (pick: (run: Drained) => number) => fmt(summarize(runs.map(pick)).median)
      const rates = summarize(runs.map((run) => run.rate))
      const perJob = `claim ${median((r) => r.claimPerJob)} µs/job (call p50 ${median((r) => r.claimP50)} ms), settle ${median((r) => r.settlePerJob)} µs/job (call p50 ${median((r) => r.settleP50)} ms)`
      console.log(
        `scale ${history.name} ${size.toLocaleString("en-US")} finished jobs: drain ${fmt(rates.median)} jobs/s ` +
          `(median of ${rates.n}: ${runs.map((run) => fmt(run.rate)).join(", ")}), ${perJob}`
      )
      table.push([
        `drain ${drainN.toLocaleString("en-US")} @ ${size.toLocaleString("en-US")}`,
        `${fmt(rates.median)} jobs/s`,
        `${fmt(rates.min)}–${fmt(rates.max)}`,
        `claim ${median((r) => r.claimPerJob)} µs/job, settle ${median((r) => r.settlePerJob)} µs/job`
      ])
    }
    if (strip) return table
    const largest = all.reduce((a, b) => (b.size > a.size ? b : a))
    const present = await largest.history.present()
    const batch = present >= 100 ? "batch-1" : "none"
    for (const read of reads) {
      if (batch === "none" && read.path.includes("{batch}")) continue
      const path = await resolve(largest.app, read.path, batch)
      if (path === undefined) continue
      const { p50, p95 } = await time(largest.app, path)
      table.push([
        `${read.name} @ ${present.toLocaleString("en-US")}`,
        `${fmt(p50)} ms`,
        `${fmt(p95)} ms`,
        `< ${read.target} ms: ${p50 < read.target ? "met" : "MISSED"}`
      ])
    }
    if (explain) console.log(`\n${await largest.history.explain()}`)
    console.log(
      `\n${largest.history.name} ${await largest.history.version()}, load average now ${loadavg()[0]!.toFixed(2)}`
    )
    return table
  } finally {
    for (const { history, jobloom } of all) {
      await jobloom.close()
      await history.close(keep)
    }
  }
}

const main = async () => {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")
  const commit = (() => {
    try {
      return execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim()
    } catch {
      return "?"
    }
  })()
  console.log(
    `scale: ${new Date().toISOString()}, commit ${commit}, ${cpus().length} cores, load average ${load}, ` +
      `Node ${process.version}; sizes ${sizes.join(",")}, ${drains} drain(s) of ${drainN} per size, ${reps} requests per read`
  )
  for (const name of stores) {
    const file = flag("--file", path.join(tmpdir(), `jobloom-bench-scale-${process.pid}`))
    const schema = flag("--schema", `jobloom_bench_scale_${process.pid}`)
    const table = await measure((size) =>
      name === "sqlite" ? sqlite(`${file}-${size}.db`) : postgres(databaseUrl, `${schema}_${size}`)
    )
    const width = table.reduce((w, row) => Math.max(w, row[0]!.length), 0)
    console.log(`${"measurement".padEnd(width)}  p50 / rate     p95 / range    target`)
    for (const row of table)
      console.log(`${row[0]!.padEnd(width)}  ${row[1]!.padEnd(13)}  ${row[2]!.padEnd(13)}  ${row[3]}`)
    console.log("")
  }
}

await main()
