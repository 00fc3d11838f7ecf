/**
 * The `JobStore` port on Postgres, assembled from its statement groups (one file each, as graphile-worker's `src/sql/`
 * is laid out). Every method is one statement where one statement can do it: data-modifying CTEs keep a write, its
 * callback rows, its result row and its NOTIFY atomic without a BEGIN/COMMIT round trip each. Every time comes from
 * the caller's `now`, so that `TestClock` drives this store as it drives the others. Each method's `SqlError` becomes
 * a `JobStoreError` here, by the one `refail`.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Callbacks from "./callbacks.js"
import * as Claim from "./claim.js"
import * as Delete from "./delete.js"
import * as Check from "./check.js"
import { refail } from "./errors.js"
import * as Migrate from "./migrate.js"
import * as Insert from "./insert.js"
import * as Items from "./items.js"
import * as Leases from "./leases.js"
import * as Logs from "./logs.js"
import * as Maintenance from "./maintenance.js"
import * as Prune from "./prune.js"
import type { Names } from "./names.js"
import * as Read from "./read.js"
import * as Schedules from "./schedules.js"
import * as Settle from "./settle.js"
import * as Shared from "./shared.js"
import type { Signals } from "./signals.js"
import * as Update from "./update.js"

/** Builds the store over the `SqlClient` in context (already migrated). */
export const make = (
  names: Names,
  signals: Signals,
  options: Shared.Options
): Effect.Effect<JobStore.JobStore.Service, never, SqlClient.SqlClient> =>
  Shared.make(names, signals, options).pipe(
    Effect.map((shared) => {
      const limited = Claim.makeLimited()
      const callbacks = Callbacks.make(shared)
      const items = Items.make(shared)
      const logs = Logs.make(shared)
      const read = Read.make(shared)
      const leases = Leases.make(shared)
      const maintenance = Maintenance.make(shared, callbacks)
      const deletes = Delete.make(shared)
      const insert = Insert.make(shared, items)
      const update = Update.make(shared, callbacks)
      const claim = Claim.make(shared, limited)
      const settle = Settle.make(shared, limited, logs.append)
      return {
        crossProcessSignals: true,
        insert: (options) => refail(insert(options)),
        get: (options) => refail(read.get(options)),
        list: (options) => refail(read.list(options)),
        update: (options) => refail(update(options)),
        claim: (options) => refail(claim(options)),
        heartbeat: (options) => refail(leases.heartbeat(options)),
        statuses: (options) => refail(leases.statuses(options)),
        settle: (options) => refail(settle(options)),
        saveProgress: (options) => refail(leases.saveProgress(options)),
        appendLogs: (options) => refail(logs.append(options)),
        logs: (options) => refail(logs.read(options)),
        getResult: (options) => refail(read.getResult(options)),
        stats: (options) => refail(read.stats(options)),
        delete: (options) => refail(deletes.deleteOne(options)),
        deleteMany: (options) => refail(deletes.deleteMany(options)),
        rescue: (options) => refail(maintenance.rescue(options)),
        expire: (options) => refail(maintenance.expire(options)),
        claimCallbacks: (options) => refail(callbacks.claim(options)),
        settleCallback: (options) => refail(callbacks.settle(options)),
        putItems: (options) => refail(items.putItems(options)),
        saveItems: (options) => refail(items.saveItems(options)),
        listItems: (options) => refail(items.listItems(options)),
        countItems: (options) => refail(items.countItems(options)),
        resetItems: (options) => refail(items.resetItems(options)),
        ...Schedules.make(shared),
        prune: Prune.make(shared),
        check: refail(Check.make(shared.sql, names, JobStore.latestMigration(Migrate.migrations(names)))),
        subscribe: signals.subscribe
      } satisfies JobStore.JobStore.Service
    })
  )
