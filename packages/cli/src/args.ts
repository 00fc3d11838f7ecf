/**
 * Command-line parsing on `node:util` `parseArgs`: strict (an unknown flag is a usage error naming it), typed
 * readers for numbers and lists.
 */
import { parseArgs } from "node:util"
import { UsageError } from "./errors.js"

/** A flag a command takes. */
export interface Flag {
  readonly type: "string" | "boolean"
  readonly short?: string
}

/** Flags every command takes. */
export const commonFlags = {
  database: { type: "string", short: "d" },
  schema: { type: "string" },
  help: { type: "boolean", short: "h" }
} as const satisfies Record<string, Flag>

/** Parsed flags and positionals. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>
  readonly positionals: ReadonlyArray<string>
}

/** Parses `argv` against the command's flags; unknown flags and missing values are usage errors. */
export const parse = (argv: ReadonlyArray<string>, flags: Record<string, Flag>): Parsed => {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...commonFlags, ...flags },
      strict: true,
      allowPositionals: true
    })
    return { values: values as Parsed["values"], positionals }
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--foo'"); drop its advice about `--` and positionals
    throw new UsageError(
      String((error as Error).message)
        .split(". ")[0]!
        .replace(/\.$/, "")
    )
  }
}

/** A string flag's value, or undefined. */
export const string = (parsed: Parsed, name: string): string | undefined => {
  const value = parsed.values[name]
  return typeof value === "string" ? value : undefined
}

/** A positive integer flag (or the environment variable), or the default. */
export const positiveInt = (
  parsed: Parsed,
  name: string,
  fallback: number,
  env?: { readonly name: string; readonly value: string | undefined }
): number => {
  const flag = string(parsed, name)
  const [source, raw] =
    flag !== undefined ? [`--${name}`, flag] : env?.value ? [env.name, env.value] : [undefined, undefined]
  if (raw === undefined || source === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${source} must be a whole number of at least 1, got "${raw}"`)
  return n
}

/** A port (0 picks a free one). */
export const port = (parsed: Parsed, fallback: number, env: string | undefined): number => {
  const flag = string(parsed, "port")
  const [source, raw] = flag !== undefined ? ["--port", flag] : env ? ["PORT", env] : [undefined, undefined]
  if (raw === undefined || source === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${source} must be a port (0-65535), got "${raw}"`)
  return n
}

/** A comma-separated list flag (`--queues a,b`), or undefined. */
export const list = (parsed: Parsed, name: string): ReadonlyArray<string> | undefined => {
  const value = string(parsed, name)
  if (value === undefined) return undefined
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  if (items.length === 0) throw new UsageError(`--${name} is empty: give one or more names separated by commas`)
  return items
}

/** Exactly `count` positionals, else a usage error naming what is missing or extra. */
export const positionals = (parsed: Parsed, names: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (parsed.positionals.length < names.length) {
    throw new UsageError(
      `missing ${names
        .slice(parsed.positionals.length)
        .map((n) => `<${n}>`)
        .join(" ")}`
    )
  }
  if (parsed.positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${parsed.positionals[names.length]}"`)
  }
  return parsed.positionals
}
