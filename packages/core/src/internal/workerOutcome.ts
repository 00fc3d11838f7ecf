/**
 * How the worker turns the end of one attempt into a settlement: the pure part of settling, kept apart from the
 * fibers so each rule reads on its own.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import { formatTime, type ItemCounts, type Progress, type TerminalReason } from "../Job.js"
import type { JobRow, Settlement } from "../JobStore.js"
import * as JobType from "../JobType.js"
import { failureOf } from "./handlerFailure.js"
import { successMessage } from "./engineLines.js"

/** Why the worker interrupted an attempt. First reason wins. */
export type StopReason =
  /** The job was cancelled (status CANCELLING): settle `Cancelled`. */
  | "cancel"
  /** The worker no longer holds the lease (rescued, expired, deleted): never settle. */
  | "lost"
  /** The job was paused (status PAUSING): settle `Release`, which the store turns into PAUSED. */
  | "pause"
  /** Graceful shutdown after the grace period: settle `Release`. */
  | "shutdown"
  /** `timeoutMs` elapsed: retry or TIMED_OUT/timeout. */
  | "timeout"
  /** `deadline` passed: TIMED_OUT/expired. */
  | "deadline"

/** An attempt that cannot succeed by retrying: bad data, not the handler's doing. */
export class Unrunnable {
  readonly _tag = "Unrunnable"
  constructor(readonly message: string) {}
}

/** A failure of the handler itself, kept apart from the worker's own checks. */
export class HandlerFailed {
  readonly _tag = "HandlerFailed"
  constructor(readonly error: unknown) {}
}

/** What an attempt fails with. */
export type AttemptError = Unrunnable | HandlerFailed

/** The end of an attempt as the worker saw it. */
export interface AttemptEnd {
  readonly row: JobRow
  /** The token of the claim that ran the attempt: the settlement is guarded by it. */
  readonly token: string
  readonly type: JobType.Any | undefined
  /** The attempt's exit: the encoded result JSON on success, null when the handler returned nothing. */
  readonly exit: Exit.Exit<string | null, AttemptError>
  /** Why the worker stopped the attempt, if it did (a lost attempt never gets here: it is not written). */
  readonly stop: Exclude<StopReason, "lost"> | null
  readonly now: number
  /** The attempt's final progress as JSON text, with the summary forced when given (1 on success). */
  readonly progress: {
    readonly toJson: (status: Progress["summary"]["status"], summary?: number) => string
    /** The attempt's last checkpoint (JSON text), written with its settlement; undefined when it saved none. */
    readonly checkpoint?: string | undefined
    /** The attempt's item counters, for the type's failure threshold. */
    readonly itemCounts?: () => ItemCounts | null
  }
  readonly newId: () => string
}

/** A decided settlement, with the engine's end-of-attempt log line. */
export interface Decision {
  readonly _tag: "Decision"
  readonly settlement: Settlement
  readonly level: "info" | "warn" | "error"
  readonly message: string
  /** The terminal reason the settlement records, for the status event. */
  readonly reason: TerminalReason | null
}

const lastError = (message: string, now: number, tag?: string, stack?: string): string =>
  JSON.stringify({
    message,
    ...(tag === undefined ? {} : { tag }),
    at: formatTime(now),
    ...(stack === undefined ? {} : { stack })
  })

/**
 * The delay before the retry that follows attempt `attempt` (1-based): the schedule's `attempt`-th delay, or None
 * when the schedule is exhausted by then (no more retries).
 */
export const nthDelay = (schedule: Schedule.Schedule<unknown>, attempt: number, now: number) =>
  Effect.gen(function* () {
    const delays = Schedule.delays(schedule)
    let state = delays.initial
    let at = now
    let delay = Duration.zero
    for (let i = 0; i < attempt; i++) {
      const [next, out, decision] = yield* delays.step(at, undefined, state)
      if (ScheduleDecision.isDone(decision)) return Option.none<Duration.Duration>()
      state = next
      delay = out
      at += Duration.toMillis(out)
    }
    return Option.some(delay)
  })

const describeDelay = (millis: number): string =>
  millis < 1000 ? `${Math.round(millis)} ms` : `${Math.round(millis / 100) / 10} s`

/** Retry with backoff when attempts and schedule allow, else the given terminal failure. */
const retryOr = (
  end: AttemptEnd,
  message: string,
  tag: string | undefined,
  terminal: { readonly status: "FAILED" | "TIMED_OUT"; readonly reason: "error" | "timeout" },
  stack?: string
): Decision | Effect.Effect<Decision> => {
  const { now, row } = end
  const error = lastError(message, now, tag, stack)
  const failed = (): Decision => ({
    _tag: "Decision",
    settlement: {
      _tag: "Fail",
      id: row.id,
      token: end.token,
      status: terminal.status,
      reason: terminal.reason,
      lastError: error,
      progress: end.progress.toJson(terminal.status)
    },
    level: "error",
    message: `attempt ${row.attempt}/${row.maxAttempts} failed: ${message}; no attempts left`,
    reason: terminal.reason
  })
  if (row.attempt >= row.maxAttempts) return failed()
  return Effect.map(nthDelay(end.type?.backoff ?? JobType.defaultBackoff, row.attempt, now), (delay): Decision => {
    if (Option.isNone(delay)) return failed()
    const millis = Duration.toMillis(delay.value)
    return {
      _tag: "Decision",
      settlement: {
        _tag: "Retry",
        id: row.id,
        token: end.token,
        runAt: now + Math.max(0, Math.round(millis)),
        lastError: error,
        progress: end.progress.toJson("QUEUED")
      },
      level: "warn",
      message: `attempt ${row.attempt}/${row.maxAttempts} failed: ${message}; retrying in ${describeDelay(millis)}`,
      reason: null
    }
  })
}

const fail = (
  end: AttemptEnd,
  message: string,
  reason: "error" | "threshold",
  tag?: string,
  stack?: string
): Decision => ({
  _tag: "Decision",
  settlement: {
    _tag: "Fail",
    id: end.row.id,
    token: end.token,
    status: "FAILED",
    reason,
    lastError: lastError(message, end.now, tag, stack),
    progress: end.progress.toJson("FAILED")
  },
  level: "error",
  message: `attempt ${end.row.attempt}/${end.row.maxAttempts} failed: ${message}; not retried`,
  reason
})

/** Why a succeeded attempt fails after all: more of its items FAILED than the type allows; null when not. */
const overThreshold = (end: AttemptEnd): string | null => {
  const threshold = end.type?.itemFailureThreshold ?? null
  if (threshold === null || end.stop === "cancel" || end.stop === "pause") return null
  const counts = end.progress.itemCounts?.() ?? null
  if (counts === null || counts.total === 0 || counts.failed / counts.total <= threshold) return null
  return `${counts.failed} of ${counts.total} items failed, more than the failure threshold of ${Math.round(threshold * 1000) / 10}%`
}

/**
 * Decides how to settle an attempt the worker still holds (a lost one is never written; the caller checks). The decision is a plain
 * value except for a retry, whose delay steps the type's backoff schedule (an Effect: it may read the clock and
 * `Random`); the worker settles thousands of attempts a second, so the common ends stay off the Effect runtime.
 */
export const decide = (end: AttemptEnd): Decision | Effect.Effect<Decision> => {
  const decision = decideWithout(end)
  // the attempt's last checkpoint is written with its end, whatever the end
  const checkpoint = end.progress.checkpoint
  if (checkpoint === undefined) return decision
  const carry = (d: Decision): Decision => ({ ...d, settlement: { ...d.settlement, checkpoint } })
  return Effect.isEffect(decision) ? Effect.map(decision, carry) : carry(decision)
}

/** `decide`, without the checkpoint. */
const decideWithout = (end: AttemptEnd): Decision | Effect.Effect<Decision> => {
  const { exit, row, stop } = end
  if (Exit.isSuccess(exit)) {
    const over = overThreshold(end)
    if (over !== null) return fail(end, over, "threshold", "Threshold")
    // a success after a cancel is still sent as Complete: the store turns CANCELLING into CANCELLED
    return {
      _tag: "Decision",
      settlement: {
        _tag: "Complete",
        id: row.id,
        token: end.token,
        progress: end.progress.toJson("SUCCEEDED", 1),
        result: exit.value === null ? null : { id: end.newId(), value: exit.value }
      },
      level: "info",
      message: successMessage(row.attempt, row.maxAttempts),
      reason: null
    }
  }
  const attempt = `attempt ${row.attempt}/${row.maxAttempts}`
  const cause = exit.cause
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure) && Cause.isInterruptedOnly(cause)) {
    switch (stop) {
      case "cancel":
        return {
          _tag: "Decision",
          settlement: { _tag: "Cancelled", id: row.id, token: end.token, progress: end.progress.toJson("CANCELLED") },
          level: "warn",
          message: `${attempt} cancelled`,
          reason: "user"
        }
      case "pause":
        // a Release: the store gives the attempt back and makes the PAUSING job PAUSED
        return {
          _tag: "Decision",
          settlement: { _tag: "Release", id: row.id, token: end.token, progress: end.progress.toJson("PAUSED") },
          level: "info",
          message: `${attempt} paused; the attempt is given back`,
          reason: null
        }
      case "shutdown":
        return {
          _tag: "Decision",
          settlement: { _tag: "Release", id: row.id, token: end.token, progress: end.progress.toJson("QUEUED") },
          level: "warn",
          message: `${attempt} interrupted by worker shutdown; released without spending the attempt`,
          reason: null
        }
      case "timeout":
        return retryOr(end, `timed out after ${row.timeoutMs} ms`, "Timeout", {
          status: "TIMED_OUT",
          reason: "timeout"
        })
      case "deadline":
        return {
          _tag: "Decision",
          settlement: {
            _tag: "Fail",
            id: row.id,
            token: end.token,
            status: "TIMED_OUT",
            reason: "expired",
            lastError: lastError("deadline passed", end.now, "Deadline"),
            progress: end.progress.toJson("TIMED_OUT")
          },
          level: "error",
          message: `${attempt} interrupted: deadline passed`,
          reason: "expired"
        }
      case null:
        // the handler interrupted itself: an ordinary, retryable failure
        return retryOr(end, "the handler was interrupted", "Interrupted", { status: "FAILED", reason: "error" })
    }
  }
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error._tag === "Unrunnable") return fail(end, error.message, "error", "Unrunnable")
    const info = failureOf(error.error)
    if (!info.retryable) {
      return fail(end, info.message, info.reason === "threshold" ? "threshold" : "error", info.tag, info.stack)
    }
    return retryOr(end, info.message, info.tag, { status: "FAILED", reason: "error" }, info.stack)
  }
  // a defect in the handler: retryable, with the defect's message and stack
  const defect = Cause.squash(cause)
  const message = defect instanceof Error ? defect.message : String(defect)
  const stack = defect instanceof Error ? defect.stack : undefined
  return retryOr(end, message, "Defect", { status: "FAILED", reason: "error" }, stack)
}
