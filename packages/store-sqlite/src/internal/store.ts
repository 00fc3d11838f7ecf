/**
 * The SQLite `JobStore`, assembled: each port method comes from the module of its statements.
 *
 * Speed comes from doing per batch what could be done per row: a claim is one `UPDATE … RETURNING`, a batch of
 * settlements one `UPDATE … FROM (VALUES …)`, an insert a few multi-row `INSERT`s. Batch statements are padded to
 * power-of-two sizes so their texts repeat and the client's prepared-statement cache serves them. Job rows are read
 * in the driver's raw mode (arrays, not objects).
 *
 * | module | what it holds |
 * | --- | --- |
 * | `env.ts` | the context every statement module gets (client, tables, transaction, error wrapper, signals) |
 * | `insert.ts` | insert with idempotency keys, numbers and items |
 * | `read.ts` | get, list, stats, getResult |
 * | `filter.ts` | the WHERE of a `JobFilter` |
 * | `update.ts` | the user actions |
 * | `claim.ts` | claims, with and without concurrency limits |
 * | `settle.ts` | the settle ladder and its two statements |
 * | `leases.ts` | heartbeats, status polls, progress |
 * | `logs.ts`, `items.ts` | log lines and items |
 * | `delete.ts` | delete and retention |
 * | `maintenance.ts` | rescue and expiry |
 * | `callbacks.ts` | recording, claiming and settling callbacks |
 * | `signals.ts` | the in-process wake-up hubs |
 * | `errors.ts` | `SqlError` to `JobStoreError` |
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Callbacks from "./callbacks.js"
import * as Check from "./check.js"
import * as Claim from "./claim.js"
import * as Delete from "./delete.js"
import * as Dependencies from "./dependencies.js"
import * as Env from "./env.js"
import * as Insert from "./insert.js"
import * as Items from "./items.js"
import * as Leases from "./leases.js"
import * as Logs from "./logs.js"
import * as Maintenance from "./maintenance.js"
import * as Migrate from "./migrate.js"
import * as Prune from "./prune.js"
import * as Read from "./read.js"
import * as Schedules from "./schedules.js"
import * as Settle from "./settle.js"
import * as Signals from "./signals.js"
import * as Update from "./update.js"

/** How `make` builds a store (see `env.ts`). */
export type Options = Env.Options

/** Builds the store over the `SqlClient` in context. */
export const make = (options: Options): Effect.Effect<JobStore.JobStore.Service, never, SqlClient.SqlClient> =>
  Effect.map(Env.make(options), (env) => {
    const items = Items.make(env)
    const schedules = Schedules.make({ ...env, enqueued: (queues) => env.signals.publish(Signals.enqueued(queues)) })
    // the writes that may end a job: what their triggers released or failed is published once they committed
    const drained = <A, R>(effect: Effect.Effect<A, JobStore.JobStoreError, R>) =>
      Effect.tap(effect, () => env.run(Dependencies.drain(env)))
    return {
      crossProcessSignals: false,
      insert: Insert.insert(env, items.upsert),
      get: Read.get(env),
      list: Read.list(env),
      update: (options) => drained(Update.update(env)(options)),
      claim: Claim.claim(env),
      heartbeat: Leases.heartbeat(env),
      statuses: Leases.statuses(env),
      settle: (options) => drained(Settle.settle(env)(options)),
      saveProgress: Leases.saveProgress(env),
      appendLogs: Logs.appendLogs(env),
      logs: Logs.page(env),
      getResult: Read.getResult(env),
      stats: Read.stats(env),
      delete: (options) => drained(Delete.deleteOne(env)(options)),
      deleteMany: (options) => drained(Delete.deleteMany(env)(options)),
      rescue: (options) => drained(Maintenance.rescue(env)(options)),
      expire: (options) => drained(Maintenance.expire(env)(options)),
      claimCallbacks: Callbacks.claimCallbacks(env),
      settleCallback: Callbacks.settleCallback(env),
      ...items.port,
      ...schedules,
      prune: Prune.make(env),
      check: env.run(Check.make(env.sql, env.tables, JobStore.latestMigration(Migrate.migrations(env.tables)))),
      subscribe: env.signals.subscribe
    } satisfies JobStore.JobStore.Service
  })
