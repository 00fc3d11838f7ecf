/**
 * Closing a job's stages at its terminal status (DESIGN §4.4), written where the terminal write happens: by the
 * worker with its settlement, by the engine with a cancel, by maintenance after a rescue or an expiry. SUCCEEDED: every
 * stage not FAILED (or SKIPPED) becomes SUCCEEDED at progress 1. FAILED, TIMED_OUT: a RUNNING stage becomes FAILED.
 * CANCELLED: a RUNNING stage becomes CANCELLED. Pending stages of a job that did not succeed stay PENDING.
 */
import type { JobStatus, Progress, Stage } from "../Job.js"

/** The stages as they read at `status`; the same array when nothing changes (or the status is not terminal). */
export const closeStages = (stages: ReadonlyArray<Stage>, status: JobStatus): ReadonlyArray<Stage> => {
  let close: ((stage: Stage) => Stage) | undefined
  switch (status) {
    case "SUCCEEDED":
      close = (s) =>
        s.status === "FAILED" || s.status === "SKIPPED" || (s.status === "SUCCEEDED" && s.progress === 1)
          ? s
          : { ...s, status: "SUCCEEDED", progress: 1 }
      break
    case "FAILED":
    case "TIMED_OUT":
      close = (s) => (s.status === "RUNNING" ? { ...s, status: "FAILED" } : s)
      break
    case "CANCELLED":
      close = (s) => (s.status === "RUNNING" ? { ...s, status: "CANCELLED" } : s)
      break
    default:
      return stages
  }
  let changed = false
  const closed = stages.map((stage) => {
    const next = close(stage)
    if (next !== stage) changed = true
    return next
  })
  return changed ? closed : stages
}

/**
 * A progress JSON text closed at `status` (summary status included; summary progress 1 on success), or null when it
 * needs no change or cannot be read.
 */
export const closeProgressText = (text: string, status: JobStatus): string | null => {
  let progress: Progress
  try {
    progress = JSON.parse(text) as Progress
  } catch {
    return null
  }
  if (progress === null || typeof progress !== "object" || !Array.isArray(progress.stages)) return null
  const stages = closeStages(progress.stages, status)
  const summaryProgress = status === "SUCCEEDED" ? 1 : (progress.summary?.progress ?? 0)
  if (
    stages === progress.stages &&
    progress.summary?.status === status &&
    progress.summary.progress === summaryProgress
  ) {
    return null
  }
  return JSON.stringify({ ...progress, summary: { status, progress: summaryProgress }, stages })
}
