/**
 * The `data_export` job type (Antenna's data export job): query the occurrences of a collection page by page, write
 * them as CSV or JSON, upload the file. A definition (plain data), a handler (an Effect that needs
 * {@link ExportStorage}), and a layer that registers both.
 */
import { JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { ExportStorageError } from "./ExportStorage.js"
import { ExportStorage } from "./ExportStorage.js"

/** Params of a `data_export` job. `collection` is required; the rest have defaults. */
export const Params = Schema.Struct({
  collection: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
    description: "The collection whose occurrences are exported"
  }),
  format: Schema.optionalWith(Schema.Literal("csv", "json"), { default: () => "csv" as const }),
  records: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, 1_000_000)).annotations({ description: "Occurrences in the collection" }),
    { default: () => 500 }
  ),
  pageSize: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 10_000)), { default: () => 100 })
}).annotations({ identifier: "DataExportParams" })
/** Params of a `data_export` job. */
export type Params = typeof Params.Type

/** What a `data_export` job produced. */
export const Result = Schema.Struct({
  url: Schema.String,
  format: Schema.Literal("csv", "json"),
  records: Schema.Int,
  bytes: Schema.Int
}).annotations({ identifier: "DataExportResult" })
/** What a `data_export` job produced. */
export type Result = typeof Result.Type

/** The `data_export` job type definition: plain data, shared by processes that create jobs and those that run them. */
export const jobType = JobType.make({
  key: "data_export",
  name: "Data export",
  description: "Exports the occurrences of a collection as CSV or JSON and uploads the file",
  params: Params,
  result: Result,
  stages: [
    { key: "query", name: "Query", params: [{ key: "records", name: "Records" }] },
    {
      key: "write",
      name: "Write",
      params: [
        { key: "rows", name: "Rows written" },
        { key: "bytes", name: "Bytes", category: "size" }
      ]
    },
    { key: "upload", name: "Upload", params: [{ key: "url", name: "URL" }] }
  ],
  // a failed upload is worth retrying a few times, quickly
  retry: { maxAttempts: 5, backoff: Schedule.exponential("500 millis", 2) },
  timeout: "5 minutes",
  // exports are heavy on the database: two at a time across every worker
  concurrency: 2,
  compact: (result) => ({ url: result.url })
})

const species = ["Noctua pronuba", "Xestia c-nigrum", "Agrotis exclamationis", "Ochropleura plecta"]

const occurrence = (i: number) => ({
  id: i + 1,
  species: species[i % species.length]!,
  score: Math.round((0.5 + ((i * 37) % 50) / 100) * 100) / 100
})

/** The handler: builds the file page by page, then uploads it. */
export const handler = (
  params: Params,
  context: JobType.JobContext
): Effect.Effect<Result, ExportStorageError, ExportStorage> =>
  Effect.gen(function* () {
    const storage = yield* ExportStorage
    const query = context.stage("query")
    const write = context.stage("write")
    const upload = context.stage("upload")

    yield* query.start
    yield* context.log.info(`Found ${params.records} occurrences in collection "${params.collection}"`)
    yield* query.param("records", params.records)
    yield* query.complete
    yield* context.items.setTotal(params.records)

    yield* write.start
    const parts: Array<string> = params.format === "csv" ? ["id,species,score\n"] : []
    let bytes = parts.join("").length
    for (let start = 0; start < params.records; start += params.pageSize) {
      const end = Math.min(params.records, start + params.pageSize)
      for (let i = start; i < end; i++) {
        const row = occurrence(i)
        const text =
          params.format === "csv"
            ? `${row.id},${row.species},${row.score}\n`
            : (i === 0 ? "" : ",") + JSON.stringify(row)
        parts.push(text)
        bytes += text.length
      }
      yield* context.items.completed(end - start)
      yield* write.update({ progress: end / params.records, params: { rows: end, bytes } })
      // a page is a natural point to let a cancel in, and to prove the worker is alive
      yield* context.heartbeat
      yield* Effect.yieldNow()
    }
    const body = params.format === "csv" ? parts.join("") : `[${parts.join("")}]`
    yield* write.update({ params: { rows: params.records, bytes: body.length } })
    yield* write.complete

    yield* upload.start
    const key = `${params.collection.replace(/[^\w.-]+/g, "_")}-${context.job.id}.${params.format}`
    const url = yield* storage.put(key, body)
    yield* upload.param("url", url)
    yield* upload.complete
    yield* context.log.info(`Uploaded ${body.length} bytes to ${url}`)
    return { url, format: params.format, records: params.records, bytes: body.length }
  })

/** Registers `data_export` with its handler; the host provides {@link ExportStorage}. */
export const layer: Layer.Layer<never, never, JobType.JobRegistry | ExportStorage> = JobType.toLayer(jobType, handler)
