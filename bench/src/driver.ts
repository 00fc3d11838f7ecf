/**
 * The engine drivers: each compiled to one ES module (`buildDrivers`) and run in a child process of its own, called
 * through the typed request/response protocol of `protocol.ts` (`Driver`).
 */
import { fork } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import type { EngineName } from "./options.js"
import type { Command, Commands, Request, Response } from "./protocol.js"

const here = path.dirname(fileURLToPath(import.meta.url))
/** Where the bench writes: compiled drivers, CPU profiles. */
export const outDir = path.resolve(here, "../out")
/**
 * This run's compiled drivers: a directory of its own, so that another run starting meanwhile (CI in the same tree)
 * cannot swap the code under this one's later processes.
 */
export const buildDir = path.join(outDir, `run-${process.pid}-${randomBytes(3).toString("hex")}`)

/**
 * Compiles each engine driver to one ES module under `out/run-<pid>-<id>/engines`: the sources of the bench and of
 * jobloom are bundled, every npm package stays external and loads from `bench/node_modules` as in any deployment.
 */
export const buildDrivers = async (engines: ReadonlyArray<EngineName>): Promise<void> => {
  await esbuild.build({
    entryPoints: engines.map((engine) => path.join(here, "engines", `${engine}.ts`)),
    outdir: path.join(buildDir, "engines"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
    plugins: [
      {
        name: "npm-packages-external",
        setup: (build) => {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@jobloom/") ? undefined : { external: true }
          )
        }
      }
    ]
  })
}

/** A driver process and a typed way to call it. */
export class Driver {
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private exited: Error | null = null

  private constructor(
    readonly engine: EngineName,
    readonly child: ChildProcess
  ) {
    child.on("message", (message: Response) => {
      const waiter = this.waiting.get(message.id)
      if (waiter === undefined) return
      this.waiting.delete(message.id)
      if (message.ok) waiter.resolve(message.value)
      else waiter.reject(new Error(`${engine}: ${message.error}`))
    })
    child.on("exit", (code, signal) => {
      this.exited = new Error(`${engine} driver exited (code ${code}, signal ${signal})`)
      for (const waiter of this.waiting.values()) waiter.reject(this.exited)
      this.waiting.clear()
    })
  }

  static async spawn(engine: EngineName, profile: boolean): Promise<Driver> {
    // tuning aid: BENCH_NODE_FLAGS="--trace-gc" adds flags to every driver process alike
    const execArgv = [
      "--enable-source-maps",
      "--expose-gc",
      ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "")
    ]
    if (profile) {
      mkdirSync(path.join(outDir, "prof"), { recursive: true })
      execArgv.push("--cpu-prof", `--cpu-prof-dir=${path.join(outDir, "prof")}`)
    }
    const child = fork(path.join(buildDir, "engines", `${engine}.mjs`), [], {
      execArgv,
      cwd: path.resolve(here, ".."),
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    // drivers' stdout (stray logs of the engines) goes to our stderr, keeping our stdout for the report
    child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(chunk))
    const driver = new Driver(engine, child)
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (typeof m === "object" && m !== null && "ready" in m) {
          child.off("message", onMessage)
          resolve()
        }
      }
      child.on("message", onMessage)
      child.once("exit", (code) => reject(new Error(`${engine} driver exited before ready (code ${code})`)))
    })
    return driver
  }

  call<C extends Command>(cmd: C, args: Commands[C]["args"]): Promise<Commands[C]["result"]> {
    if (this.exited) return Promise.reject(this.exited)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ id, cmd, args } satisfies Request)
    })
  }

  /** Asks the driver to close and waits for the process to end. */
  async close(): Promise<void> {
    if (this.exited) return
    const ended = new Promise<void>((resolve) => this.child.once("exit", () => resolve()))
    await this.call("close", null)
    await ended
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL")
  }
}
