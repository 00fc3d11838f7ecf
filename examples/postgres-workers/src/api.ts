/**
 * The API process: serves the jobs API and creates jobs, but runs none (no worker here). Start one of these and as
 * many `worker.ts` processes as you like, on any machines that reach the database.
 */
import { serve } from "@hono/node-server"
import { Jobs, JobType } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Hono } from "hono"
import type { AddressInfo } from "node:net"
import * as Render from "./Render.js"
// the quickstart's signal handling and exit codes, shared rather than copied
import { runMain, serveUntilSignal } from "../../quickstart/src/Process.js"
import * as Settings from "./Settings.js"

const Server = Layer.scopedDiscard(
  Effect.gen(function* () {
    const port = yield* Config.integer("PORT").pipe(Config.withDefault(3000))
    const runtime = yield* Effect.runtime<Jobs.Jobs | JobType.JobRegistry>()
    const app = new Hono().route("/api", JobsApi.make({ runtime }))
    const server = yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof serve>>((resume) => {
        const server = serve({ fetch: app.fetch, port }, () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    )
    yield* Console.log(`API process listening: http://localhost:${(server.address() as AddressInfo).port}/api`)
  })
)

// the API process registers the definitions only: it validates and creates `render` jobs, workers run them
const Live = Server.pipe(Layer.provide(Jobs.layer({ types: [Render.jobType] })), Layer.provide(Settings.store))

runMain(serveUntilSignal(Live))
