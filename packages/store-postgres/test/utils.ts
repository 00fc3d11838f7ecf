/**
 * Test helpers: every test run gets a fresh schema `jobloom_test_<random>` in the database at DATABASE_URL, and drops
 * it (CASCADE) when done. Nothing here touches any other schema.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { PgJobStore } from "@jobloom/store-postgres"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Pg from "pg"

/** The database of the tests. */
export const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** A schema name no other run uses. */
export const freshSchemaName = (): string => `jobloom_test_${Math.random().toString(36).slice(2, 10)}`

/** Runs one statement on a connection of its own (outside every pool under test). */
export const adminQuery = (text: string, values: ReadonlyArray<unknown> = []) =>
  Effect.promise(async () => {
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      return (await client.query(text, values as Array<unknown>)).rows as Array<Record<string, unknown>>
    } finally {
      await client.end()
    }
  })

/** A fresh schema for the life of the scope, dropped at its end. */
export const freshSchema: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(freshSchemaName),
  (schema) => adminQuery(`DROP SCHEMA IF EXISTS ${Pg.escapeIdentifier(schema)} CASCADE`)
)

/** A store in a fresh schema, dropped when the layer is released. */
export const layerFresh = (
  options: Omit<PgJobStore.LayerOptions, "url" | "schema"> = {}
): Layer.Layer<JobStore.JobStore, JobStore.JobStoreError> =>
  Layer.unwrapScoped(Effect.map(freshSchema, (schema) => PgJobStore.layer({ url: databaseUrl, schema, ...options })))

/** A `PgClient` of the test database. */
export const clientLayer = (options: { readonly maxConnections?: number; readonly applicationName?: string } = {}) =>
  PgClient.layer({
    url: Redacted.make(databaseUrl),
    maxConnections: options.maxConnections,
    applicationName: options.applicationName
  })
