/**
 * A jobloom job-type plugin in its own package: the `data_export` type (Antenna's data export job), its params and
 * result Schemas, its stages, and its handler as a layer that needs an {@link ExportStorage.ExportStorage}.
 */

/** The `data_export` job type and its handler layer. */
export * as DataExport from "./DataExport.js"

/** The storage service the handler writes to, provided by the host. */
export * as ExportStorage from "./ExportStorage.js"
