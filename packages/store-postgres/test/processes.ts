/**
 * Child worker processes for the multi-process tests: real `node` processes running `fixtures/worker.ts` through
 * tsx's loader.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { databaseUrl } from "./utils.js"

// node with tsx's loader, not the tsx CLI: the CLI runs the script in a child of its own, which a SIGKILL of the
// CLI would leave running
const tsxLoader = new URL("../../../node_modules/tsx/dist/loader.mjs", import.meta.url).href
const script = fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url))
const cwd = fileURLToPath(new URL("..", import.meta.url))

/** Settings of one child worker. */
export interface WorkerProcessOptions {
  readonly schema: string
  readonly workerId: string
  /** `application_name` of its connections (its listener adds " (listen)"), so a test can terminate them. */
  readonly appName: string
  readonly concurrency?: number
  readonly leaseMs?: number
  readonly heartbeatMs?: number
  readonly rescueMs?: number
  readonly pollMs?: number
}

/** A running child worker. */
export interface WorkerProcess {
  readonly workerId: string
  readonly child: ChildProcess
  /** Everything it printed, for the message of a failing test. */
  readonly output: () => string
  /** Resolves with the exit code or signal once it has exited. */
  readonly exited: Effect.Effect<string>
  /** Sends a signal and waits for the exit. */
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<string>
}

/** Starts a child worker and waits for its `ready` line; it is killed (SIGKILL) when the scope closes. */
export const startWorker = (options: WorkerProcessOptions): Effect.Effect<WorkerProcess, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const ready = yield* Deferred.make<void, Error>()
      const exit = yield* Deferred.make<string>()
      let output = ""
      const child = spawn(process.execPath, ["--import", tsxLoader, script], {
        cwd,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          JOBLOOM_SCHEMA: options.schema,
          JOBLOOM_WORKER_ID: options.workerId,
          JOBLOOM_APP_NAME: options.appName,
          JOBLOOM_CONCURRENCY: String(options.concurrency ?? 10),
          JOBLOOM_LEASE_MS: String(options.leaseMs ?? 30_000),
          JOBLOOM_HEARTBEAT_MS: String(options.heartbeatMs ?? 10_000),
          JOBLOOM_RESCUE_MS: String(options.rescueMs ?? 5_000),
          JOBLOOM_POLL_MS: String(options.pollMs ?? 1_000)
        }
      })
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (/^ready$/m.test(output)) Deferred.unsafeDone(ready, Effect.void)
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", (chunk: Buffer) => {
        output += chunk.toString()
      })
      child.on("exit", (code, signal) => {
        const how = signal ?? `code ${code}`
        Deferred.unsafeDone(exit, Effect.succeed(how))
        Deferred.unsafeDone(ready, Effect.fail(new Error(`worker ${options.workerId} exited (${how}):\n${output}`)))
      })
      const exited = Deferred.await(exit)
      const handle: WorkerProcess = {
        workerId: options.workerId,
        child,
        output: () => output,
        exited,
        kill: (signal) =>
          Effect.suspend(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return exited
          })
      }
      yield* Deferred.await(ready).pipe(
        Effect.timeoutFail({
          duration: "60 seconds",
          onTimeout: () => new Error(`worker ${options.workerId} did not start:\n${output}`)
        }),
        Effect.onError(() => Effect.ignore(handle.kill("SIGKILL")))
      )
      return handle
    }),
    (handle) => handle.kill("SIGKILL")
  )
