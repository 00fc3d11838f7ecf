import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { root } from "./ServerProcess.js"

/**
 * Every TypeScript block of the README, as a reader copies it: each is type-checked (strict, one file each) and run
 * with the names it uses but does not define (`mailer`, `app`, `jobloom`, …) given by a short prelude of its own.
 */
const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
const blocks = [...readme.matchAll(/^## (.+)\n([\s\S]*?)(?=^## |(?![\s\S]))/gm)].flatMap(([, heading, body]) =>
  [...body!.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({ heading: heading!, code: m[1]! }))
)

const preludes: Record<string, { readonly before: string; readonly after: string }> = {
  "jobloom in 20 lines": { before: "", after: "" },
  "Embed in an existing service": {
    before: `import { Hono } from "hono"
const mailer = { sendReceipt: async (_orderId: number, _options: { signal: AbortSignal }) => {} }
const app = new Hono()
`,
    after: ""
  },
  "Embed in an existing service#2": {
    before: `import { Jobloom, MemoryJobStore } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { Hono, type MiddlewareHandler } from "hono"
type User = { readonly role: string; readonly project: string }
const app = new Hono<{ Variables: { user: User } }>()
const myAuth: MiddlewareHandler<{ Variables: { user: User } }> = async (c, next) => {
  c.set("user", { role: "member", project: "p1" })
  await next()
}
const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker: false })
`,
    after: `\nconst answer = await app.request("/v1/background-jobs/jobs")
if (answer.status !== 200) throw new Error(\`GET /v1/background-jobs/jobs: \${answer.status}\`)
await jobloom.close()
`
  },
  "Write a job type": {
    before: `import * as Context from "effect/Context"
class Storage extends Context.Tag("Storage")<Storage, { readonly put: (key: string, body: string) => Effect.Effect<string> }>() {}
const queryOccurrences = (collection: string) => Effect.succeed([{ collection, id: 1 }])
const render = (rows: ReadonlyArray<unknown>, format: "csv" | "json") => (format === "json" ? JSON.stringify(rows) : String(rows.length))
`,
    after: ""
  },
  Schedules: { before: "", after: `\nawait jobloom.close()\n` },
  // the parent finishes before the host closes: its children run on the facade's worker
  Dependencies: {
    before: "",
    after: `\nfor (;;) {
  const job = await jobloom.get(after.id)
  if (job.status === "SUCCEEDED") break
  if (job.status !== "QUEUED" && job.status !== "RUNNING") throw new Error(\`square after the parent: \${job.status}\`)
  await new Promise((resolve) => setTimeout(resolve, 20))
}
if ((await jobloom.result(parent.id)).value !== 14) throw new Error("sum of squares up to 3 is 14")
await jobloom.close()
`
  },
  // the block closes the engine itself once the paused job, resumed, has succeeded
  "Pausing and checkpoints": { before: "", after: "" },
  Retention: { before: "", after: `\nawait jobloom.close()\n` },
  "Switch to PostgreSQL": {
    before: `import { Jobloom } from "@jobloom/core"\n`,
    after: `\nawait jobloom.close()\n`
  },
  "Traces and metrics": {
    before: "",
    // building the layer needs no collector; nothing is exported until spans are made under it
    after: `\nif (!Layer.isLayer(Tracing)) throw new Error("not a layer")\n`
  },
  "Traces and metrics#2": {
    before: `import { Jobs, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
const app = new Hono()
const runtime = ManagedRuntime.make(Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer)))
`,
    after: `\nconst scraped = await app.request("/metrics")
if (scraped.status !== 200) throw new Error(\`GET /metrics: \${scraped.status}\`)
const health = await app.request("/health")
if (health.status !== 200) throw new Error(\`GET /health: \${health.status}\`)
void Effect.void
await runtime.dispose()
`
  }
}

const dir = Path.join(root, "examples/quickstart/.tmp", `readme-${process.pid}`)
const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-readme-snippets-"))
const files = new Map<string, string>()
const pgBase = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const database = `readme_snippets_${process.pid}`
const pgUrl = `${pgBase.replace(/\/[^/]*$/, "")}/${database}`

const exec = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ readonly code: number; readonly output: string }>((resolve) => {
    execFile(command, [...args], { cwd, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: stdout + stderr })
    )
  })

beforeAll(async () => {
  Fs.mkdirSync(dir, { recursive: true })
  const seen = new Map<string, number>()
  for (const { heading, code } of blocks) {
    const n = (seen.get(heading) ?? 0) + 1
    seen.set(heading, n)
    const key = n === 1 ? heading : `${heading}#${n}`
    const prelude = preludes[key]
    if (prelude === undefined) throw new Error(`README block under "## ${key}" has no prelude in this test`)
    const file = Path.join(dir, `${key.replace(/\W+/g, "-").toLowerCase()}.ts`)
    Fs.writeFileSync(file, `${prelude.before}${code}${prelude.after}export {}\n`)
    files.set(key, file)
  }
  Fs.writeFileSync(
    Path.join(dir, "tsconfig.json"),
    // a snippet may show a value it does not use (`const now = await jobloom.get(job.id)`)
    JSON.stringify({
      extends: "../../../../tsconfig.base.json",
      compilerOptions: { noUnusedLocals: false },
      include: ["*.ts"]
    })
  )
  await exec("psql", [pgBase, "-qc", `DROP DATABASE IF EXISTS ${database}`])
  expect((await exec("psql", [pgBase, "-qc", `CREATE DATABASE ${database}`])).code).toBe(0)
}, 60_000)

afterAll(async () => {
  Fs.rmSync(dir, { recursive: true, force: true })
  Fs.rmSync(cwd, { recursive: true, force: true })
  await exec("psql", [pgBase, "-qc", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`])
}, 60_000)

describe("the README's TypeScript blocks", () => {
  it("are all known to this test (one prelude each)", () => {
    expect([...files.keys()]).toEqual(Object.keys(preludes))
  })

  it("type-check as written (strict)", async () => {
    const { code, output } = await exec(Path.join(root, "node_modules/.bin/tsc"), ["--noEmit", "-p", dir])
    expect(output).toBe("")
    expect(code).toBe(0)
  }, 180_000)

  it.each(Object.keys(preludes))(
    "runs: %s",
    async (key) => {
      const tsx = pathToFileURL(createRequire(Path.join(root, "package.json")).resolve("tsx")).href
      const { code, output } = await exec(process.execPath, ["--import", tsx, files.get(key)!], {
        TSX_TSCONFIG_PATH: Path.join(root, "examples/quickstart/tsconfig.json"),
        DATABASE_URL: key === "Switch to PostgreSQL" ? pgUrl : ""
      })
      expect(output).not.toMatch(/Error/)
      expect(code).toBe(0)
      if (key === "jobloom in 20 lines") expect(output).toContain("{ resized: 3 }")
      if (key === "Pausing and checkpoints") expect(output).toMatch(/paused at \{ next: \d+ \} attempt 0/)
    },
    120_000
  )
})
