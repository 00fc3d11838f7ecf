/**
 * Launcher: turns claimed rows into running attempts. Each attempt gets its context, a start line in its log, and
 * a fiber of its own for its handler, started at once on the caller's stack on a runtime that already holds the
 * handler's services (no job pays for `provide`); params are decoded synchronously when the Schema allows, and the
 * attempt's timeout or deadline is a child timer of that fiber. The fiber's end closes the attempt (`Attempt.close`).
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type { JobEvent } from "../../Jobs.js"
import type { JobRow } from "../../JobStore.js"
import * as JobTracing from "../../JobTracing.js"
import type * as Tracer from "effect/Tracer"
import { JobRegistry, type Handler, type JobContext } from "../../JobType.js"
import type { ContextHost } from "../context.js"
import { startMessage } from "../engineLines.js"
import { JobEvents } from "../jobEvents.js"
import { Unrunnable } from "../workerOutcome.js"
import { Attempt, type Env } from "./Attempt.js"
import { Coders } from "./coders.js"
import { Config } from "./Config.js"
import { Flusher } from "./Flusher.js"
import { Held } from "./Held.js"
import { Leases } from "./Leases.js"
import { Finisher } from "./Finisher.js"
import { Wakes } from "./Wakes.js"

/** The attempt starter of one worker. */
export class Launcher extends Context.Tag("@jobloom/core/worker/Launcher")<Launcher, Launcher.Service>() {}

/** The types of the `Launcher` service. */
export declare namespace Launcher {
  /** What the claimer calls. */
  export interface Service {
    /** Starts an attempt for each row one claim (`token`) took at `now`. */
    readonly start: (rows: ReadonlyArray<JobRow>, token: string, now: number) => Effect.Effect<void>
  }
}

/** How a handler is started: on a runtime that already holds its requirements. */
interface Runner {
  readonly runtime: Runtime.Runtime<never>
  readonly run: (params: unknown, context: JobContext) => Effect.Effect<unknown, unknown>
}

/** The earliest of the attempt's timeout and the job's deadline, with which one it is. */
const limitOf = (row: JobRow): { readonly at: number; readonly reason: "timeout" | "deadline" } | null => {
  const started = row.startedAt ?? 0
  const timeoutAt = row.timeoutMs === null ? null : started + row.timeoutMs
  if (timeoutAt !== null && (row.deadline === null || timeoutAt < row.deadline)) {
    return { at: timeoutAt, reason: "timeout" }
  }
  return row.deadline === null ? null : { at: row.deadline, reason: "deadline" }
}

/** Builds the launcher of one worker. */
export const make = Effect.gen(function* () {
  const config = yield* Config
  const registry = yield* JobRegistry
  const events = yield* JobEvents
  const flusher = yield* Flusher
  const held = yield* Held
  const leases = yield* Leases
  const finisher = yield* Finisher
  const wakes = yield* Wakes
  // read without an Effect on the hot path; it is the fiber's Clock service, so TestClock drives it in tests
  const clock: Clock.Clock = yield* Effect.clock
  const { workerId } = config
  const coders = new Coders()

  // handlers (and the rare abandon timers) run on the worker's own runtime (its services, TestClock in tests),
  // always interruptible
  const base = yield* Effect.runtime<never>()
  const runtimeFlags = RuntimeFlags.enable(base.runtimeFlags, RuntimeFlags.Interruption)
  const runners = new Map<Handler, Runner>()
  const runnerOf = (handler: Handler): Runner => {
    let runner = runners.get(handler)
    if (runner === undefined) {
      const unprovided = handler.unprovided
      runner = {
        runtime: Runtime.make({
          context:
            unprovided === undefined
              ? base.context
              : (Context.merge(base.context, unprovided.context) as Context.Context<never>),
          fiberRefs: base.fiberRefs,
          runtimeFlags
        }),
        run: (unprovided?.run ?? handler.run) as Runner["run"]
      }
      runners.set(handler, runner)
    }
    return runner
  }

  const env: Env = {
    clock,
    abandonAfter: config.abandonAfter,
    timerRuntime: base,
    coders,
    ended: (attempt) => {
      held.executing--
      finisher.submit(attempt)
      wakes.roomMade()
    }
  }

  const host: ContextHost<Attempt> = {
    markDirty: flusher.markDirty,
    log: (attempt, at, level, message) => flusher.log(attempt.id, at, level, message, attempt.token),
    heartbeat: (attempt) => Effect.suspend(() => leases.renew([attempt])),
    items: (attempt) => flusher.itemsHost(attempt.token)
  }

  /** Starts one attempt's handler; its end is observed, not awaited. */
  const run = (attempt: Attempt, row: JobRow, context: JobContext, now: number): void => {
    const { handler } = attempt
    if (handler === undefined) {
      return attempt.close(Exit.fail(new Unrunnable(`no handler is registered for job type "${row.type}"`)))
    }
    const params = coders.paramsOf(handler.type, row)
    if (params instanceof Unrunnable) return attempt.close(Exit.fail(params))
    const runner = runnerOf(handler)
    let effect: Effect.Effect<unknown, unknown>
    if (Effect.isEffect(params)) {
      effect = Effect.flatMap(params, (value) => runner.run(value, context))
    } else {
      try {
        effect = runner.run(params.value, context)
      } catch (defect) {
        // a handler that throws instead of returning an Effect: a defect, like one thrown inside it
        return attempt.close(Exit.die(defect))
      }
    }
    const limit = limitOf(row)
    if (limit !== null) {
      // a child timer: it dies with the attempt's fiber when the attempt ends first
      const timer = Effect.zipRight(
        Effect.sleep(Math.max(0, limit.at - now)),
        Effect.sync(() => attempt.stop(limit.reason))
      )
      effect = Effect.zipRight(Effect.fork(timer), effect)
    }
    // the fiber succeeds with the attempt's exit: a failed attempt is the worker's to report, and a fiber that
    // fails would log "Fiber terminated with an unhandled error" at Debug
    // the handler's own spans and log lines nest under the attempt's span
    const fiber = Runtime.runFork(runner.runtime, Effect.exit(JobTracing.underAttempt(effect, attempt.span)))
    attempt.fiber = fiber
    fiber.addObserver((exit) => attempt.close(Exit.isSuccess(exit) ? exit.value : exit))
    // stopped while the handler ran its first synchronous steps (a heartbeat that found the lease gone)
    if (attempt.stopped !== null && attempt.running) fiber.unsafeInterruptAsFork(FiberId.none)
  }

  const launch = (
    rows: ReadonlyArray<JobRow>,
    token: string,
    now: number,
    spans?: ReadonlyArray<Tracer.Span | undefined>
  ): void => {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!
      const handler = registry.handlers.get(row.type)
      const attempt = new Attempt(row, token, handler, handler?.type ?? registry.types.get(row.type), host, env)
      attempt.span = spans?.[i]
      attempt.confirmedUntil = now + config.leaseSafeMs
      // claimed again while an older attempt still runs here: that attempt lost its lease, so stop it
      held.hold(attempt)?.stop("lost")
      held.executing++
      flusher.started({ jobId: row.id, at: now, level: "info", message: startMessage(row, workerId), token })
      run(attempt, row, attempt.context!, now)
    }
  }

  const service: Launcher.Service = {
    start: (rows, token, now) => {
      // the attempts' spans only under a host tracer: without one, launching costs what it did before
      const go = Effect.tracerWith((tracer) =>
        JobTracing.isExporting(tracer)
          ? Effect.flatMap(
              Effect.forEach(rows, (row) => JobTracing.startAttempt(row, { workerId })),
              (spans) => Effect.sync(() => launch(rows, token, now, spans))
            )
          : Effect.sync(() => launch(rows, token, now))
      )
      if (!events.listening()) return go
      // RUNNING is published before any attempt can settle, so subscribers see the statuses in order
      const running = rows.map((row): JobEvent => ({
        _tag: "status",
        jobId: row.id,
        status: "RUNNING",
        terminalReason: null
      }))
      return Effect.zipRight(events.publishAll(running), go)
    }
  }
  return service
})

/** The launcher, over the worker's other parts and the registry. */
export const layer: Layer.Layer<Launcher, never, Config | JobRegistry | Flusher | Held | Leases | Finisher | Wakes> =
  Layer.effect(Launcher, make)
