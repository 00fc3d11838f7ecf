/**
 * `pnpm start` of this example: runs the host's program once and exits.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { EngineLive, program } from "./host.js"

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(EngineLive)))
