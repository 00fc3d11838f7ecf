/**
 * The state machine of DESIGN §3 as one pure module: given a status and an action or event, the next status, or
 * `undefined` when the pair is not allowed. The engine and the worker consult it; stores enforce it with guarded
 * writes.
 *
 * @since 0.1.0
 */
import type { JobStatus } from "./Job.js"

/** What a user asks for. */
export type Action = "run" | "cancel" | "retry" | "pause" | "resume" | "edit" | "delete"

/** What happens to a job without a user asking. */
export type Event =
  | "enqueue"
  | "claim"
  | "succeed"
  | "fail-retry"
  | "fail"
  | "timeout-retry"
  | "timeout"
  | "stall-retry"
  | "stall"
  | "expire"
  | "interrupted"
  | "release"

/** Every user action. */
export const actions: ReadonlyArray<Action> = ["run", "cancel", "retry", "pause", "resume", "edit", "delete"]

/** Every event. */
export const events: ReadonlyArray<Event> = [
  "enqueue",
  "claim",
  "succeed",
  "fail-retry",
  "fail",
  "timeout-retry",
  "timeout",
  "stall-retry",
  "stall",
  "expire",
  "interrupted",
  "release"
]

type Table = { readonly [K in Action | Event]: Partial<Record<JobStatus, JobStatus>> }

const terminalTo = (to: JobStatus) => ({ SUCCEEDED: to, FAILED: to, CANCELLED: to, TIMED_OUT: to }) as const

const table: Table = {
  run: { CREATED: "QUEUED" },
  cancel: {
    CREATED: "CANCELLED",
    QUEUED: "CANCELLED",
    PAUSED: "CANCELLED",
    RUNNING: "CANCELLING",
    // a cancel overtakes a pause not yet settled: the worker's settlement then ends it CANCELLED
    PAUSING: "CANCELLING"
  },
  retry: terminalTo("QUEUED"),
  // a running job is paused in two steps: PAUSING until its worker has interrupted the handler and settled it
  pause: { QUEUED: "PAUSED", RUNNING: "PAUSING" },
  resume: { PAUSED: "QUEUED" },
  // edits keep the status; allowed only before the job runs
  edit: { CREATED: "CREATED", QUEUED: "QUEUED", PAUSED: "PAUSED" },
  // delete removes the job; allowed from CREATED and terminal statuses (anything else needs force)
  delete: {
    CREATED: "CREATED",
    SUCCEEDED: "SUCCEEDED",
    FAILED: "FAILED",
    CANCELLED: "CANCELLED",
    TIMED_OUT: "TIMED_OUT"
  },
  enqueue: { CREATED: "QUEUED" },
  claim: { QUEUED: "RUNNING" },
  // a PAUSING job's handler that ended before the interruption reached it: a success stands, a terminal failure
  // stands, a failure with attempts left pauses it (the attempt spent), and so does a timeout with attempts left
  succeed: { RUNNING: "SUCCEEDED", PAUSING: "SUCCEEDED", CANCELLING: "CANCELLED" },
  "fail-retry": { RUNNING: "QUEUED", PAUSING: "PAUSED", CANCELLING: "CANCELLED" },
  fail: { RUNNING: "FAILED", PAUSING: "FAILED", CANCELLING: "CANCELLED" },
  "timeout-retry": { RUNNING: "QUEUED", PAUSING: "PAUSED", CANCELLING: "CANCELLED" },
  timeout: { RUNNING: "TIMED_OUT", PAUSING: "TIMED_OUT", CANCELLING: "CANCELLED" },
  // a crash spends the attempt, paused or not: PAUSED while attempts remain, FAILED (stalled) once none do
  "stall-retry": { RUNNING: "QUEUED", PAUSING: "PAUSED", CANCELLING: "CANCELLED" },
  stall: { RUNNING: "FAILED", PAUSING: "FAILED", CANCELLING: "CANCELLED" },
  expire: { QUEUED: "TIMED_OUT", RUNNING: "TIMED_OUT", PAUSING: "TIMED_OUT", PAUSED: "TIMED_OUT" },
  // the handler's fiber was interrupted on the worker's request: the job ends where the request pointed
  interrupted: { PAUSING: "PAUSED", CANCELLING: "CANCELLED" },
  release: { RUNNING: "QUEUED", PAUSING: "PAUSED", CANCELLING: "CANCELLED" }
}

/** The next status, or `undefined` when `actionOrEvent` is not allowed from `status`. */
export const next = (status: JobStatus, actionOrEvent: Action | Event): JobStatus | undefined =>
  table[actionOrEvent][status]

/** The statuses from which `actionOrEvent` is allowed: the guard of the store write that carries it out. */
export const from = (actionOrEvent: Action | Event): ReadonlyArray<JobStatus> =>
  Object.keys(table[actionOrEvent]) as Array<JobStatus>
