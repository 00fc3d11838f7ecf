/**
 * A host that registers the `data_export` plugin. In a real project this file lives in the host's own package,
 * which adds the plugin with `pnpm add`; it imports the plugin by its package name, as such a host would.
 *
 * It provides the service the plugin's handler needs (`ExportStorage`), runs one export through the engine and a
 * worker over SQLite (`JOBLOOM_DB`, in memory by default), and prints what came out. `src/main.ts` runs it.
 */
import { DataExport, ExportStorage } from "@jobloom/example-custom-plugin"
import { Job, Jobs, Worker } from "@jobloom/core"
import { SqliteJobStore } from "@jobloom/store-sqlite"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const storage = ExportStorage.makeMemory("https://files.example/exports/")

/** The engine with the plugin registered: definition, handler, and the storage the handler writes to. */
export const EngineLive = Layer.unwrapEffect(
  Effect.map(Config.string("JOBLOOM_DB").pipe(Config.withDefault(":memory:")), (filename) =>
    Worker.layer().pipe(
      Layer.provide(DataExport.layer),
      Layer.provide(Layer.succeed(ExportStorage.ExportStorage, storage.storage)),
      Layer.provideMerge(Jobs.layer({ types: [DataExport.jobType] })),
      Layer.provideMerge(SqliteJobStore.layer({ filename }))
    )
  )
)

/** Runs one export and prints the job's stages, its result and the head of the file. */
export const program = Effect.gen(function* () {
  const jobs = yield* Jobs.Jobs
  // subscribe before enqueueing, so the terminal event cannot slip past
  const events = yield* jobs.subscribe()
  const job = yield* jobs.enqueue({
    type: "data_export",
    params: { collection: "Vermont moths", records: 2500, format: "csv" }
  })
  yield* Console.log(`created ${job.type} job ${job.id} (${job.status})`)

  yield* events.pipe(
    Stream.filter((event) => event.jobId === job.id && event._tag === "status" && Job.isTerminal(event.status)),
    Stream.runHead
  )
  const done = yield* jobs.get(job.id)
  yield* Console.log(`finished: ${done.status}`)
  for (const stage of done.progress.stages) {
    const params = stage.params.map((param) => `${param.name}=${String(param.value)}`).join(", ")
    yield* Console.log(`  ${stage.name}: ${stage.status} ${params}`)
  }
  const result = yield* jobs.result(job.id)
  const compact = yield* jobs.result(job.id, { compact: true })
  yield* Console.log(`result: ${JSON.stringify(result.value)}`)
  yield* Console.log(`compact result: ${JSON.stringify(compact.value)}`)
  const file = [...storage.files.values()][0] ?? ""
  yield* Console.log(`file head:\n${file.split("\n").slice(0, 3).join("\n")}`)
})
