/**
 * What the worker and the promise bridge need of a handler, kept off the public `JobType` module: the Promise-side
 * context an async handler sees, and the failure reason a handler's error maps to (with an async rejection's own
 * name and stack).
 *
 * `JobType.ts` imports this module; the `JobFailure` class read here is used only inside functions.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type { TerminalReason } from "../Job.js"
import { JobFailure, type JobContext, type PromiseJobContext } from "../JobType.js"

/** A handler error's message. */
export const errorMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** The errors that async handlers rejected with, by the JobFailure that carries them (for name and stack). */
export const rejections = new WeakMap<JobFailure, Error>()

/** Wraps an Effect context into the Promise-side one. */
export const toPromiseContext = (
  context: JobContext,
  signal: AbortSignal,
  /** The handler's runtime: spawn and awaitJobs reach the engine through its services. */
  runtime: Runtime.Runtime<never> = Runtime.defaultRuntime
): PromiseJobContext => ({
  job: context.job,
  signal,
  checkpoint: (value) => Effect.runSync(context.checkpoint(value)),
  get lastCheckpoint() {
    return Option.getOrUndefined(context.lastCheckpoint)
  },
  stage: (key) => {
    const stage = context.stage(key)
    return {
      update: (patch) => Effect.runSync(stage.update(patch)),
      start: () => Effect.runSync(stage.start),
      progress: (value) => Effect.runSync(stage.progress(value)),
      param: (k, value, options) => Effect.runSync(stage.param(k, value, options)),
      complete: () => Effect.runSync(stage.complete),
      fail: () => Effect.runSync(stage.fail)
    }
  },
  items: {
    setTotal: (n) => Effect.runSync(context.items.setTotal(n)),
    completed: (n) => Effect.runSync(context.items.completed(n)),
    failed: (n) => Effect.runSync(context.items.failed(n)),
    pending: () => Effect.runPromise(context.items.pending),
    counts: () => Effect.runPromise(context.items.counts),
    add: (items) => Effect.runPromise(context.items.add(items)),
    start: (key) => Effect.runPromise(context.items.start(key)),
    complete: (key, output) => Effect.runPromise(context.items.complete(key, output)),
    fail: (key, error) => Effect.runPromise(context.items.fail(key, error))
  },
  log: {
    info: (m) => Effect.runSync(context.log.info(m)),
    warn: (m) => Effect.runSync(context.log.warn(m)),
    error: (m) => Effect.runSync(context.log.error(m))
  },
  spawn: (inputs, options) => Runtime.runPromise(runtime)(context.spawn(inputs, options), { signal }),
  awaitJobs: (ids) => Runtime.runPromise(runtime)(context.awaitJobs(ids), { signal })
})

/** The failure reason a handler error maps to. */
export const failureOf = (
  error: unknown
): {
  readonly message: string
  readonly tag?: string
  readonly retryable: boolean
  readonly reason: TerminalReason
  readonly stack?: string
} => {
  if (error instanceof JobFailure) {
    const rejected = rejections.get(error)
    return {
      message: error.message,
      tag: rejected === undefined ? "JobFailure" : rejected.name,
      retryable: error.retryable,
      reason: error.terminalReason ?? "error",
      ...(rejected?.stack === undefined ? {} : { stack: rejected.stack })
    }
  }
  const tag =
    typeof error === "object" && error !== null && "_tag" in error
      ? String((error as { _tag: unknown })._tag)
      : undefined
  const stack = error instanceof Error ? error.stack : undefined
  return {
    message: errorMessage(error),
    ...(tag === undefined ? {} : { tag }),
    retryable: true,
    reason: "error",
    ...(stack === undefined ? {} : { stack })
  }
}
