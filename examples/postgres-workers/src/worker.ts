/**
 * A worker process: claims `render` jobs from PostgreSQL (`FOR UPDATE SKIP LOCKED`, woken by `LISTEN/NOTIFY`), runs
 * them, and on SIGTERM stops claiming, lets running jobs finish for the grace period and releases the rest.
 */
import { Jobs, Worker } from "@jobloom/core"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { randomUUID } from "node:crypto"
import * as Os from "node:os"
import * as Render from "./Render.js"
// the quickstart's signal handling and exit codes, shared rather than copied
import { runMain, serveUntilSignal } from "../../quickstart/src/Process.js"
import * as Settings from "./Settings.js"

const WorkerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    // unique per process unless the host names it: host, pid and a random suffix (pids are reused after restarts)
    const workerId = yield* Config.string("WORKER_ID").pipe(
      Config.withDefault(`${Os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`)
    )
    const concurrency = yield* Config.integer("WORKER_CONCURRENCY").pipe(Config.withDefault(4))
    const gracePeriod = yield* Config.number("WORKER_GRACE_PERIOD").pipe(Config.withDefault(10))
    yield* Console.log(`worker ${workerId} running up to ${concurrency} jobs`)
    // handlers first, so the worker claims from their queues
    return Worker.layer({ workerId, concurrency, queues: ["render"], gracePeriod: Duration.seconds(gracePeriod) }).pipe(
      Layer.provide(Render.layer)
    )
  })
)

const Live = WorkerLive.pipe(Layer.provide(Jobs.layer({ types: [Render.jobType] })), Layer.provide(Settings.store))

runMain(serveUntilSignal(Live))
