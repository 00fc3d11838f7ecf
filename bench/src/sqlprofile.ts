/**
 * A statement profiler for the drivers, on when `BENCH_SQL_PROFILE=1`: counts every SQL statement a process runs and
 * the time it takes (SQLite: time inside better-sqlite3, i.e. SQLite's own work; PostgreSQL: time from send to reply,
 * i.e. the round trip and the server's work), and prints the statements by total time, with the median time of one
 * statement, to stderr on `report`.
 */
import type BetterSqlite3 from "better-sqlite3"
import { performance } from "node:perf_hooks"
import type pg from "pg"

/** Whether profiling is on in this process. */
export const enabled = process.env.BENCH_SQL_PROFILE === "1"

const stats = new Map<string, { count: number; ms: number; samples: Array<number> }>()

const add = (text: string, ms: number) => {
  const key = text.replace(/\s+/g, " ").trim().slice(0, 160)
  const entry = stats.get(key)
  if (entry === undefined) stats.set(key, { count: 1, ms, samples: [ms] })
  else {
    entry.count++
    entry.ms += ms
    entry.samples.push(ms)
  }
}

const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

/** Forgets what was counted so far (call when the measured run starts). */
export const reset = (): void => stats.clear()

/** Prints the statements by total time, with count and time per job of `jobs`. */
export const report = (label: string, jobs: number): void => {
  if (!enabled) return
  const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms)
  const total = rows.reduce((n, [, s]) => n + s.ms, 0)
  process.stderr.write(`\n[sql profile] ${label}: ${total.toFixed(0)} ms in statements, ${jobs} jobs\n`)
  for (const [text, s] of rows.slice(0, 20)) {
    process.stderr.write(
      `${s.ms.toFixed(0).padStart(7)} ms ${((1000 * s.ms) / jobs).toFixed(1).padStart(7)} µs/job ${String(s.count).padStart(7)}× median ${median(s.samples).toFixed(2).padStart(6)} ms  ${text}\n`
    )
  }
}

/** Times every statement better-sqlite3 runs in this process. */
export const instrumentSqlite = (Database: typeof BetterSqlite3): void => {
  if (!enabled) return
  const probe = new Database(":memory:")
  const proto = Object.getPrototypeOf(probe.prepare("select 1")) as Record<string, unknown>
  probe.close()
  for (const method of ["run", "all", "get", "iterate"]) {
    const original = proto[method] as (this: { source: string }, ...args: Array<unknown>) => unknown
    proto[method] = function (this: { source: string }, ...args: Array<unknown>) {
      const start = performance.now()
      try {
        return original.apply(this, args)
      } finally {
        add(this.source, performance.now() - start)
      }
    }
  }
}

/** Times every query node-postgres sends in this process (round trip). */
export const instrumentPg = (module: typeof pg): void => {
  if (!enabled) return
  const proto = module.Client.prototype as unknown as Record<string, unknown>
  const original = proto.query as (this: unknown, ...args: Array<unknown>) => unknown
  proto.query = function (this: unknown, ...args: Array<unknown>) {
    const config = args[0] as string | { text?: string } | undefined
    const text = typeof config === "string" ? config : (config?.text ?? "(submittable)")
    const start = performance.now()
    const done = () => add(text, performance.now() - start)
    const last = args.length - 1
    if (typeof args[last] === "function") {
      // callback style (what @effect/sql-pg uses)
      const callback = args[last] as (...a: Array<unknown>) => unknown
      args[last] = (...a: Array<unknown>) => {
        done()
        return callback(...a)
      }
      return original.apply(this, args)
    }
    const result = original.apply(this, args)
    if (result !== null && typeof result === "object" && "then" in result) {
      void (result as Promise<unknown>).then(done, done)
    }
    return result
  }
}
