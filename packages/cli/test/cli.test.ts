import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import { build, fixture, run, startBin, stopBin, type Running } from "./support.js"

const pgUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-cli-"))
const db = Path.join(dir, "jobs.db")
const cwd = dir

const json = async (response: Response) => (await response.json()) as Record<string, unknown>

/** Polls the API until the job reaches one of the statuses. */
const until = async (base: string, id: string, statuses: ReadonlyArray<string>) => {
  for (;;) {
    const job = await json(await fetch(`${base}/api/jobs/${id}`))
    if (statuses.includes(String(job["status"]))) return job
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

beforeAll(() => build(), 300_000)
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe("jobloom --help and the command line", () => {
  it.each(["serve", "worker", "migrate", "jobs list", "jobs get", "jobs cancel", "jobs retry", "jobs delete"])(
    "jobloom %s --help prints the command's usage and exits 0",
    async (command) => {
      const { code, stdout } = await run([...command.split(" "), "--help"], { cwd })
      expect(code).toBe(0)
      expect(stdout).toContain(`Usage: jobloom ${command}`)
      expect(stdout).toContain("--database")
    }
  )

  it("jobloom --help lists every command", async () => {
    const { code, stdout } = await run(["--help"], { cwd })
    expect(code).toBe(0)
    for (const command of ["serve", "worker", "migrate", "jobs list", "jobs get", "jobs cancel", "jobs retry"]) {
      expect(stdout).toContain(command)
    }
  })

  it("an unknown command, subcommand or flag exits 2 with one line naming it", async () => {
    const unknown = await run(["frobnicate"], { cwd })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trim()).toBe('jobloom: unknown command "frobnicate" (jobloom --help lists them)')
    const sub = await run(["jobs", "explode"], { cwd })
    expect(sub.code).toBe(2)
    expect(sub.stderr).toContain('unknown subcommand "jobs explode"')
    const flag = await run(["jobs", "list", "--bogus"], { cwd })
    expect(flag.code).toBe(2)
    expect(flag.stderr.trim().split("\n")).toHaveLength(1)
    expect(flag.stderr).toContain("--bogus")
    const missing = await run(["jobs", "get"], { cwd })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("missing <id>")
    const concurrency = await run(["worker", "--types", fixture, "--concurrency", "zero"], { cwd })
    expect(concurrency.code).toBe(2)
    expect(concurrency.stderr).toContain('--concurrency must be a whole number of at least 1, got "zero"')
  })

  it.each(["notaurl", "file:./dev.db", "mysql://root@localhost/db"])(
    "DATABASE_URL=%s is one line saying it is not a PostgreSQL URL (exit 2)",
    async (url) => {
      const { code, stderr } = await run(["jobs", "list"], { cwd, env: { DATABASE_URL: url } })
      expect(code).toBe(2)
      expect(stderr.trim().split("\n")).toHaveLength(1)
      expect(stderr).toContain(`DATABASE_URL is not a PostgreSQL URL: "${url}"`)
    }
  )

  it("--database with a URL that is not PostgreSQL is refused the same way", async () => {
    const { code, stderr } = await run(["migrate", "--database", "file:./dev.db"], { cwd })
    expect(code).toBe(2)
    expect(stderr).toContain('--database is not a PostgreSQL URL: "file:./dev.db"')
  })

  it("a store that cannot open is one line naming it (exit 1)", async () => {
    const { code, stderr } = await run(["migrate", "--database", "postgres://postgres@127.0.0.1:1/none"], { cwd })
    expect(code).toBe(1)
    expect(stderr.trim().split("\n")).toHaveLength(1)
    expect(stderr).toMatch(
      /^jobloom: cannot open the store \(PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:1\/none\): /
    )
  })

  it("worker without --types is a usage error; a module that exports nothing is named", async () => {
    const none = await run(["worker"], { cwd })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("--types <module> is required")
    const empty = Path.join(dir, "empty.mjs")
    Fs.writeFileSync(empty, "export const answer = 42\n")
    const nothing = await run(["worker", "--types", empty, "--database", db], { cwd })
    expect(nothing.code).toBe(1)
    expect(nothing.stderr).toContain("exports no job types or handlers")
    const missing = await run(["worker", "--types", "./nope.js", "--database", db], { cwd })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("--types ./nope.js: no such module")
  })
})

describe("jobloom migrate", () => {
  it("creates the SQLite file's tables (JOBLOOM_DB) and exits 0", async () => {
    const file = Path.join(dir, "sub", "migrated.db")
    const { code, stdout } = await run(["migrate"], { cwd, env: { JOBLOOM_DB: file } })
    expect(code).toBe(0)
    expect(stdout.trim()).toBe(`migrated: SQLite ${file}`)
    expect(Fs.existsSync(file)).toBe(true)
  })

  it("defaults to ./data/jobloom.db in the working directory", async () => {
    const { code } = await run(["migrate"], { cwd })
    expect(code).toBe(0)
    expect(Fs.existsSync(Path.join(dir, "data", "jobloom.db"))).toBe(true)
  })

  it("creates the PostgreSQL tables in the given schema (DATABASE_URL, --schema)", async () => {
    const schema = `cli_${process.pid}_${Date.now()}`
    const client = new pg.Client({ connectionString: pgUrl })
    await client.connect()
    try {
      const { code, stdout } = await run(["migrate", "--schema", schema], { cwd, env: { DATABASE_URL: pgUrl } })
      expect(code).toBe(0)
      expect(stdout).toContain("migrated: PostgreSQL")
      const tables = await client.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'jobloom_jobs'",
        [schema]
      )
      expect(tables.rowCount).toBe(1)
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    }
  })
})

describe("jobloom serve, worker and jobs on one SQLite file", () => {
  let api: Running
  let base: string
  let worker: Running | undefined

  beforeAll(async () => {
    const started = await startBin(
      ["serve", "--port", "0", "--host", "127.0.0.1", "--no-worker", "--types", fixture, "--database", db],
      { cwd },
      // the last line of the start-up banner: a loaded machine may deliver the banner in several chunks
      /API:\s+(http:\/\/[^\s]+)\/api[\s\S]*Dashboard:\s+\S+\n/
    )
    api = started.running
    base = started.match[1]!
  })

  afterAll(async () => {
    if (worker !== undefined) await stopBin(worker)
    await stopBin(api)
  })

  const create = async (params: Record<string, unknown>, startNow = true) => {
    const response = await fetch(`${base}/api/jobs${startNow ? "?startNow=true" : ""}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "echo", params })
    })
    expect(response.status).toBe(201)
    return String((await json(response))["id"])
  }

  it("serve prints the dashboard's URL and serves the page there", async () => {
    const printed = /Dashboard:\s+(http:\/\/\S+)/.exec(api.output())
    expect(printed?.[1]).toBe(`${base}/api/dashboard`)
    const page = await fetch(printed![1]!)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toContain("text/html")
    expect(page.headers.get("content-security-policy")).toContain("default-src")
  })

  it("serve answers the API with the module's job types", async () => {
    const body = (await (await fetch(`${base}/api/job-types`)).json()) as { items: ReadonlyArray<{ key: string }> }
    expect(body.items.map((t) => t.key)).toContain("echo")
  })

  it("a worker started with --types runs the jobs the API created", async () => {
    const id = await create({ text: "hello" })
    worker = (
      await startBin(
        ["worker", "--types", fixture, "--concurrency", "2", "--queues", "default", "--database", db],
        { cwd },
        /jobloom worker .*types: .*echo/
      )
    ).running
    const job = await until(base, id, ["SUCCEEDED", "FAILED"])
    expect(job["status"]).toBe("SUCCEEDED")
    const result = await json(await fetch(`${base}/api/jobs/${id}/result`))
    expect(result["value"]).toEqual({ text: "hello" })
  })

  it("jobs list prints a table, and --json the page", async () => {
    const id = await create({ text: "listed" })
    await until(base, id, ["SUCCEEDED"])
    const table = await run(["jobs", "list", "--database", db, "--type", "echo"], { cwd })
    expect(table.code).toBe(0)
    const lines = table.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+PROGRESS\s+ATTEMPT\s+CREATED\s+NAME$/)
    expect(lines.find((line) => line.startsWith(id))).toMatch(/echo\s+SUCCEEDED\s+100%\s+1\/1/)
    const page = await run(["jobs", "list", "--database", db, "--status", "succeeded", "--json", "-n", "1"], { cwd })
    expect(page.code).toBe(0)
    const parsed = JSON.parse(page.stdout) as { items: ReadonlyArray<{ id: string; status: string }> }
    expect(parsed.items).toHaveLength(1)
    expect(parsed.items[0]!.status).toBe("SUCCEEDED")
  })

  it("jobs get shows one job; a failed job shows its error", async () => {
    const id = await create({ text: "boom", fail: true })
    await until(base, id, ["FAILED"])
    const shown = await run(["jobs", "get", id, "--database", db], { cwd })
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(`id:        ${id}`)
    expect(shown.stdout).toContain("status:    FAILED")
    expect(shown.stdout).toContain("lastError: asked to fail: boom")
    const asJson = await run(["jobs", "get", id, "--json", "--database", db], { cwd })
    expect((JSON.parse(asJson.stdout) as { id: string }).id).toBe(id)
  })

  it("jobs retry queues a failed job again; jobs cancel cancels a waiting one", async () => {
    const failed = await create({ text: "again", fail: true })
    await until(base, failed, ["FAILED"])
    const retried = await run(["jobs", "retry", failed, "--json", "--database", db], { cwd })
    expect(retried.code).toBe(0)
    expect((JSON.parse(retried.stdout) as { status: string }).status).toMatch(/QUEUED|RUNNING|FAILED/)
    const waiting = await create({ text: "never" }, false)
    const cancelled = await run(["jobs", "cancel", waiting, "--database", db], { cwd })
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout).toContain("status:    CANCELLED")
  })

  it("jobs delete removes a job; then jobs get exits 1 saying it is not found", async () => {
    const id = await create({ text: "doomed" })
    await until(base, id, ["SUCCEEDED"])
    const deleted = await run(["jobs", "delete", id, "--database", db], { cwd })
    expect(deleted.code).toBe(0)
    expect(deleted.stdout.trim()).toBe(`deleted ${id}`)
    const gone = await run(["jobs", "get", id, "--database", db], { cwd })
    expect(gone.code).toBe(1)
    expect(gone.stderr.trim()).toBe(`jobloom: job ${id} not found`)
  })

  it("an action the status does not allow exits 1 with the reason", async () => {
    const id = await create({ text: "done" })
    await until(base, id, ["SUCCEEDED"])
    const { code, stderr } = await run(["jobs", "cancel", id, "--database", db], { cwd })
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(`jobloom: cannot cancel job ${id}: it is SUCCEEDED`)
  })

  it("SIGTERM stops serve and worker gracefully (exit 0)", async () => {
    expect(await stopBin(worker!)).toBe(0)
    worker = undefined
    expect(await stopBin(api)).toBe(0)
    expect(api.output()).toContain("stopped")
  })
})
