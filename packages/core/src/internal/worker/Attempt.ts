/**
 * Attempt: one claimed job, from its claim until its settlement is written (or it is lost). The attempt runs its
 * handler in a fiber of its own, and is settled by how that fiber ends, as Effect's `PersistedQueue.take` settles an
 * item by how its Scope closes: success → complete (or fail past the items threshold), failure → retry or fail,
 * interruption → release (shutdown), cancel, retry or time out, by the reason the worker stopped it. `close` is the
 * one place an attempt ends; it turns the exit into a `Verdict` at once, and the settler writes it.
 *
 * The attempt is a small class rather than a Scope object of Effect's: the worker ends thousands of attempts a
 * second, and closing one must not cost a run of the Effect runtime. Once decided it lets go of the row, the context
 * and the exit, so a short job's objects die young instead of waiting in the old generation for the settle.
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import { uuidv7 } from "uuidv7"
import * as JobMetrics from "../../JobMetrics.js"
import type { JobRow } from "../../JobStore.js"
import * as JobTracing from "../../JobTracing.js"
import type * as Tracer from "effect/Tracer"
import type { Any as AnyJobType, Handler, JobContext } from "../../JobType.js"
import { AttemptProgress, type ContextHost, makeJobContext } from "../context.js"
import {
  decide,
  HandlerFailed,
  Unrunnable,
  type AttemptError,
  type Decision,
  type StopReason
} from "../workerOutcome.js"
import type { Coders } from "./coders.js"

/** The attempt's handler still runs. */
export const Running = { _tag: "Running" } as const

/** The worker lost the job (its lease went to another): the attempt is never written. */
export const Lost = { _tag: "Lost" } as const

/** A decision that needs an Effect (an asynchronous result Schema, or a backoff schedule); the settler runs it. */
export class Deciding {
  readonly _tag = "Deciding"
  constructor(readonly decision: Effect.Effect<Decision>) {}
}

/** Where an attempt stands: running, lost, decided (a `Decision`), or deciding. */
export type Verdict = typeof Running | typeof Lost | Decision | Deciding

/** What every attempt of one worker shares. */
export interface Env {
  /** The worker's Clock (TestClock in tests), read without an Effect. */
  readonly clock: Clock.Clock
  readonly abandonAfter: Duration.Duration
  /** Runs the abandon timers (rare), on the worker's runtime. */
  readonly timerRuntime: Runtime.Runtime<never>
  readonly coders: Coders
  /** The attempt has a verdict: hand it to the settler. */
  readonly ended: (attempt: Attempt) => void
}

const asAttemptError = (error: unknown): AttemptError =>
  error instanceof Unrunnable ? error : new HandlerFailed(error)

/** A handler's end that stores no result. */
const succeededEmpty: Exit.Exit<string | null, AttemptError> = Exit.succeed(null)

/** A decision, or the Effect that makes it (the settler runs it). */
const verdict = (decision: Decision | Effect.Effect<Decision>): Decision | Deciding =>
  Effect.isEffect(decision) ? new Deciding(decision) : decision

/** The outcome label of a decided attempt (spans and metrics). */
const outcomeOf = (decision: Decision): string => {
  const settlement = decision.settlement
  switch (settlement._tag) {
    case "Complete":
      return "succeeded"
    case "Retry":
      return "retry"
    case "Fail":
      return settlement.status === "TIMED_OUT" ? "timed_out" : "failed"
    case "Cancelled":
      return "cancelled"
    case "Release":
      return "released"
  }
}

/** One claimed job and its attempt. */
export class Attempt {
  readonly id: string
  readonly callbackUrl: string | null
  /** The job's type and queue, for the metrics of its outcome (kept after the row is let go). */
  readonly jobType: string
  readonly queue: string
  /** When the claim started the attempt (epoch ms). */
  readonly startedAt: number
  /** The attempt's span, under a host tracer (`JobTracing.startAttempt`). */
  span: Tracer.Span | undefined = undefined
  readonly progress: AttemptProgress
  /** The claimed row, until the attempt is decided. */
  row: JobRow | undefined
  /** The handler's context, until the attempt is decided. */
  context: JobContext | undefined
  verdict: Verdict = Running
  /** Why the worker stopped the attempt; the first reason wins. */
  stopped: StopReason | null = null
  /** The fiber running the handler, once it runs. */
  fiber: Fiber.RuntimeFiber<Exit.Exit<unknown, unknown>> | undefined = undefined
  /** When the attempt ended (epoch ms). */
  endedAt = 0
  /**
   * Until when the lease is known to hold (epoch ms, with a margin): the claim's or the last confirmed heartbeat's
   * time plus the lease. Past it, another worker may have been given the job, so the attempt stops.
   */
  confirmedUntil = 0
  /** Whether the worker's `Held` counts this attempt (from its hold until its release). */
  held = false
  /** The timer that abandons a stopped handler that does not end (see `abandonAfter`). */
  private abandon: Fiber.RuntimeFiber<void> | undefined = undefined

  constructor(
    row: JobRow,
    /** The token of the claim that took the job: every write about this attempt is guarded by it. */
    readonly token: string,
    readonly handler: Handler | undefined,
    readonly type: AnyJobType | undefined,
    host: ContextHost<Attempt>,
    private readonly env: Env
  ) {
    this.id = row.id
    this.callbackUrl = row.callbackUrl
    this.jobType = row.type
    this.queue = row.queue
    this.startedAt = row.startedAt ?? 0
    this.row = row
    this.progress = new AttemptProgress(type)
    this.context = makeJobContext(row, this.progress, host, this, type)
  }

  /** Whether the handler still runs (no verdict yet). */
  get running(): boolean {
    return this.verdict === Running
  }

  /**
   * Stops the attempt: the first reason wins, and the fiber (once it runs) is interrupted, never awaited. The
   * attempt ends when the handler has really ended (a Promise handler's promise settled, finalizers run); one that
   * has not after `abandonAfter` is abandoned: it is closed without it, with a warning.
   */
  stop(reason: StopReason): void {
    if (this.stopped !== null || this.verdict !== Running) return
    this.stopped = reason
    this.fiber?.unsafeInterruptAsFork(FiberId.none)
    const { abandonAfter } = this.env
    this.abandon = Runtime.runFork(this.env.timerRuntime)(
      Effect.sleep(abandonAfter).pipe(
        Effect.zipRight(
          Effect.suspend(() =>
            this.verdict !== Running
              ? Effect.void
              : Effect.zipRight(
                  Effect.logWarning(
                    `jobloom: the handler of job ${this.id} did not end within ${Duration.format(abandonAfter)} ` +
                      `of being stopped (${reason}); abandoned, its slot is freed while it may still run`
                  ),
                  Effect.sync(() => this.close(Exit.interrupt(FiberId.none)))
                )
          )
        )
      )
    )
  }

  /** The attempt ended with this exit (its fiber's, or a failure when it could not run): decide and hand it on. */
  close(exit: Exit.Exit<unknown, unknown>): void {
    if (this.verdict !== Running) return
    if (this.abandon !== undefined) {
      this.abandon.unsafeInterruptAsFork(FiberId.none)
      this.abandon = undefined
    }
    this.endedAt = this.env.clock.unsafeCurrentTimeMillis()
    // nothing interrupts an ended attempt: let the fiber go now rather than when its settlement is written (held
    // that long, every fiber would outlive a young-generation collection and fill the old generation)
    this.fiber = undefined
    const verdict = this.stopped === "lost" ? Lost : this.verdictOf(exit)
    this.verdict = verdict
    const outcome =
      verdict._tag === "Lost"
        ? "lost"
        : verdict._tag === "Decision"
          ? // a pause settles as a release; spans and metrics name it
            this.stopped === "pause" && verdict.settlement._tag === "Release"
            ? "paused"
            : outcomeOf(verdict)
          : "deciding"
    JobMetrics.recordAttempt(this.jobType, this.queue, outcome, this.endedAt - this.startedAt)
    JobTracing.endAttempt(this.span, outcome, exit, this.env.clock)
    this.span = undefined
    // let go of what only the decision needed (a Deciding verdict still reads the row when the settler runs it)
    if (verdict._tag !== "Deciding") {
      this.row = undefined
      this.context = undefined
    }
    this.env.ended(this)
  }

  private decideWith(exit: Exit.Exit<string | null, AttemptError>): Decision | Effect.Effect<Decision> {
    return decide({
      row: this.row!,
      token: this.token,
      type: this.type,
      exit,
      stop: this.stopped === "lost" ? null : this.stopped,
      now: this.endedAt,
      progress: this.progress,
      newId: uuidv7
    })
  }

  private verdictOf(raw: Exit.Exit<unknown, unknown>): Decision | Deciding {
    if (Exit.isFailure(raw)) return verdict(this.decideWith(Exit.failCause(Cause.map(raw.cause, asAttemptError))))
    const result = this.env.coders.resultOf(this.handler!.type, raw.value)
    // no result (the usual no-op end): one shared exit rather than one per attempt
    if (result === null) return verdict(this.decideWith(succeededEmpty))
    if (typeof result === "string") return verdict(this.decideWith(Exit.succeed(result)))
    if (result instanceof Unrunnable) return verdict(this.decideWith(Exit.fail(result)))
    return new Deciding(
      Effect.flatMap(Effect.exit(result), (exit) => {
        const decision = this.decideWith(exit)
        return Effect.isEffect(decision) ? decision : Effect.succeed(decision)
      })
    )
  }
}
