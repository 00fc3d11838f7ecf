/**
 * The in-memory `JobStore`: the reference implementation of the port, for tests and single-process hosts that need
 * no durability. Every method is atomic; signals reach only this process's subscribers.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/memoryStore.js"
import { JobStore } from "./JobStore.js"

/** A fresh, empty in-memory store. */
export const make: Effect.Effect<JobStore.Service> = internal.make

/** A fresh, empty in-memory store as a layer. */
export const layer: Layer.Layer<JobStore> = Layer.effect(JobStore, make)
