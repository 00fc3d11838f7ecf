/**
 * `jobloom <command>`: dispatches to the command, prints `--help`, and turns every failure into one line on stderr
 * with exit code 1 (it failed) or 2 (bad command line).
 */
import { createRequire } from "node:module"
import { ExitCode, oneLine, UsageError } from "./errors.js"
import { help } from "./help.js"

/**
 * The commands' module. An Effect 4 forced in fails while Node links the modules (`effect/Either` is gone), before
 * any of jobloom's code runs, so its own version check cannot: name the installed version here instead.
 */
const load = async () => {
  try {
    return await import("./commands.js")
  } catch (error) {
    let version: string | undefined
    try {
      version = String((createRequire(import.meta.url)("effect/package.json") as { version: unknown }).version)
    } catch {
      throw error
    }
    if (version.startsWith("3.")) throw error
    throw new Error(`jobloom needs Effect 3 (effect ^3.22), but effect ${version} is installed: npm install effect@3`)
  }
}

// loaded on use: `--help` and a usage error answer without loading Effect, the stores or the HTTP stack
const commands: Record<string, (argv: ReadonlyArray<string>) => Promise<number>> = {
  serve: async (argv) => (await load()).serve(argv),
  worker: async (argv) => (await load()).worker(argv),
  migrate: async (argv) => (await load()).migrate(argv),
  jobs: async (argv) => (await load()).jobs(argv)
}

/** The help key of a command line (`jobs list` for subcommands), when it asks for help. */
const helpKey = (argv: ReadonlyArray<string>): string | undefined => {
  if (!argv.includes("--help") && !argv.includes("-h")) return undefined
  const [command, sub] = argv
  if (command === undefined || command.startsWith("-")) return "main"
  if (command === "jobs" && sub !== undefined && !sub.startsWith("-")) return `jobs ${sub}`
  return command === "jobs" ? "main" : command
}

/** Runs a command line; resolves with the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [command, ...rest] = argv
  const asked = helpKey(argv)
  if (asked !== undefined) {
    const text = help[asked]
    if (text === undefined) {
      console.error(`jobloom: unknown command "${argv.filter((a) => !a.startsWith("-")).join(" ")}" (jobloom --help)`)
      return ExitCode.usage
    }
    console.log(text)
    return ExitCode.ok
  }
  if (command === undefined) {
    console.error(help["main"])
    return ExitCode.usage
  }
  const run = commands[command]
  if (run === undefined) {
    console.error(`jobloom: unknown command "${command}" (jobloom --help lists them)`)
    return ExitCode.usage
  }
  try {
    return await run(rest)
  } catch (error) {
    if (error instanceof UsageError) {
      const key = command === "jobs" && rest[0] !== undefined ? `jobs ${rest[0]}` : command
      console.error(`jobloom ${key}: ${error.message} (jobloom ${help[key] === undefined ? "" : `${key} `}--help)`)
      return ExitCode.usage
    }
    console.error(`jobloom: ${oneLine(error)}`)
    return ExitCode.failure
  }
}
