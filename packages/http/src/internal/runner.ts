/**
 * Runs engine Effects from Hono handlers, on either a `ManagedRuntime` (the Promise facade, most hosts) or a plain
 * `Runtime` (an Effect host that built the app inside its own program).
 */
import type { Jobs } from "@jobloom/core"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"

/** Where the router runs its Effects: anything that provides the engine. */
export type JobsRuntime = ManagedRuntime.ManagedRuntime<Jobs.Jobs, unknown> | Runtime.Runtime<Jobs.Jobs>

/** The two ways the router runs an Effect. */
export interface Runner {
  readonly runExit: <A, E>(effect: Effect.Effect<A, E, Jobs.Jobs>) => Promise<Exit.Exit<A, unknown>>
  readonly runFork: <A, E>(effect: Effect.Effect<A, E, Jobs.Jobs>) => Fiber.RuntimeFiber<A, unknown>
}

/** A runner over either kind of runtime. */
export const make = (runtime: JobsRuntime): Runner => {
  if (ManagedRuntime.isManagedRuntime(runtime)) {
    const managed = runtime as ManagedRuntime.ManagedRuntime<Jobs.Jobs, unknown>
    return { runExit: (effect) => managed.runPromiseExit(effect), runFork: (effect) => managed.runFork(effect) }
  }
  const plain = runtime as Runtime.Runtime<Jobs.Jobs>
  return {
    runExit: (effect) => Runtime.runPromiseExit(plain)(effect),
    runFork: (effect) => Runtime.runFork(plain)(effect)
  }
}
