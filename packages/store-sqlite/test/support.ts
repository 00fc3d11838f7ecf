import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The shared row factory and base time of the conformance suite. */
export { makeRow, T0 } from "@jobloom/core/testing"

/** The claim token of the tests' claims (every worker write names its claim's token). */
export const TOKEN = "test-claim"

/** Fresh file names in a temporary directory of this test file, removed after its tests. */
export const tempFiles = (prefix: string): { readonly dir: string; readonly next: () => string } => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
  let files = 0
  return { dir, next: () => Path.join(dir, `test-${++files}.db`) }
}

/** A store for the life of the current scope. */
export const storeOf = (layer: Layer.Layer<JobStore.JobStore, JobStore.JobStoreError>) =>
  Effect.map(Layer.build(layer), Context.get(JobStore.JobStore))

/** A host's own client on a file, as a host application would open it. */
export const hostClient = (filename: string) => SqliteClient.layer({ filename })
