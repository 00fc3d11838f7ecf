/**
 * Health probes as Hono handlers a host mounts where it likes (the quickstart and `jobloom serve` at `/health` and
 * `/ready`): for load balancers and Kubernetes liveness and readiness probes.
 *
 * - `health()`: the process is up and answering (200, always; it touches nothing).
 * - `ready({ runtime })`: the store answers, its schema is current, and (with `worker: true`) a worker of this
 *   process is running: 200, else 503, with a JSON body naming each check.
 *
 * @since 0.1.0
 */
import { JobMetrics, Jobs, JobStore } from "@jobloom/core"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Context } from "hono"
import * as Runner from "./internal/runner.js"

/** The outcome of one readiness check. */
export type CheckStatus = "ok" | "failed" | "skipped"

/** The body of a `ready()` answer. */
export interface Readiness {
  readonly status: "ready" | "unavailable"
  readonly checks: {
    /** The store answered. */
    readonly store: CheckStatus
    /** Every migration this version knows is applied ("skipped" for a store without a schema check). */
    readonly migrations: CheckStatus
    /** A worker of this process is running ("skipped" unless `worker: true`). */
    readonly worker: CheckStatus
  }
}

/** Options of {@link ready}. */
export interface ReadyOptions {
  /** The engine's runtime; its `JobStore`, when it provides one, is checked directly (schema included). */
  readonly runtime: Runner.JobsRuntime
  /** Require a running worker in this process (a process that runs jobs). Default false. */
  readonly worker?: boolean
  /** A store that has not answered by then is down. Default 2 s. */
  readonly timeout?: Duration.DurationInput
}

const headers = { "cache-control": "no-store" }

/** A handler that answers 200 `{ "status": "ok" }` while the process is up. */
export const health = (): ((c: Context<any>) => Response) => (c) => c.json({ status: "ok" }, 200, headers)

/** Ids are never this long, so the fallback probe reads nothing and fails fast with `JobNotFound`. */
const probeId = "jobloom-readiness-probe"

/** The store's own check, or a read by id (a `JobNotFound` answer proves the store answered). */
const storeCheck = (
  timeout: Duration.Duration
): Effect.Effect<Pick<Readiness["checks"], "store" | "migrations">, never, Jobs.Jobs> =>
  Effect.gen(function* () {
    const store = yield* Effect.serviceOption(JobStore.JobStore)
    const probe: Effect.Effect<CheckStatus, JobStore.JobStoreError, Jobs.Jobs> =
      Option.isSome(store) && store.value.check !== undefined
        ? Effect.as(store.value.check, "ok")
        : Option.isSome(store)
          ? Effect.as(store.value.get({ id: probeId }), "skipped")
          : Jobs.Jobs.pipe(
              Effect.flatMap((jobs) => jobs.get(probeId)),
              Effect.as<CheckStatus>("skipped"),
              Effect.catchTag("JobNotFound", () => Effect.succeed<CheckStatus>("skipped"))
            )
    const exit = yield* Effect.exit(Effect.timeout(probe, timeout))
    if (Exit.isSuccess(exit)) return { store: "ok", migrations: exit.value } as const
    const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
    // a schema behind or ahead is a store that answered
    if (failure instanceof JobStore.JobStoreError && failure.reason === "Corrupt") {
      yield* Effect.logWarning(`jobloom ready: ${failure.message}`)
      return { store: "ok", migrations: "failed" } as const
    }
    yield* Effect.logWarning(
      `jobloom ready: store unavailable: ${failure instanceof Error ? failure.message : "no answer in time"}`
    )
    return { store: "failed", migrations: "skipped" } as const
  })

/** A handler that answers 200 when the store answers, its schema is current and (if asked) a worker runs; else 503. */
export const ready = (options: ReadyOptions): ((c: Context<any>) => Promise<Response>) => {
  const runner = Runner.make(options.runtime)
  const timeout = Duration.decode(options.timeout ?? Duration.seconds(2))
  return async (c) => {
    const exit = await runner.runExit(storeCheck(timeout))
    const store = Exit.isSuccess(exit) ? exit.value : ({ store: "failed", migrations: "skipped" } as const)
    const worker: CheckStatus =
      options.worker === true ? (JobMetrics.runningWorkers() > 0 ? "ok" : "failed") : "skipped"
    const checks = { ...store, worker }
    const ok = checks.store === "ok" && checks.migrations !== "failed" && checks.worker !== "failed"
    const body: Readiness = { status: ok ? "ready" : "unavailable", checks }
    return c.json(body, ok ? 200 : 503, headers)
  }
}
