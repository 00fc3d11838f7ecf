/**
 * jobloom on PostgreSQL (`PgJobStore`), in a fresh schema.
 */
import { PgJobStore } from "@jobloom/store-postgres"
import pg from "pg"
import { makeEngine } from "../jobloom.js"
import { analyzeSchema, serve } from "../protocol.js"
import { instrumentPg } from "../sqlprofile.js"

instrumentPg(pg)

serve(
  makeEngine({
    store: (target, migrate) => PgJobStore.layer({ url: target.databaseUrl, schema: target.schema, migrate }),
    analyze: async (target) => {
      const client = new pg.Client({ connectionString: target.databaseUrl })
      await client.connect()
      try {
        await analyzeSchema((text, values) => client.query(text, values as Array<unknown>), target.schema)
      } finally {
        await client.end()
      }
    }
  })
)
