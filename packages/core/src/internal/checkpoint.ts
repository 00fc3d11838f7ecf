/**
 * Checkpoints and what an attempt carries over from the one before it: a handler's checkpoint is encoded by its
 * type's Schema into JSON text stored with the job, and the next attempt gets it decoded; the stages an earlier
 * attempt SUCCEEDED stay SUCCEEDED (a resumed job goes on where it stopped instead of showing finished stages anew).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Progress } from "../Job.js"
import type * as JobType from "../JobType.js"
import type { AttemptProgress } from "./context.js"

/** Schemas that accept any value as is: no Schema work at all. */
const isOpaque = (schema: Schema.Schema.Any): boolean =>
  schema.ast._tag === "UnknownKeyword" || schema.ast._tag === "AnyKeyword"

/**
 * A checkpoint value as stored JSON text: encoded by the type's Schema (synchronously; a value the Schema refuses, or
 * one that is not JSON, is a defect of the handler).
 */
export const encode = (type: JobType.Any | undefined, value: unknown): Effect.Effect<string> =>
  Effect.suspend(() => {
    const schema = type?.checkpoint
    const encoded =
      schema === undefined || isOpaque(schema)
        ? value
        : Schema.encodeUnknownSync(schema as Schema.Schema<unknown>)(value)
    const text = JSON.stringify(encoded)
    if (text === undefined) return Effect.dieMessage("jobloom: a checkpoint must be a JSON value")
    return Effect.succeed(text)
  })

/** The stored checkpoint decoded by the type's Schema; None when there is none or it no longer decodes. */
export const decode = (type: JobType.Any | undefined, text: string | null | undefined): Option.Option<unknown> => {
  if (text === null || text === undefined) return Option.none()
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return Option.none()
  }
  const schema = type?.checkpoint
  if (schema === undefined || isOpaque(schema)) return Option.some(raw)
  return Option.getRight(Schema.decodeUnknownEither(schema as Schema.Schema<unknown>)(raw))
}

/**
 * Carries the stages the claimed row shows SUCCEEDED into the attempt's progress: they stay SUCCEEDED (progress 1,
 * params kept) in the next attempt. Only a row that has some pays for the parse.
 */
export const carrySucceeded = (json: string, progress: AttemptProgress): void => {
  if (!json.includes(`"SUCCEEDED"`)) return
  let stored: Progress
  try {
    stored = JSON.parse(json) as Progress
  } catch {
    return
  }
  for (const stage of stored?.stages ?? []) {
    if (stage?.status !== "SUCCEEDED") continue
    const target = progress.stage(stage.key)
    progress.setStatus(target, "SUCCEEDED")
    progress.setProgress(target, 1)
    for (const param of stage.params ?? []) {
      if (param.value !== null) progress.setParam(target, param.key, param.value)
    }
  }
  // carried, not changed: the row already shows it
  progress.dirty = false
}
