import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = Path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..")

/** The built bin, as `npm install` links it. */
export const bin = Path.join(root, "packages/cli/dist/bin.js")

/** The types module fixture. */
export const fixture = Path.join(root, "packages/cli/test/fixtures/jobs.js")

/** Builds the CLI and what it imports (incremental: quick when up to date). */
export const build = () =>
  execFileSync(Path.join(root, "node_modules/.bin/tsc"), ["-b", "packages/cli/tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
    timeout: 300_000
  })

/** The environment of a run: none of the caller's store variables unless given. */
export const envOf = (env: Record<string, string | undefined>) => {
  const base: Record<string, string | undefined> = { ...process.env }
  delete base["DATABASE_URL"]
  delete base["JOBLOOM_DB"]
  delete base["PORT"]
  return { ...base, ...env }
}

/** Runs `jobloom ...args` to its end. */
export const run = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string | undefined> }
) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd, env: envOf(options.env ?? {}) })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** A long-running `jobloom` process and what it printed so far. */
export interface Running {
  readonly child: ChildProcess
  readonly output: () => string
}

/** Starts `jobloom ...args` and resolves once its output matches `ready`. */
export const startBin = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string | undefined> },
  ready: RegExp
) =>
  new Promise<{ readonly running: Running; readonly match: RegExpMatchArray }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd, env: envOf(options.env ?? {}) })
    let output = ""
    const running: Running = { child, output: () => output }
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const match = output.match(ready)
      if (match !== null) resolve({ running, match })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => reject(new Error(`jobloom ${args.join(" ")} exited ${code}: ${output}`)))
  })

/** Sends SIGTERM and resolves with the exit code. */
export const stopBin = (running: Running) =>
  new Promise<number | null>((resolve) => {
    if (running.child.exitCode !== null) return resolve(running.child.exitCode)
    running.child.once("exit", (code) => resolve(code))
    running.child.kill("SIGTERM")
  })
