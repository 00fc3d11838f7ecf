/**
 * jobloom on SQLite (`SqliteJobStore`), in a fresh file. Enqueues from another process reach the worker through
 * the shared file (its poll); the latency run enqueues in the worker's own process, where the store wakes the worker
 * at once.
 */
import { SqliteJobStore } from "@jobloom/store-sqlite"
import Database from "better-sqlite3"
import { makeEngine } from "../jobloom.js"
import { serve } from "../protocol.js"
import { instrumentSqlite } from "../sqlprofile.js"

instrumentSqlite(Database)

serve(
  makeEngine({
    store: (target, migrate) => SqliteJobStore.layer({ filename: target.sqliteFile, migrate }),
    analyze: async (target) => {
      const db = new Database(target.sqliteFile)
      try {
        db.pragma("busy_timeout = 5000")
        db.exec("ANALYZE")
      } finally {
        db.close()
      }
    }
  })
)
