/**
 * Where the `data_export` plugin writes its files. The plugin only names the service; the host provides it with a
 * layer (an S3 bucket, a local directory, or the in-memory one below).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** Writing a file failed. */
export class ExportStorageError extends Schema.TaggedError<ExportStorageError>()("ExportStorageError", {
  key: Schema.String,
  message: Schema.String
}) {}

/** The storage the plugin writes to. */
export interface ExportStorageShape {
  /** Stores `body` under `key` and returns the URL it can be downloaded from. */
  readonly put: (key: string, body: string) => Effect.Effect<string, ExportStorageError>
}

/** The storage Tag, provided by the host. */
export class ExportStorage extends Context.Tag("@jobloom/example-custom-plugin/ExportStorage")<
  ExportStorage,
  ExportStorageShape
>() {}

/** Files kept in memory, for tests and demos; `files` is readable by the host. */
export const makeMemory = (baseUrl = "memory://exports/") => {
  const files = new Map<string, string>()
  const storage: ExportStorageShape = {
    put: (key, body) =>
      Effect.sync(() => {
        files.set(key, body)
        return baseUrl + key
      })
  }
  return { storage, files }
}

/** In-memory storage as a layer. */
export const layerMemory = (baseUrl?: string): Layer.Layer<ExportStorage> =>
  Layer.sync(ExportStorage, () => makeMemory(baseUrl).storage)
