import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { root, start, stop, waitFor, type Running } from "./ServerProcess.js"

/** The first `sh` block of the README's "curl" section, exactly as a reader would paste it. */
const curlBlock = (): string => {
  const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
  const section = readme.split(/^## curl$/m)[1]?.split(/^## /m)[0] ?? ""
  const block = section.match(/```sh\n([\s\S]*?)```/)?.[1]
  if (block === undefined) throw new Error("README has no sh block under ## curl")
  return block
}

/** Runs a script with bash -e (any failing command fails the run); resolves with its exit code and output. */
const bash = (script: string, ms = 120_000) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const child = spawn("bash", ["-e", "-c", script], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), ms)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

describe("the README's curl flow", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-readme-"))
  let server: Running
  let base: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: Path.join(dir, "jobloom.db"),
      DATABASE_URL: undefined
    })
    base = (await waitFor(server, /API:\s+(http:\/\/localhost:\d+)\/api/))[1]!
  })

  afterAll(async () => {
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("runs as pasted against the quickstart server (only the port differs)", async () => {
    const block = curlBlock()
    expect(block).toContain("API=http://localhost:3000/api")
    const { code, output } = await bash(block.replaceAll("http://localhost:3000", base))
    expect(code, output).toBe(0)
    // the ml job's result, the sync job's run/cancel/retry answers, its result, then the 409 on run
    expect(output).toMatch(/"value":\{"captures":\d+,"detections":\d+,"classifications":\d+,"failed":\d+\}/)
    expect(output).toMatch(/^QUEUED\n(CANCELLING|CANCELLED)\nQUEUED\n/m)
    expect(output).toContain('"value":{"files":10000}')
    expect(output).toMatch(/"status":409,.*"currentStatus":"SUCCEEDED"/)
    expect(output).toMatch(/"byStatus":\{"CREATED":0,/)
    // about ten seconds of jobs on an idle machine; room for a loaded CI runner
  }, 150_000)
})
