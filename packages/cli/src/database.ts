/**
 * Which store a command opens: `--database <sqlite file | postgres:// URL>`, else `DATABASE_URL` (a PostgreSQL URL),
 * else `JOBLOOM_DB` (either), else the quickstart's default file `./data/jobloom.db`.
 */
import type { JobStore } from "@jobloom/core"
import type * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { UsageError } from "./errors.js"

/** The default SQLite file, relative to the working directory (as the quickstart's). */
export const defaultFile = "./data/jobloom.db"

/** A resolved store: what it is, where it came from, and how to open it. */
export type Database =
  | { readonly kind: "sqlite"; readonly filename: string; readonly source: string }
  | { readonly kind: "postgres"; readonly url: string; readonly source: string }

const postgresUrl = /^postgres(ql)?:\/\//i
// a scheme such as `file:`, `mysql://` or `sqlite:`; a Windows drive letter (`C:\`) is a path
const scheme = /^[a-z][a-z0-9+.-]+:/i

const invalidUrl = (source: string, value: string) =>
  new UsageError(
    `${source} is not a PostgreSQL URL: "${value}" (expected postgres://user:password@host:5432/database` +
      (source === "DATABASE_URL"
        ? "; for a SQLite file use --database <path> or JOBLOOM_DB"
        : "; or a SQLite file path") +
      ")"
  )

/** Checks that a postgres:// URL parses (host and all), so a typo is a clear error and not a DNS failure. */
const checkedUrl = (source: string, value: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidUrl(source, value)
  }
  if (url.hostname === "" && !url.searchParams.has("host")) throw invalidUrl(source, value)
  return value
}

/** Resolves the store from the flag and the environment. */
export const resolve = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Database => {
  const pick = (source: string, value: string): Database => {
    if (postgresUrl.test(value)) return { kind: "postgres", url: checkedUrl(source, value), source }
    if (scheme.test(value) && !/^[a-z]:[\\/]/i.test(value)) throw invalidUrl(source, value)
    return { kind: "sqlite", filename: value, source }
  }
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--database is empty: give a SQLite file path or a postgres:// URL")
    return pick("--database", flag)
  }
  const url = env["DATABASE_URL"]
  if (url !== undefined && url !== "") {
    if (!postgresUrl.test(url)) throw invalidUrl("DATABASE_URL", url)
    return { kind: "postgres", url: checkedUrl("DATABASE_URL", url), source: "DATABASE_URL" }
  }
  const db = env["JOBLOOM_DB"]
  if (db !== undefined && db !== "") return pick("JOBLOOM_DB", db)
  return { kind: "sqlite", filename: defaultFile, source: "default" }
}

/** How the store is shown: the SQLite file's absolute path, or the URL without its password. */
export const describe = (database: Database): string => {
  if (database.kind === "sqlite") {
    return `SQLite ${database.filename === ":memory:" ? ":memory:" : Path.resolve(database.filename)}`
  }
  const url = new URL(database.url)
  if (url.password !== "") url.password = "***"
  return `PostgreSQL ${url.toString()}`
}

/** The store layer (the PostgreSQL store is loaded only when used, so SQLite commands start faster). */
export const layer = async (
  database: Database,
  options: { readonly schema?: string | undefined } = {}
): Promise<Layer.Layer<JobStore.JobStore, unknown>> => {
  if (database.kind === "postgres") {
    const { PgJobStore } = await import("@jobloom/store-postgres")
    return PgJobStore.layer({ url: database.url, ...(options.schema === undefined ? {} : { schema: options.schema }) })
  }
  if (database.filename !== ":memory:") Fs.mkdirSync(Path.dirname(Path.resolve(database.filename)), { recursive: true })
  const { SqliteJobStore } = await import("@jobloom/store-sqlite")
  return SqliteJobStore.layer({ filename: database.filename })
}
