// GET /health and GET /ready: liveness always, readiness from the store (reachable, schema current) and the worker.
import { describe, expect, it } from "@effect/vitest"
import { Jobs, MemoryJobStore } from "@jobloom/core"
import { PgJobStore } from "@jobloom/store-postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Hono } from "hono"
import { Health } from "../src/index.js"
import { databaseUrl, freshSchemaName, adminQuery } from "../../store-postgres/test/utils.js"
import { tcpProxy } from "./tcpProxy.js"

const appOf = (runtime: ManagedRuntime.ManagedRuntime<Jobs.Jobs, unknown>, worker = false) => {
  const app = new Hono()
  app.get("/health", Health.health())
  app.get("/ready", Health.ready({ runtime, worker, timeout: "1 second" }))
  return app
}

const readiness = async (app: Hono) => {
  const response = await app.request("/ready")
  return { status: response.status, body: (await response.json()) as Health.Readiness }
}

describe("health", () => {
  it("answers 200 with no store at all", async () => {
    const app = new Hono()
    app.get("/health", Health.health())
    const response = await app.request("/health")
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: "ok" })
    expect(response.headers.get("cache-control")).toBe("no-store")
  })
})

describe("ready", () => {
  it("answers 200 over a store that answers, naming each check", async () => {
    const runtime = ManagedRuntime.make(Jobs.layer().pipe(Layer.provideMerge(MemoryJobStore.layer)))
    try {
      const { body, status } = await readiness(appOf(runtime))
      expect(status).toBe(200)
      expect(body.status).toBe("ready")
      expect(body.checks.store).toBe("ok")
      expect(body.checks.worker).toBe("skipped")
    } finally {
      await runtime.dispose()
    }
  })

  it("turns 503 while PostgreSQL is unreachable and 200 again after", async () => {
    const target = new URL(databaseUrl)
    const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const url = new URL(databaseUrl)
    url.hostname = "127.0.0.1"
    url.port = String(proxy.port)
    const schema = freshSchemaName()
    // the warnings the probe logs while the database is down are expected: kept out of the test output
    const runtime = ManagedRuntime.make(
      Jobs.layer().pipe(
        Layer.provideMerge(PgJobStore.layer({ url: url.toString(), schema, maxConnections: 2 })),
        Layer.provideMerge(Logger.minimumLogLevel(LogLevel.None))
      )
    )
    try {
      const app = appOf(runtime)
      const first = await readiness(app)
      expect(first.status).toBe(200)
      expect(first.body.checks).toEqual({ store: "ok", migrations: "ok", worker: "skipped" })

      // a schema behind this version (its newest migration not applied) is not ready, though the store answers
      const newest = await Effect.runPromise(
        adminQuery(`SELECT max(migration_id) AS id FROM "${schema}".jobloom_migrations`)
      )
      await Effect.runPromise(
        adminQuery(`DELETE FROM "${schema}".jobloom_migrations WHERE migration_id = $1`, [newest[0]!.id])
      )
      const behind = await readiness(app)
      expect(behind.status).toBe(503)
      expect(behind.body.checks).toMatchObject({ store: "ok", migrations: "failed" })
      await Effect.runPromise(
        adminQuery(`INSERT INTO "${schema}".jobloom_migrations (migration_id, name) VALUES ($1, 'restored')`, [
          newest[0]!.id
        ])
      )

      await proxy.stop()
      const down = await readiness(app)
      expect(down.status).toBe(503)
      expect(down.body).toMatchObject({ status: "unavailable", checks: { store: "failed" } })

      await proxy.start()
      // the pool reconnects on its next use; the first probe after the restart may still see a cut connection
      let up = await readiness(app)
      for (let i = 0; i < 20 && up.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        up = await readiness(app)
      }
      expect(up.status).toBe(200)
      expect(up.body.checks.store).toBe("ok")
    } finally {
      await runtime.dispose()
      await proxy.close()
      await Effect.runPromise(adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
    }
  })
})
