import { JobStore, JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../../store-sqlite/src/index.js"
import { layerFresh } from "./utils.js"

const [kind = "memory", n = "20000", c = "50"] = process.argv.slice(2)
const N = Number(n),
  C = Number(c)
const Noop = JobType.make({ key: "noop" })
let runs = 0
const handler = JobType.toLayer(Noop, () =>
  Effect.sync(() => {
    runs++
  })
)
const counts: Record<string, number> = {}
const timed: Record<string, number> = {}
const base: Layer.Layer<JobStore.JobStore, unknown> =
  kind === "pg"
    ? layerFresh()
    : kind === "sqlite"
      ? SqliteJobStore.layer({ filename: Path.join(Os.tmpdir(), `drain-${Date.now()}.db`) })
      : MemoryJobStore.layer
const counting = Layer.effect(
  JobStore.JobStore,
  Effect.map(JobStore.JobStore, (s) => {
    const out: any = { ...s }
    for (const k of ["claim", "settle", "appendLogs", "saveProgress", "heartbeat", "statuses"]) {
      out[k] = (o: any) =>
        Effect.suspend(() => {
          counts[k] = (counts[k] ?? 0) + 1
          const t = performance.now()
          return Effect.ensuring(
            (s as any)[k](o),
            Effect.sync(() => {
              timed[k] = (timed[k] ?? 0) + performance.now() - t
            })
          )
        })
    }
    return out as JobStore.JobStore
  })
).pipe(Layer.provide(base))
const main = Effect.gen(function* () {
  const jobs = yield* Jobs.Jobs
  for (let i = 0; i < N; i += 1000)
    yield* jobs.createMany(
      Array.from({ length: Math.min(1000, N - i) }, () => ({ type: "noop" })),
      { startNow: true }
    )
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const w = yield* Worker.make({ concurrency: C })
  while (runs < N) yield* Effect.sleep("5 millis")
  yield* w.awaitIdle
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  console.log(
    `${kind}: ${N} jobs, concurrency ${C}: ${ms.toFixed(0)} ms, ${((N / ms) * 1000).toFixed(0)} jobs/s; cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`
  )
  console.log(counts, Object.fromEntries(Object.entries(timed).map(([k, v]) => [k, v.toFixed(0) + "ms"])))
}).pipe(
  Effect.scoped,
  Effect.provide(handler.pipe(Layer.provideMerge(Jobs.layer({ types: [Noop] })), Layer.provideMerge(counting)))
)
Effect.runPromise(main).then(() => process.exit(0))
