/**
 * The quickstart's pieces, for tests and for hosts that want the sample job types.
 */

/** The `ml` job type. */
export * as MlPipeline from "./jobs/MlPipeline.js"

/** The `data_storage_sync` job type. */
export * as DataStorageSync from "./jobs/DataStorageSync.js"

/** The fake processing service the `ml` job calls. */
export * as ProcessingService from "./ProcessingService.js"

/** The server: configuration, layers, host app. */
export * as Quickstart from "./Quickstart.js"
