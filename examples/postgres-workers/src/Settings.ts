/**
 * Settings shared by the API and worker processes, from the environment.
 */
import { PgJobStore } from "@jobloom/store-postgres"
import * as Config from "effect/Config"
import * as Layer from "effect/Layer"

/** `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and `JOBLOOM_PG_SCHEMA` (default `public`). */
export const database = Config.all({
  url: Config.string("DATABASE_URL").pipe(Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")),
  schema: Config.string("JOBLOOM_PG_SCHEMA").pipe(Config.withDefault("public"))
})

/** The PostgreSQL store every process of the example shares. */
export const store = Layer.unwrapEffect(Config.map(database, (options) => PgJobStore.layer(options)))
