import { describe, expect, it } from "@effect/vitest"
import { Job, JobState } from "@jobloom/core"

type Step = JobState.Action | JobState.Event
type Row = readonly [from: Job.JobStatus, step: Step, to: Job.JobStatus]

const terminal = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"] as const

// DESIGN §3, row by row, written out independently of the implementation's table
const allowed: ReadonlyArray<Row> = [
  ["CREATED", "run", "QUEUED"],
  ["CREATED", "enqueue", "QUEUED"],
  ["QUEUED", "claim", "RUNNING"],
  ["RUNNING", "succeed", "SUCCEEDED"],
  ["RUNNING", "fail-retry", "QUEUED"],
  ["RUNNING", "fail", "FAILED"],
  ["RUNNING", "timeout-retry", "QUEUED"],
  ["RUNNING", "timeout", "TIMED_OUT"],
  ["RUNNING", "stall-retry", "QUEUED"],
  ["RUNNING", "stall", "FAILED"],
  ["QUEUED", "expire", "TIMED_OUT"],
  ["RUNNING", "expire", "TIMED_OUT"],
  ["PAUSED", "expire", "TIMED_OUT"],
  ["QUEUED", "pause", "PAUSED"],
  ["PAUSED", "resume", "QUEUED"],
  ["CREATED", "cancel", "CANCELLED"],
  ["QUEUED", "cancel", "CANCELLED"],
  ["PAUSED", "cancel", "CANCELLED"],
  ["RUNNING", "cancel", "CANCELLING"],
  ["CANCELLING", "interrupted", "CANCELLED"],
  // a dead worker's cancelling job: the lease expires
  ["CANCELLING", "stall", "CANCELLED"],
  ["CANCELLING", "stall-retry", "CANCELLED"],
  // a late outcome never overwrites a cancel
  ["CANCELLING", "succeed", "CANCELLED"],
  ["CANCELLING", "fail", "CANCELLED"],
  ["CANCELLING", "fail-retry", "CANCELLED"],
  ["CANCELLING", "timeout", "CANCELLED"],
  ["CANCELLING", "timeout-retry", "CANCELLED"],
  // graceful shutdown gives a running job back
  ["RUNNING", "release", "QUEUED"],
  ["CANCELLING", "release", "CANCELLED"],
  // pausing a running job: PAUSING until its worker settles it
  ["RUNNING", "pause", "PAUSING"],
  ["PAUSING", "interrupted", "PAUSED"],
  ["PAUSING", "release", "PAUSED"],
  // the handler ended before the interruption reached it: a success or a terminal failure stands; a failure with
  // attempts left pauses the job with the attempt spent
  ["PAUSING", "succeed", "SUCCEEDED"],
  ["PAUSING", "fail", "FAILED"],
  ["PAUSING", "timeout", "TIMED_OUT"],
  ["PAUSING", "fail-retry", "PAUSED"],
  ["PAUSING", "timeout-retry", "PAUSED"],
  // its worker died: the crash spends the attempt
  ["PAUSING", "stall-retry", "PAUSED"],
  ["PAUSING", "stall", "FAILED"],
  ["PAUSING", "expire", "TIMED_OUT"],
  // a cancel overtakes the pause
  ["PAUSING", "cancel", "CANCELLING"],
  ...terminal.map((status): Row => [status, "retry", "QUEUED"]),
  // edits keep the status, only before the job runs
  ["CREATED", "edit", "CREATED"],
  ["QUEUED", "edit", "QUEUED"],
  ["PAUSED", "edit", "PAUSED"],
  // delete from CREATED and terminal statuses (identity: the job is removed, not moved)
  ["CREATED", "delete", "CREATED"],
  ...terminal.map((status): Row => [status, "delete", status])
]

const steps: ReadonlyArray<Step> = [...JobState.actions, ...JobState.events]
const key = (from: Job.JobStatus, step: Step) => `${from} ${step}`
const expected = new Map(allowed.map(([from, step, to]) => [key(from, step), to]))

describe("JobState", () => {
  describe("allowed transitions", () => {
    for (const [from, step, to] of allowed) {
      it(`${from} --${step}--> ${to}`, () => {
        expect(JobState.next(from, step)).toBe(to)
      })
    }
  })

  describe("disallowed pairs", () => {
    for (const from of Job.statuses) {
      for (const step of steps) {
        if (expected.has(key(from, step))) continue
        it(`${from} cannot ${step}`, () => {
          expect(JobState.next(from, step)).toBeUndefined()
        })
      }
    }
  })

  it("lists every action and event exactly once", () => {
    expect(new Set(JobState.actions).size).toBe(JobState.actions.length)
    expect(new Set(JobState.events).size).toBe(JobState.events.length)
    expect(new Set(steps)).toEqual(new Set(allowed.map(([, step]) => step)))
  })

  it("guards each write with exactly the statuses its step is allowed from", () => {
    for (const step of steps) {
      const froms = Job.statuses.filter((status) => expected.has(key(status, step)))
      expect(new Set(JobState.from(step)), step).toEqual(new Set(froms))
    }
  })

  it("leaves a terminal status only by retry", () => {
    for (const status of terminal) {
      const leaving = steps.filter((step) => {
        const to = JobState.next(status, step)
        return to !== undefined && to !== status
      })
      expect(leaving, status).toEqual(["retry"])
    }
  })

  it("never reaches CANCELLING except by cancelling a running (or pausing) job", () => {
    for (const from of Job.statuses) {
      for (const step of steps) {
        if (JobState.next(from, step) === "CANCELLING")
          expect(["RUNNING cancel", "PAUSING cancel"]).toContain(`${from} ${step}`)
      }
    }
  })

  it("never reaches PAUSING except by pausing a running job, and never leaves it for RUNNING or QUEUED", () => {
    for (const from of Job.statuses) {
      for (const step of steps) {
        if (JobState.next(from, step) === "PAUSING") expect([from, step]).toEqual(["RUNNING", "pause"])
      }
    }
    for (const step of steps) expect(["RUNNING", "QUEUED"]).not.toContain(JobState.next("PAUSING", step))
  })

  it("refuses pause and resume of a PAUSING job (HTTP 409)", () => {
    expect(JobState.next("PAUSING", "pause")).toBeUndefined()
    expect(JobState.next("PAUSING", "resume")).toBeUndefined()
  })

  it("allows run only from CREATED, so a queued or running job is never executed twice", () => {
    expect(JobState.from("run")).toEqual(["CREATED"])
  })
})
