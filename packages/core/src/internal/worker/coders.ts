/**
 * Coders: the params decoder and result encoder of each job type, built once per worker and type. Kept off the
 * Effect runtime when the Schema is synchronous (ParseResult's parsers then answer an Either), and skipped entirely
 * for Schemas that accept any value as is.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import type { JobRow } from "../../JobStore.js"
import type { Any as AnyJobType } from "../../JobType.js"
import { Unrunnable } from "../workerOutcome.js"

type Coder = ((u: unknown) => Effect.Effect<unknown, ParseResult.ParseIssue>) | null

/** The message of a thrown value. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** A result's JSON text: null when there is none (undefined), an `Unrunnable` when it cannot be serialized. */
const stringify = (encoded: unknown): string | null | Unrunnable => {
  if (encoded === undefined) return null
  try {
    return JSON.stringify(encoded) ?? "null"
  } catch (error) {
    return new Unrunnable(`result is not JSON-serializable: ${messageOf(error)}`)
  }
}

const paramsUnrunnable = (type: AnyJobType, issue: ParseResult.ParseIssue) =>
  new Unrunnable(`params do not match job type "${type.key}": ${ParseResult.TreeFormatter.formatIssueSync(issue)}`)

/** Schemas that accept and return any value as is: decoding or encoding with them is skipped. */
const isOpaque = (schema: Schema.Schema.Any): boolean =>
  schema.ast._tag === "UnknownKeyword" || schema.ast._tag === "AnyKeyword"

const coderOf = (cache: Map<AnyJobType, Coder>, type: AnyJobType, schema: Schema.Schema.Any, decoding: boolean) => {
  let coder = cache.get(type)
  if (coder === undefined) {
    coder = isOpaque(schema)
      ? null
      : decoding
        ? ParseResult.decodeUnknown(schema as Schema.Schema<unknown, unknown, never>)
        : ParseResult.encodeUnknown(schema as Schema.Schema<unknown, unknown, never>)
    cache.set(type, coder)
  }
  return coder
}

/** The coders of one worker, cached by job type. */
export class Coders {
  private readonly decoders = new Map<AnyJobType, Coder>()
  private readonly encoders = new Map<AnyJobType, Coder>()

  /** The handler's params from the row: a value, an `Unrunnable`, or an Effect for an asynchronous Schema. */
  paramsOf(
    type: AnyJobType,
    row: JobRow
  ): { readonly value: unknown } | Unrunnable | Effect.Effect<unknown, Unrunnable> {
    let raw: unknown
    try {
      raw = JSON.parse(row.params)
    } catch (error) {
      return new Unrunnable(`params are not valid JSON: ${messageOf(error)}`)
    }
    const decode = coderOf(this.decoders, type, type.params, true)
    if (decode === null) return { value: raw }
    const decoded = decode(raw)
    if (Either.isEither(decoded)) {
      return Either.isRight(decoded)
        ? { value: decoded.right }
        : paramsUnrunnable(type, decoded.left as ParseResult.ParseIssue)
    }
    return Effect.mapError(decoded, (issue) => paramsUnrunnable(type, issue))
  }

  /**
   * The result's JSON text (null when the handler returned nothing: no result is stored), an `Unrunnable`, or an
   * Effect for an asynchronous Schema.
   */
  resultOf(type: AnyJobType, value: unknown): string | null | Unrunnable | Effect.Effect<string | null, Unrunnable> {
    const encode = coderOf(this.encoders, type, type.result, false)
    // the common case (an opaque result Schema) allocates nothing more than the JSON text
    if (encode === null) return stringify(value)
    const unrunnable = (issue: ParseResult.ParseIssue) =>
      new Unrunnable(
        `result does not match job type "${type.key}": ${ParseResult.TreeFormatter.formatIssueSync(issue)}`
      )
    const encoded = encode(value)
    if (Either.isEither(encoded)) {
      return Either.isRight(encoded) ? stringify(encoded.right) : unrunnable(encoded.left as ParseResult.ParseIssue)
    }
    return Effect.flatMap(Effect.mapError(encoded, unrunnable), (right) => {
      const text = stringify(right)
      return text instanceof Unrunnable ? Effect.fail(text) : Effect.succeed(text)
    })
  }
}
