/**
 * `--types ./jobs.js`: a module whose exports (named or default, values or arrays of them) are job types
 * (`JobType.make`), async handlers (`Jobloom.handler`) and Effect handler layers (`JobType.toLayer`, services
 * provided).
 */
import type { Jobloom, JobType } from "@jobloom/core"
import * as Layer from "effect/Layer"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"

/** What a types module contributes. */
export interface Loaded {
  readonly types: ReadonlyArray<JobType.Any>
  readonly handlers: ReadonlyArray<Jobloom.HandlerSpec | Jobloom.HandlerLayer>
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isJobType = (u: unknown): u is JobType.Any =>
  isObject(u) && typeof u["key"] === "string" && Array.isArray(u["stages"]) && typeof u["maxAttempts"] === "number"

const isHandlerSpec = (u: unknown): u is Jobloom.HandlerSpec =>
  isObject(u) && typeof u["handler"] === "function" && (typeof u["type"] === "string" || isJobType(u["type"]))

/** Imports the modules (paths relative to `cwd`) and collects their types and handlers. */
export const load = async (paths: ReadonlyArray<string>, cwd = process.cwd()): Promise<Loaded> => {
  const types = new Map<string, JobType.Any>()
  const handlers: Array<Jobloom.HandlerSpec | Jobloom.HandlerLayer> = []
  const visit = (value: unknown, depth: number): void => {
    if (Layer.isLayer(value)) handlers.push(value as Jobloom.HandlerLayer)
    else if (isHandlerSpec(value)) handlers.push(value)
    else if (isJobType(value)) types.set(value.key, value)
    else if (Array.isArray(value) && depth < 2) value.forEach((item) => visit(item, depth + 1))
    else if (isObject(value) && depth === 0) Object.values(value).forEach((item) => visit(item, depth + 1))
  }
  for (const path of paths) {
    const file = Path.resolve(cwd, path)
    let module: Record<string, unknown>
    try {
      module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
    } catch (error) {
      const code = isObject(error) ? error["code"] : undefined
      if (code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(file)) {
        throw new Error(`--types ${path}: no such module (${file})`)
      }
      throw new Error(`--types ${path}: the module failed to load: ${(error as Error).message ?? String(error)}`)
    }
    const before = types.size + handlers.length
    for (const [name, value] of Object.entries(module)) visit(value, name === "default" ? 0 : 1)
    if (types.size + handlers.length === before) {
      throw new Error(
        `--types ${path}: exports no job types or handlers ` +
          "(export JobType.make(...) types, Jobloom.handler(...) handlers or JobType.toLayer(...) layers)"
      )
    }
  }
  // a handler's own type is registered with it; listing it in `types` too is harmless
  return { types: Array.from(types.values()), handlers }
}
