/**
 * `tsx src/sqlitecost.ts`: what one claim and one settle of one job cost through the SQLite store, and what each
 * trigger adds (issue 22). A store on a fresh temporary file, `--queued` QUEUED rows (default 4,000), then `--n`
 * claims of one job (default 2,000) and as many settles of one job, each timed as a whole inside one Effect.
 *
 * `--drop a,b`: triggers (names without the prefix) dropped before the run, through the store's own client.
 * `--sql "…"`: statements run on the store's client before the run (`;`-separated).
 * `--bare`: also the same claim UPDATE run straight through better-sqlite3 on the file.
 * `--analyze`: `ANALYZE` once the rows are in (statistics, as a host's `PRAGMA optimize` may leave).
 * `--rounds k`: repeat the whole run k times (fresh file each), printing each.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { JobStore } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"
import * as SqlProfile from "./sqlprofile.js"
import { noopRow } from "./noopRow.js"

SqlProfile.instrumentSqlite(Database)

/** The texts of the statements the store prepared (for `--bare`'s exact claim). */
const prepared: Array<string> = []
{
  const proto = Database.prototype as unknown as { prepare: (this: Database.Database, source: string) => unknown }
  const original = proto.prepare
  proto.prepare = function (source: string) {
    prepared.push(source)
    return original.call(this, source)
  }
}

const args = process.argv.slice(2).filter((a) => a !== "--")
const flag = (name: string): string | undefined => {
  const k = args.indexOf(`--${name}`)
  return k === -1 ? undefined : args[k + 1]
}
const queuedCount = Number(flag("queued") ?? 4000)
const n = Number(flag("n") ?? 2000)
const drops = (flag("drop") ?? "").split(",").filter((s) => s !== "")
const extraSql = (flag("sql") ?? "").split(";").filter((s) => s.trim() !== "")
const rounds = Number(flag("rounds") ?? 1)
const bare = args.includes("--bare")
const TOKEN = "cost"

const row = (queue: string, now: number): JobStore.NewJobRow => noopRow(queue, now)

const once = async () => {
  const file = path.join(os.tmpdir(), `sqlitecost_${randomBytes(4).toString("hex")}.db`)
  const client = SqliteClient.layer({ filename: file })
  const layer = Layer.merge(SqliteJobStore.layerClient(), client).pipe(Layer.provide(client))
  const runtime = ManagedRuntime.make(Layer.merge(layer, client))
  try {
    const out = await runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const sql = yield* SqlClient.SqlClient
        yield* sql`PRAGMA synchronous = NORMAL`
        for (const name of drops) yield* sql.unsafe(`DROP TRIGGER "jobloom_${name}"`)
        for (const statement of extraSql) yield* sql.unsafe(statement)
        const now = Date.now()
        for (let i = 0; i < queuedCount; i += 1000) {
          yield* store.insert({
            jobs: Array.from({ length: Math.min(1000, queuedCount - i) }, () => row("q", now - 1))
          })
        }
        if (args.includes("--analyze")) yield* sql`ANALYZE`
        const options = (k: number) => ({
          token: TOKEN,
          workerId: "w",
          now: now + k,
          leaseMs: 60_000,
          limit: 1,
          queues: ["q"],
          typeLimits: {},
          queueLimits: {}
        })
        const ids: Array<string> = []
        SqlProfile.reset()
        const t0 = performance.now()
        for (let k = 0; k < n; k++) {
          const rows = yield* store.claim(options(k))
          ids.push(rows[0]!.id)
        }
        const t1 = performance.now()
        SqlProfile.report("claims", n)
        SqlProfile.reset()
        for (const id of ids) {
          yield* store.settle({
            workerId: "w",
            now: now + n,
            settlements: [{ _tag: "Complete", id, token: TOKEN, progress: null, result: null }]
          })
        }
        const t2 = performance.now()
        SqlProfile.report("settles", n)
        return { claimUs: ((t1 - t0) * 1000) / n, settleUs: ((t2 - t1) * 1000) / n }
      })
    )
    let bareUs: number | undefined
    if (bare) {
      const db = new Database(file)
      db.pragma("synchronous = NORMAL")
      for (const statement of extraSql) db.exec(statement)
      const text = prepared.find((s) => s.includes("SET status = 'RUNNING'"))!
      if (args.includes("--print")) console.error(text)
      const stmt = db.prepare(text).raw(true)
      const t = Date.now() + 10_000
      const s0 = performance.now()
      for (let k = 0; k < Math.min(n, queuedCount - n); k++) stmt.all(t, "w", t + 60_000, TOKEN, t, "q", t, 1)
      bareUs = ((performance.now() - s0) * 1000) / Math.min(n, queuedCount - n)
      db.close()
    }
    return { ...out, bareUs }
  } finally {
    await runtime.dispose()
    for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true })
  }
}

const main = async () => {
  for (let r = 0; r < rounds; r++) {
    const result = await once()
    console.log(
      JSON.stringify({
        drop: drops.join(",") || "-",
        sql: extraSql.join(";") || "-",
        claimUs: Math.round(result.claimUs),
        settleUs: Math.round(result.settleUs),
        ...(result.bareUs !== undefined ? { bareClaimUs: Math.round(result.bareUs) } : {})
      })
    )
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
