/** The bench's report: the metrics, the samples of each round, and the Markdown table with ratios and targets. */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { type EngineName, JOBLOOM, type Options, PEERS } from "./options.js"
import { fmt, summarize } from "./stats.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/** The metrics, their units and which way is better. */
export const METRICS = {
  "bulk-enqueue": { label: "bulk enqueue", unit: "jobs/s", higher: true },
  "enqueue-one": { label: "one-at-a-time enqueue", unit: "jobs/s", higher: true },
  "drain-c10": { label: "drain, concurrency 10", unit: "jobs/s", higher: true },
  drain: { label: "drain, best setting", unit: "jobs/s", higher: true },
  "latency-p50": { label: "latency p50", unit: "ms", higher: false },
  "latency-p95": { label: "latency p95", unit: "ms", higher: false },
  "latency-p99": { label: "latency p99", unit: "ms", higher: false },
  "cpu-c10": { label: "worker CPU per job, drain c10", unit: "µs", higher: false },
  "cpu-drain": { label: "worker CPU per job, drain best", unit: "µs", higher: false },
  "rss-c10": { label: "worker peak RSS, drain c10", unit: "MB", higher: false },
  "rss-drain": { label: "worker peak RSS, drain best", unit: "MB", higher: false },
  "rss-latency": { label: "worker peak RSS, latency run", unit: "MB", higher: false }
} as const
export type Metric = keyof typeof METRICS

/** Every sample of the run, by `"<engine> <metric>"`. */
export type Samples = Map<string, Array<number>>

/** Records one sample, and its JSON line. */
export const record = (
  samples: Samples,
  engine: EngineName,
  metric: Metric,
  rep: number,
  value: number,
  jsonLines: Array<string>
) => {
  const key = `${engine} ${metric}`
  samples.set(key, [...(samples.get(key) ?? []), value])
  jsonLines.push(JSON.stringify({ kind: "sample", engine, metric, rep, value, unit: METRICS[metric].unit }))
}

/** The commit the drivers were built from, marked `+changes` when the work tree differs from it. */
export const gitRevision = (): string => {
  try {
    const git = (args: ReadonlyArray<string>) =>
      execFileSync("git", args, { cwd: here, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== ""
    return `${git(["rev-parse", "--short", "HEAD"])}${dirty ? " +changes" : ""}`
  } catch {
    return "unknown (not a git work tree)"
  }
}

/** The installed version of an engine's package (workspace packages are linked into bench/node_modules). */
const engineVersion = (engine: EngineName): string => {
  const pkg: Record<EngineName, string> = {
    "jobloom-postgres": "@jobloom/store-postgres",
    "jobloom-sqlite": "@jobloom/store-sqlite",
    "graphile-worker": "graphile-worker",
    "pg-boss": "pg-boss"
  }
  try {
    const json = JSON.parse(readFileSync(path.resolve(here, "../node_modules", pkg[engine], "package.json"), "utf8"))
    return String(json.version)
  } catch {
    return "?"
  }
}

/** The report in Markdown: machine, tree, the table of medians, ratios jobloom/peer, targets, and the JSON lines. */
export const render = (
  options: Options,
  samples: Samples,
  started: Date,
  revision: string,
  pgVersion: string,
  jsonLines: Array<string>
): string => {
  const lines: Array<string> = []
  const cpus = os.cpus()
  lines.push(`## jobloom benchmark, ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`)
  lines.push("")
  lines.push(
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${fmt(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}; Node ${process.version}; PostgreSQL ${pgVersion}.`
  )
  lines.push(`Tree: ${revision} (the sources the drivers were built from).`)
  lines.push(
    `Engines: ${options.engines.map((e) => `${e} ${engineVersion(e)}`).join(", ")}. N = ${options.n}, ${options.reps} round(s), ${options.samples} latency samples ${options.spacingMs} ms apart, ${options.each} jobs enqueued one at a time, bulk batches of ${options.batch}.`
  )
  lines.push("")
  lines.push("Median of the rounds, (min–max) below it when there are several.")
  lines.push("")
  lines.push(`| metric | ${options.engines.join(" | ")} |`)
  lines.push(`|---|${options.engines.map(() => "---:").join("|")}|`)
  for (const [metric, info] of Object.entries(METRICS) as Array<[Metric, (typeof METRICS)[Metric]]>) {
    const cells = options.engines.map((engine) => {
      const s = summarize(samples.get(`${engine} ${metric}`) ?? [])
      jsonLines.push(JSON.stringify({ kind: "summary", engine, metric, unit: info.unit, ...s }))
      return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median)
    })
    lines.push(`| ${info.label} (${info.unit}) | ${cells.join(" | ")} |`)
  }
  lines.push("")
  const ratioLines: Array<string> = []
  const median = (engine: EngineName, metric: Metric) => summarize(samples.get(`${engine} ${metric}`) ?? []).median
  const ratioMetrics: ReadonlyArray<Metric> = [
    "drain",
    "drain-c10",
    "latency-p50",
    "latency-p99",
    "bulk-enqueue",
    "enqueue-one",
    "cpu-drain"
  ]
  for (const a of JOBLOOM.filter((e) => options.engines.includes(e))) {
    for (const b of PEERS.filter((e) => options.engines.includes(e))) {
      for (const metric of ratioMetrics) {
        const value = median(a, metric) / median(b, metric)
        ratioLines.push(`ratio ${a}/${b} ${metric}: ${value.toFixed(2)}`)
        jsonLines.push(JSON.stringify({ kind: "ratio", a, b, metric, value }))
      }
    }
  }
  if (ratioLines.length > 0) {
    lines.push("Ratios jobloom/peer of the medians (above 1 is better for jobs/s, below 1 is better for latency):")
    lines.push("")
    lines.push("```")
    lines.push(...ratioLines)
    lines.push("```")
    lines.push("")
  }
  const targets: Array<string> = []
  const check = (name: string, ok: boolean, detail: string) => {
    targets.push(`- ${ok ? "met" : "MISSED"}: ${name} (${detail})`)
    jsonLines.push(JSON.stringify({ kind: "target", name, ok, detail }))
  }
  const has = (e: EngineName) => options.engines.includes(e)
  // issue 22's targets, each a ratio against graphile-worker in this run (or an absolute bound)
  const gw = (metric: Metric) => median("graphile-worker", metric)
  if (has("jobloom-postgres")) {
    const pg = (metric: Metric) => median("jobloom-postgres", metric)
    if (has("graphile-worker")) {
      const drain = pg("drain") / gw("drain")
      check("PostgreSQL drain (best setting) ≥ 1.0× graphile-worker's best", drain >= 1, `${drain.toFixed(2)}×`)
      check(
        "PostgreSQL drain (best setting) ≥ 1.5× graphile-worker's best (the goal)",
        drain >= 1.5,
        `${drain.toFixed(2)}×`
      )
      const bulk = pg("bulk-enqueue") / gw("bulk-enqueue")
      check("PostgreSQL bulk enqueue ≥ graphile-worker's", bulk >= 1, `${bulk.toFixed(2)}×`)
      const one = pg("enqueue-one") / gw("enqueue-one")
      check("PostgreSQL one-at-a-time enqueue ≥ graphile-worker's", one >= 1, `${one.toFixed(2)}×`)
      const p50 = pg("latency-p50")
      check(
        "PostgreSQL latency p50 ≤ graphile-worker's",
        p50 <= gw("latency-p50"),
        `${fmt(p50)} ms vs ${fmt(gw("latency-p50"))} ms`
      )
    }
    const p99 = pg("latency-p99")
    check("PostgreSQL latency p99 ≤ 10 ms", p99 <= 10, `${fmt(p99)} ms`)
  }
  if (has("jobloom-sqlite") && has("graphile-worker")) {
    const r = median("jobloom-sqlite", "drain") / gw("drain")
    check("SQLite drain ≥ 1.5× graphile-worker's PostgreSQL best", r >= 1.5, `${r.toFixed(2)}×`)
  }
  for (const engine of JOBLOOM.filter(has)) {
    if (has("graphile-worker")) {
      const cpu = median(engine, "cpu-drain")
      check(
        `${engine} worker CPU per job (best setting) ≤ graphile-worker's`,
        cpu <= gw("cpu-drain"),
        `${fmt(cpu)} µs vs ${fmt(gw("cpu-drain"))} µs`
      )
    }
    const measured = [median(engine, "rss-c10"), median(engine, "rss-drain")].filter(Number.isFinite)
    if (measured.length === 0) continue
    const rss = Math.max(...measured)
    check(`${engine} worker peak RSS ≤ 120 MB while draining`, rss <= 120, `${fmt(rss)} MB`)
  }
  if (targets.length > 0) {
    lines.push("Targets:")
    lines.push("")
    lines.push(...targets)
    lines.push("")
  }
  lines.push("JSON lines:")
  lines.push("")
  lines.push("```jsonl")
  lines.push(...jsonLines)
  lines.push("```")
  lines.push("")
  return lines.join("\n")
}
