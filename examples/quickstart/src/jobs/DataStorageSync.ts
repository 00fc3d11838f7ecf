/**
 * The `data_storage_sync` job type, modelled on Antenna's capture sync job (seed 001): list the files of a
 * deployment's storage in pages of a thousand, then update the deployment's cached counts.
 */
import { JobType } from "@jobloom/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** Params of a `data_storage_sync` job. */
export const DataStorageSyncParams = Schema.Struct({
  files: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, 10_000_000)).annotations({ description: "Files in the fake storage" }),
    { default: () => 3419 }
  )
}).annotations({ identifier: "DataStorageSyncParams" })
/** Params of a `data_storage_sync` job. */
export type DataStorageSyncParams = typeof DataStorageSyncParams.Type

/** What a `data_storage_sync` job did. */
export const DataStorageSyncResult = Schema.Struct({ files: Schema.Int }).annotations({
  identifier: "DataStorageSyncResult"
})
/** What a `data_storage_sync` job did. */
export type DataStorageSyncResult = typeof DataStorageSyncResult.Type

/** Files listed per storage page (and per log line). */
export const pageSize = 1000

/** The `data_storage_sync` job type definition. */
export const DataStorageSync = JobType.make({
  key: "data_storage_sync",
  name: "Data storage sync",
  description: "Lists the files of a fake storage bucket in pages, then updates the deployment cache",
  params: DataStorageSyncParams,
  result: DataStorageSyncResult,
  stages: [
    { key: "data_storage_sync", name: "Data storage sync", params: [{ key: "total_files", name: "Total files" }] },
    { key: "update_deployment_cache", name: "Update deployment cache" }
  ]
})

/** Options of {@link handler}. */
export interface DataStorageSyncOptions {
  /** Time to list one page of files. Default 400 ms. */
  readonly pageLatency?: Duration.DurationInput
}

/** The handler of `data_storage_sync`. */
export const handler =
  (options: DataStorageSyncOptions = {}) =>
  (params: DataStorageSyncParams, context: JobType.JobContext): Effect.Effect<DataStorageSyncResult> =>
    Effect.gen(function* () {
      const pageLatency = Duration.decode(options.pageLatency ?? "400 millis")
      const sync = context.stage("data_storage_sync")
      const cache = context.stage("update_deployment_cache")
      yield* context.log.info(`Syncing captures from storage (${params.files} files)`)
      yield* sync.update({ status: "RUNNING", params: { total_files: 0 } })
      let listed = 0
      while (listed < params.files) {
        yield* Effect.sleep(pageLatency)
        listed = Math.min(params.files, listed + pageSize)
        yield* sync.update({ progress: listed / params.files, params: { total_files: listed } })
        yield* context.log.info(`Processed ${listed} files`)
      }
      yield* sync.complete
      yield* cache.start
      yield* context.log.info("Saving and recalculating sessions for deployment")
      yield* Effect.sleep(pageLatency)
      yield* cache.complete
      yield* context.log.info("Finished syncing captures")
      return { files: params.files }
    })

/** The `data_storage_sync` handler as a layer. */
export const layer = (options?: DataStorageSyncOptions): Layer.Layer<never, never, JobType.JobRegistry> =>
  JobType.toLayer(DataStorageSync, handler(options))
