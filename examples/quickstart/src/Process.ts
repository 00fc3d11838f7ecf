/**
 * Running a server as the process's main program: until SIGINT or SIGTERM, then a normal (not interrupted) close of
 * its scope, so every finalizer runs in full, the worker's grace period included. The quickstart's and each process
 * of `examples/postgres-workers` (which imports this file rather than keep a copy of it).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"

const signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM"]

/**
 * Waits for SIGINT or SIGTERM. Later signals are ignored while the shutdown runs (its length is bounded by the
 * grace period): a Ctrl-C often arrives twice, once from the terminal and once relayed by a wrapper such as tsx or
 * pnpm, and the second must not cut the graceful shutdown short.
 */
export const awaitSignal: Effect.Effect<NodeJS.Signals> = Effect.async((resume) => {
  const ignore = () => {}
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of signals) {
      process.off(s, onSignal)
      // a listener must stay: with none, Node (or tsx's loader) ends the process on the next signal
      process.on(s, ignore)
    }
    resume(Effect.succeed(signal))
  }
  for (const s of signals) process.on(s, onSignal)
  return Effect.sync(() => signals.forEach((s) => process.off(s, onSignal)))
})

/** Builds the layer, serves until a signal, says so with `onSignal`, then closes it. */
export const serveUntilSignal = <E>(
  layer: Layer.Layer<never, E>,
  onSignal: (signal: NodeJS.Signals) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<void, E> => Effect.scoped(Effect.zipRight(Layer.build(layer), Effect.flatMap(awaitSignal, onSignal)))

/**
 * Runs the program and exits: 0 when it succeeds, 1 with the cause printed when it fails. (Effect's own
 * `runMain` interrupts the program on a signal instead; a shutdown is not an error, so it is not modelled as one.)
 */
export const runMain = <E>(program: Effect.Effect<void, E>): void => {
  void Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isFailure(exit)) console.error(failureLine(exit.cause))
    process.exit(Exit.isSuccess(exit) ? 0 : 1)
  })
}

/** A start-up failure (the store cannot open, the port is taken, a directory cannot be made) as one line. */
const failureLine = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
  const text = message ? String((error as { message: unknown }).message) : String(error)
  return `jobloom: ${text.replace(/\s*\n\s*/g, " ")}`
}
