/**
 * Opening jobloom for a command: the store from `--database`/the environment, the types modules, and a worker or
 * none, through the Promise facade. A store that cannot open is one line naming the store.
 */
import { Jobloom } from "@jobloom/core"
import * as Args from "./args.js"
import * as Database from "./database.js"
import { oneLine } from "./errors.js"
import * as Modules from "./modules.js"

/** What a command asks for. */
export interface OpenOptions {
  readonly types?: ReadonlyArray<string>
  readonly worker?: false | { readonly concurrency: number; readonly queues?: ReadonlyArray<string> | undefined }
}

/** The store resolved from the command line and environment. */
export const database = (parsed: Args.Parsed): Database.Database => Database.resolve(Args.string(parsed, "database"))

/** Starts jobloom on the command's store; rejects with one line naming the store when it cannot open. */
export const open = async (
  parsed: Args.Parsed,
  options: OpenOptions = {}
): Promise<{
  readonly jobloom: Jobloom.Jobloom
  readonly database: Database.Database
  readonly loaded: Modules.Loaded
}> => {
  const db = database(parsed)
  const loaded = await Modules.load(options.types ?? [])
  const schema = Args.string(parsed, "schema") ?? (process.env["JOBLOOM_PG_SCHEMA"] || undefined)
  const store = await Database.layer(db, { schema })
  const worker = options.worker ?? false
  try {
    const jobloom = await Jobloom.make({
      store,
      types: loaded.types,
      handlers: loaded.handlers,
      worker:
        worker === false
          ? false
          : { concurrency: worker.concurrency, ...(worker.queues === undefined ? {} : { queues: worker.queues }) }
    })
    return { jobloom, database: db, loaded }
  } catch (error) {
    throw new Error(`cannot open the store (${Database.describe(db)}): ${oneLine(error)}`)
  }
}
