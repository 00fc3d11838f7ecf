// Shared pieces of the Modzy and super.AI router tests: a word-count type over items, an engine with a worker.
import { JobType, Jobs, MemoryJobStore, Worker } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"

/** Words per item text (string values of the input joined; data URIs decoded); exactly `FAIL` fails the item. */
export const Words = JobType.make({
  key: "words",
  name: "Words",
  items: { output: Schema.Struct({ words: Schema.Int }), failureThreshold: 0.5 },
  retry: { maxAttempts: 1 }
})

const decode = (value: string) => {
  const match = /^data:[^,]*;base64,(.*)$/s.exec(value)
  return match === null ? value : Buffer.from(match[1]!, "base64").toString("utf8")
}

const textOf = (input: unknown): string =>
  typeof input === "string"
    ? decode(input)
    : typeof input === "object" && input !== null
      ? Object.values(input)
          .filter((v): v is string => typeof v === "string")
          .map(decode)
          .join(" ")
      : ""

/** The handler of `Words`. */
export const wordsHandler = JobType.toLayer(Words, (_, context) =>
  Effect.gen(function* () {
    for (const item of yield* context.items.pending) {
      yield* context.items.start(item.key)
      const text = textOf(item.input)
      if (text === "FAIL") yield* context.items.fail(item.key, `input ${item.key} asked to fail`)
      else yield* context.items.complete(item.key, { words: text.split(/\s+/).filter((w) => w !== "").length })
    }
  })
)

/** A runtime with the engine over a memory store, `Words` registered, and a worker unless `worker` is false. */
export const compatRuntime = (options: { readonly worker?: boolean } = {}) => {
  const engine = wordsHandler.pipe(
    Layer.provideMerge(Jobs.layer({ types: [Words] })),
    Layer.provideMerge(MemoryJobStore.layer)
  )
  return ManagedRuntime.make(
    options.worker === false
      ? engine
      : Worker.layer({ flushInterval: "5 millis", pollInterval: "20 millis" }).pipe(Layer.provideMerge(engine))
  )
}

/** Polls `f` until `until` holds (at most ~5 s of real time: the worker runs on live time here). */
export const poll = async <A>(f: () => Promise<A>, until: (a: A) => boolean): Promise<A> => {
  for (let i = 0; i < 250; i++) {
    const value = await f()
    if (until(value)) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error("condition not reached")
}
