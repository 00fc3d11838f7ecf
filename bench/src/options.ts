/** The options of `pnpm bench` (see `main.ts`), and the engines it can run. */
import { existsSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

/** The engines, in the table's column order. */
export const ALL_ENGINES = ["jobloom-postgres", "jobloom-sqlite", "graphile-worker", "pg-boss"] as const
export type EngineName = (typeof ALL_ENGINES)[number]
/** The engines that are jobloom, and its peers: the ratios compare each of the first with each of the second. */
export const JOBLOOM: ReadonlyArray<EngineName> = ["jobloom-postgres", "jobloom-sqlite"]
export const PEERS: ReadonlyArray<EngineName> = ["graphile-worker", "pg-boss"]

/** One run's options. */
export interface Options {
  readonly quick: boolean
  readonly n: number
  readonly reps: number
  readonly samples: number
  readonly spacingMs: number
  readonly each: number
  readonly batch: number
  readonly engines: ReadonlyArray<EngineName>
  readonly cpuProf: ReadonlyArray<string>
  readonly json: string | null
  readonly skip: ReadonlyArray<string>
  readonly databaseUrl: string
  /** jobloom's drivers trace (`@effect/opentelemetry`, spans dropped after batching): the cost of tracing. */
  readonly tracing: boolean
  /** jobloom's drivers record no metric: the cost of metrics, against a run without it. */
  readonly metrics: boolean
}

/** Reads the command line; an unknown option or a bad number throws. */
export const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const flags = new Map<string, string>()
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!
    if (arg === "--") continue
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`)
    const [key, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
    if (key === "quick" || key === "tracing" || key === "no-metrics") flags.set(key, "true")
    else flags.set(key, inline ?? argv[++k] ?? "")
  }
  const known = [
    ...["quick", "n", "reps", "samples", "spacing", "each", "batch", "engines", "cpu-prof", "json", "skip"],
    ...["tracing", "no-metrics"]
  ]
  for (const key of flags.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}`)
  const quick = flags.has("quick")
  const int = (key: string, full: number, small: number) => {
    const raw = flags.get(key)
    const value = raw === undefined ? (quick ? small : full) : Number(raw)
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a positive integer`)
    return value
  }
  // by default every engine whose driver is present
  const present = ALL_ENGINES.filter((e) => existsSync(path.join(here, "engines", `${e}.ts`)))
  const engines = (flags.get("engines")?.split(",") ?? present).map((e) => e.trim())
  for (const e of engines) if (!ALL_ENGINES.includes(e as EngineName)) throw new Error(`unknown engine ${e}`)
  return {
    quick,
    n: int("n", 20_000, 500),
    reps: int("reps", 3, 1),
    samples: int("samples", 500, 30),
    spacingMs: int("spacing", 10, 10),
    each: int("each", 2_000, 100),
    batch: int("batch", 1_000, 250),
    engines: ALL_ENGINES.filter((e) => engines.includes(e)),
    cpuProf: flags.get("cpu-prof")?.split(",") ?? [],
    json: flags.get("json") ?? null,
    skip: flags.get("skip")?.split(",") ?? [],
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    tracing: flags.has("tracing"),
    metrics: !flags.has("no-metrics")
  }
}
