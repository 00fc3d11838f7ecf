/**
 * Identifiers of one store: its schema, its prefixed tables and its NOTIFY channel. Every identifier reaches SQL
 * through `sql(name)`; names are validated here so that a dot can only ever mean "schema.table".
 */
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"

/** The names of one store's objects. */
export interface Names {
  readonly schema: string
  readonly prefix: string
  /** Schema-qualified table names, for `sql(name)`. */
  readonly jobs: string
  readonly logs: string
  readonly results: string
  readonly callbacks: string
  readonly items: string
  /** Dependency edges (migration 7). */
  readonly dependencies: string
  /** Job counts by (type, queue, status), kept by triggers (migration 9). */
  readonly counts: string
  readonly migrations: string
  /** Unqualified, prefixed name of an index (indexes live in their table's schema). */
  readonly index: (name: string) => string
  /** The NOTIFY channel; schema-qualified so stores in other schemas of the same database never cross-talk. */
  readonly channel: string
  /** The text an advisory lock key is hashed from; schema-qualified for the same reason. */
  readonly lockKey: (kind: string, key: string) => string
}

const schemaPattern = /^[a-z_][a-z0-9_]*$/
const prefixPattern = /^[a-z0-9_]*$/

// channel names are identifiers: Postgres refuses longer ones in pg_notify
const MAX_IDENTIFIER = 63

/** Validates the schema and prefix and builds every name from them. */
export const make = (schema: string, prefix: string): Effect.Effect<Names, JobStore.JobStoreError> => {
  const invalid = (message: string) => Effect.fail(new JobStore.JobStoreError({ reason: "Unknown", message }))
  if (!schemaPattern.test(schema)) {
    return invalid(`invalid schema name ${JSON.stringify(schema)}: lower-case letters, digits and _ only`)
  }
  if (!prefixPattern.test(prefix)) {
    return invalid(`invalid table prefix ${JSON.stringify(prefix)}: lower-case letters, digits and _ only`)
  }
  const channel = `${schema}.${prefix}signals`
  if (channel.length > MAX_IDENTIFIER || `${prefix}callbacks_job_id`.length > MAX_IDENTIFIER) {
    return invalid(`schema name and table prefix are too long (${channel})`)
  }
  const table = (name: string) => `${schema}.${prefix}${name}`
  return Effect.succeed({
    schema,
    prefix,
    jobs: table("jobs"),
    logs: table("logs"),
    results: table("results"),
    callbacks: table("callbacks"),
    items: table("items"),
    dependencies: table("dependencies"),
    counts: table("counts"),
    migrations: table("migrations"),
    index: (name) => `${prefix}${name}`,
    channel,
    lockKey: (kind, key) => `${channel}:${kind}:${key}`
  })
}
