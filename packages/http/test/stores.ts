// The stores the HTTP tests that care about storage run against: memory, SQLite, and PostgreSQL in a fresh schema.
import type { JobStore } from "@jobloom/core"
import { MemoryJobStore } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import type * as Layer from "effect/Layer"
import { layerFresh } from "../../store-postgres/test/utils.js"

/** Each store by name, built fresh for each use. */
export const stores: ReadonlyArray<readonly [string, () => Layer.Layer<JobStore.JobStore, unknown>]> = [
  ["memory", () => MemoryJobStore.layer],
  ["SQLite", () => SqliteJobStore.layer({ filename: ":memory:" })],
  ["PostgreSQL", () => layerFresh()]
]
