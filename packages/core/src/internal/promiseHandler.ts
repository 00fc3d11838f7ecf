/**
 * An async-function handler as an Effect whose interruption waits for the function: interrupting aborts its
 * `AbortSignal`, then waits until its promise settles, so the attempt (and its slot) ends when the handler has really
 * ended. `Effect.tryPromise` would end at once and leave the function running beside the next attempt. A function
 * that ignores the signal is waited for until the worker abandons it (`WorkerOptions.abandonAfter`).
 */
import * as Effect from "effect/Effect"

/** Runs `run` with a fresh signal; interruption aborts the signal and waits for the promise to settle. */
export const fromAbortable = <A, E>(
  run: (signal: AbortSignal) => PromiseLike<A>,
  onError: (cause: unknown) => E
): Effect.Effect<A, E> =>
  Effect.async<A, E>((resume) => {
    const controller = new AbortController()
    let interrupted = false
    let promise: PromiseLike<A>
    try {
      promise = run(controller.signal)
    } catch (error) {
      // a function that throws before returning a promise fails like one whose promise rejects
      promise = Promise.reject(error)
    }
    const settled = Promise.resolve(promise).then(
      (value) => {
        if (!interrupted) resume(Effect.succeed(value))
      },
      (error) => {
        if (!interrupted) resume(Effect.fail(onError(error)))
      }
    )
    return Effect.async<void>((done) => {
      interrupted = true
      controller.abort()
      void settled.then(() => done(Effect.void))
    })
  })
