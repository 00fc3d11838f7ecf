/**
 * `tsx src/sqlitecost-bare.ts`: the store's claim statement run straight through better-sqlite3, in variants (issue
 * 22). The store migrates a template file and inserts `--queued` QUEUED rows (default 4,000); each variant runs on a
 * fresh copy: its set-up SQL, then `--n` claims of one job (default 2,000), timed. `--only a,b` runs some variants.
 * `--rounds k` alternates the variants k times.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { JobStore } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { randomBytes } from "node:crypto"
import { copyFileSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"
import { noopRow } from "./noopRow.js"

const args = process.argv.slice(2).filter((a) => a !== "--")
const flag = (name: string): string | undefined => {
  const k = args.indexOf(`--${name}`)
  return k === -1 ? undefined : args[k + 1]
}
const queuedCount = Number(flag("queued") ?? 4000)
const n = Number(flag("n") ?? 2000)
const rounds = Number(flag("rounds") ?? 1)
const only = flag("only")?.split(",")
const limit = Number(flag("limit") ?? 1)

const prepared: Array<string> = []
{
  const proto = Database.prototype as unknown as { prepare: (this: Database.Database, source: string) => unknown }
  const original = proto.prepare
  proto.prepare = function (source: string) {
    prepared.push(source)
    return original.call(this, source)
  }
}

const row = (now: number): JobStore.NewJobRow => noopRow("default", now)

const template = async (file: string) => {
  const client = SqliteClient.layer({ filename: file })
  const runtime = ManagedRuntime.make(SqliteJobStore.layerClient().pipe(Layer.provide(client)))
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const now = Date.now()
      for (let i = 0; i < queuedCount; i += 1000) {
        yield* store.insert({ jobs: Array.from({ length: Math.min(1000, queuedCount - i) }, () => row(now - 1)) })
      }
      // one claim, so the claim's text is prepared
      yield* store.claim({
        token: "t",
        workerId: "w",
        now,
        leaseMs: 1,
        limit: 1,
        queues: ["q"],
        typeLimits: {},
        queueLimits: {}
      })
    })
  )
  await runtime.dispose()
}

interface Variant {
  readonly setup?: ReadonlyArray<string>
  readonly text: (claim: string) => string
}

const main = async () => {
  const dir = os.tmpdir()
  const base = path.join(dir, `sqlitecost_bare_${randomBytes(4).toString("hex")}.db`)
  await template(base)
  const claim = prepared.find((s) => s.includes("SET status = 'RUNNING'"))!
  const returningId = (s: string) => s.replace(/RETURNING[\s\S]*$/, "RETURNING id")
  const noReturning = (s: string) => s.replace(/RETURNING[\s\S]*$/, "")
  const variants: Record<string, Variant> = {
    store: { text: (s) => s },
    returningId: { text: returningId },
    noReturning: { text: noReturning },
    noEndTrigger: { setup: [`DROP TRIGGER jobloom_jobs_dependency_end`], text: (s) => s },
    noTriggers: {
      setup: [
        `DROP TRIGGER jobloom_jobs_dependency_end`,
        `DROP TRIGGER jobloom_jobs_dependency_failed`,
        `DROP TRIGGER jobloom_count_update`,
        `DROP TRIGGER jobloom_jobs_dependency_released`
      ],
      text: (s) => s
    },
    recursiveOn: { setup: [`PRAGMA recursive_triggers = ON`], text: (s) => s },
    rowidEq: { text: (s) => s.replace("WHERE rowid IN (", "WHERE rowid = (") },
    tempMemory: { setup: [`PRAGMA temp_store = MEMORY`], text: (s) => s },
    cte: {
      text: (s) => {
        const m = /WHERE rowid IN \(([\s\S]*?LIMIT \?(?: \+ 0)?)\)/.exec(s)!
        return `WITH picked AS MATERIALIZED (${m[1]}) ${s.replace(m[0], "WHERE rowid IN picked")}`
      }
    },
    fromJoin: {
      text: (s) => {
        const m = /WHERE rowid IN \(SELECT rowid ([\s\S]*?LIMIT \?(?: \+ 0)?)\)/.exec(s)!
        return s
          .replace(m[0], `FROM (SELECT rowid AS picked ${m[1]}) AS p WHERE "jobloom_jobs".rowid = p.picked`)
          .replace("+status = 'QUEUED'", `+"jobloom_jobs".status = 'QUEUED'`)
      }
    },
    limitPlus0: { text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)") },
    limitPlus0NoEnd: {
      setup: [`DROP TRIGGER jobloom_jobs_dependency_end`],
      text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)")
    },
    limitPlus0NoTriggers: {
      setup: [
        `DROP TRIGGER jobloom_jobs_dependency_end`,
        `DROP TRIGGER jobloom_jobs_dependency_failed`,
        `DROP TRIGGER jobloom_count_update`,
        `DROP TRIGGER jobloom_jobs_dependency_released`
      ],
      text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)")
    },
    analyzed: { setup: [`ANALYZE`], text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)") },
    optimized: { setup: [`PRAGMA optimize`], text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)") },
    noCounts: { setup: [`DROP TRIGGER jobloom_count_update`], text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)") },
    noDepTriggers: {
      setup: [
        `DROP TRIGGER jobloom_jobs_dependency_end`,
        `DROP TRIGGER jobloom_jobs_dependency_failed`,
        `DROP TRIGGER jobloom_jobs_dependency_released`
      ],
      text: (s) => s.replace("LIMIT ?)", "LIMIT ? + 0)")
    },
    limitPlus0RetId: { text: (s) => returningId(s.replace("LIMIT ?)", "LIMIT ? + 0)")) },
    cteNotMat: {
      text: (s) => {
        const m = /WHERE rowid IN \(([\s\S]*?LIMIT \?(?: \+ 0)?)\)/.exec(s)!
        return `WITH picked AS (${m[1]}) ${s.replace(m[0], "WHERE rowid IN (SELECT rowid FROM picked)")}`
      }
    }
  }
  const names = Object.keys(variants).filter((name) => only === undefined || only.includes(name))
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const variant = variants[name]!
      const file = path.join(dir, `sqlitecost_bare_${randomBytes(4).toString("hex")}.db`)
      copyFileSync(base, file)
      const db = new Database(file)
      db.pragma("journal_mode = WAL")
      db.pragma("synchronous = NORMAL")
      for (const s of variant.setup ?? []) db.exec(s)
      const stmt = db.prepare(variant.text(claim))
      if (stmt.reader) stmt.raw(true)
      const t = Date.now() + 10_000
      const go = (k: number) =>
        stmt.reader
          ? stmt.all(t + k, "w", t + 60_000, "tok", t + k, "q", t + k, limit)
          : stmt.run(t + k, "w", t + 60_000, "tok", t + k, "q", t + k, limit)
      const s0 = performance.now()
      const c0 = process.cpuUsage()
      for (let k = 0; k < n / limit; k++) go(k)
      const cpu = process.cpuUsage(c0)
      const runs = Math.floor(n / limit)
      const us = ((performance.now() - s0) * 1000) / runs
      const cpuUs = (cpu.user + cpu.system) / runs
      db.close()
      for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true })
      console.log(
        `${name.padEnd(22)} ${us.toFixed(0).padStart(5)} µs/claim ${cpuUs.toFixed(0).padStart(5)} µs CPU/claim`
      )
    }
  }
  if (args.includes("--keep")) console.log(base, "\n" + claim)
  else for (const s of ["", "-wal", "-shm"]) rmSync(base + s, { force: true })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
