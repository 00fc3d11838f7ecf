/**
 * pg-drain's cost probe (issue 22): the server time of the claim and settle functions of jobloom-postgres for batches
 * of `--batch` jobs, on a store of its own (fresh schema), without the engine: `--n` jobs inserted, then claimed and
 * settled (Complete, with progress, no log lines) `--batch` at a time, each call timed from send to reply on one
 * connection, and by the server process's CPU time (when the server runs on this machine). Prints median and min. `--explain` prints auto_explain's plans (ANALYZE, BUFFERS, WAL) of
 * the statements inside one claim and one settle, nested ones included. `--disable t1,t2` disables those triggers of
 * the jobs table first (to price them; the counts then go wrong, which is why it is a probe and not a setting);
 * `--claim-columns "id"` reads only those columns of the claim's rows (the price of sending them all);
 * `--setup "<sql>"` runs statements first (`$S` is the quoted schema), e.g. to put back a variant of a trigger.
 *
 *   flock /work/wt/bench.lock pnpm --filter @jobloom/bench exec tsx src/pgcost.ts --n 20000 --batch 500 [--explain]
 */
import { JobStore } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { performance } from "node:perf_hooks"
import { readFileSync } from "node:fs"
import pg from "pg"
import { noopRow } from "./noopRow.js"

const makeRow = (overrides: Partial<JobStore.JobRow>): JobStore.JobRow =>
  noopRow("default", 0, { name: "pgcost job", params: "{}", maxAttempts: 3, ...overrides })

const args = new Map<string, string>()
for (let k = 2; k < process.argv.length; k++) {
  const a = process.argv[k]!
  if (!a.startsWith("--")) continue
  const next = process.argv[k + 1]
  if (next === undefined || next.startsWith("--")) args.set(a.slice(2), "true")
  else args.set(a.slice(2), (k++, next))
}
const n = Number(args.get("n") ?? 20_000)
const batch = Number(args.get("batch") ?? 500)
const explain = args.has("explain")
const disable = (args.get("disable") ?? "").split(",").filter((t) => t !== "")
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `pgcost_${Math.random().toString(36).slice(2, 10)}`
const queue = "pgcost"
const now = Date.now()

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const main = Effect.gen(function* () {
  const context = yield* Layer.build(PgJobStore.layer({ url, schema }))
  const store = Context.get(context, JobStore.JobStore)
  for (let i = 0; i < n; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, n - i) }, () =>
      makeRow({ queue, runAt: now - 1000, createdAt: now - 1000, updatedAt: now - 1000, queuedAt: now - 1000 })
    )
    yield* store.insert({ jobs })
  }
  return yield* Effect.promise(() => probe())
})

const probe = async () => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const s = `"${schema}"`
    await client.query(`ANALYZE ${s}.jobloom_jobs`)
    for (const t of disable) await client.query(`ALTER TABLE ${s}.jobloom_jobs DISABLE TRIGGER "${t}"`)
    // --setup "<sql>": statements run first, `$S` standing for the quoted schema (an experiment's variant)
    if (args.has("setup")) await client.query(args.get("setup")!.replaceAll("$S", s))
    const notices: Array<string> = []
    client.on("notice", (m) => notices.push(m.message ?? ""))
    const claims: Array<number> = []
    const settles: Array<number> = []
    // the server process's CPU time (ns on a CPU, /proc/<pid>/schedstat): what the load of other processes moves far
    // less than the time to the reply
    const pid = Number((await client.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid)
    const cpuNs = () => Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0])
    const claimCpus: Array<number> = []
    const settleCpus: Array<number> = []
    let round = 0
    for (;;) {
      const first = explain && round === 1
      if (first) {
        await client.query(`LOAD 'auto_explain'`)
        await client.query(`SET auto_explain.log_min_duration = 0`)
        await client.query(`SET auto_explain.log_analyze = on`)
        await client.query(`SET auto_explain.log_buffers = on`)
        await client.query(`SET auto_explain.log_wal = on`)
        await client.query(`SET auto_explain.log_nested_statements = on`)
        await client.query(`SET auto_explain.log_timing = on`)
        await client.query(`SET client_min_messages = log`)
      }
      const token = `t${round}`
      let c = cpuNs()
      let t = performance.now()
      const claimed = await client.query(
        `SELECT ${args.get("claim-columns") ?? "*"} FROM ${s}.jobloom_claim($1::text, $2::text, $3::int8, $4::int8, $5::int4, $6::text[], $7::text[],
          $8::json, $9::json, $10::boolean)`,
        ["w1", token, now, 60_000, batch, [queue], null, "{}", "{}", true]
      )
      const claimMs = performance.now() - t
      const claimCpu = (cpuNs() - c) / 1e6
      if (claimed.rows.length === 0) break
      const progress = JSON.stringify({ summary: { status: "SUCCEEDED", progress: 1 }, stages: [], items: null })
      const rows = claimed.rows.map((r) => ({
        worker_id: "w1",
        token,
        at: now + round,
        kind: "Complete",
        id: r.id,
        progress
      }))
      c = cpuNs()
      t = performance.now()
      const settled = await client.query(
        `SELECT * FROM ${s}.jobloom_settle($1::json, $2::boolean, $3::text[], $4::text[], $5::json, $6::int4)`,
        [JSON.stringify(rows), true, [], [], null, 0]
      )
      const settleMs = performance.now() - t
      const settleCpu = (cpuNs() - c) / 1e6
      if (settled.rows.length !== claimed.rows.length) throw new Error("settle applied fewer rows")
      if (first) {
        await client.query(`SET client_min_messages = notice`)
        await client.query(`SET auto_explain.log_min_duration = -1`)
        console.log(notices.join("\n\n"))
      } else if (claimed.rows.length === batch) {
        claims.push(claimMs)
        settles.push(settleMs)
        claimCpus.push(claimCpu)
        settleCpus.push(settleCpu)
      }
      round++
    }
    const f = (xs: Array<number>) =>
      `median ${median(xs).toFixed(2)} ms (${((1000 * median(xs)) / batch).toFixed(1)} µs/job), min ${Math.min(...xs).toFixed(2)} ms`
    console.log(`pgcost n=${n} batch=${batch} rounds=${claims.length} disabled=[${disable.join(",")}]`)
    console.log(`  claim  ${f(claims)}`)
    console.log(`  settle ${f(settles)}`)
    console.log(`  server CPU: claim ${f(claimCpus)}; settle ${f(settleCpus)}`)
  } finally {
    await client.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined)
    await client.end()
  }
}

Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
