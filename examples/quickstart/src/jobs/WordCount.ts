/**
 * The `wordcount` job type, served by the Modzy and super.AI routers: each item (a Modzy source, a super.AI input)
 * gets the number of whitespace-separated words of its text as its output `{ words }`. An input whose text is exactly
 * `FAIL` fails its item. More than half of the items failing fails the job (the type's item failure threshold): a
 * Modzy job with one bad source among good ones ends COMPLETED with the failure listed, a super.AI job (one input)
 * whose input is `FAIL` ends FAILED.
 */
import type { JobStore } from "@jobloom/core"
import { JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** An item's output. */
export const WordCountOutput = Schema.Struct({ words: Schema.Int }).annotations({ identifier: "WordCountOutput" })

/** The `wordcount` job type definition. */
export const WordCount = JobType.make({
  key: "wordcount",
  name: "Word count",
  description: "Counts the words of each input's text; an input that is exactly FAIL fails",
  items: { output: WordCountOutput, failureThreshold: 0.5 },
  retry: { maxAttempts: 1 }
})

/** A data URI's bytes as text; any other string as it is. */
const decode = (value: string): string => {
  const match = /^data:[^,]*;base64,(.*)$/s.exec(value)
  return match === null ? value : Buffer.from(match[1]!, "base64").toString("utf8")
}

/**
 * The text of an item's input: a string, or the string values of an object joined by spaces (Modzy's named inputs
 * of a source, super.AI's input fields); data URIs are decoded.
 */
export const textOf = (input: unknown): string => {
  if (typeof input === "string") return decode(input)
  if (typeof input === "object" && input !== null) {
    return Object.values(input)
      .filter((value): value is string => typeof value === "string")
      .map(decode)
      .join(" ")
  }
  return ""
}

/** Counts the words of every item not done yet. */
export const run = (_: unknown, context: JobType.JobContext): Effect.Effect<void, JobStore.JobStoreError> =>
  Effect.gen(function* () {
    const todo = yield* context.items.pending
    yield* context.log.info(`Counting words of ${todo.length} inputs`)
    for (const item of todo) {
      yield* context.items.start(item.key)
      const text = textOf(item.input)
      if (text === "FAIL") {
        yield* context.items.fail(item.key, `the text of input ${item.key} is FAIL`)
        yield* context.log.warn(`input ${item.key} failed`)
      } else {
        yield* context.items.complete(item.key, { words: text.split(/\s+/).filter((word) => word !== "").length })
      }
    }
  })

/** The `wordcount` handler as a layer. */
export const layer: Layer.Layer<never, never, JobType.JobRegistry> = JobType.toLayer(WordCount, run)
