/**
 * The job context a handler gets, and the in-memory progress of one attempt behind it.
 *
 * Every stage, item and log call only changes memory and marks the attempt dirty; the worker's flusher writes dirty
 * progress and buffered log lines in batches, so a handler may report thousands of times a second while the store
 * sees a few writes.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ItemCounts, JobStatus, LogLevel, Progress, Stage, StageParam, StageStatus } from "../Job.js"
import * as Job from "../Job.js"
import type { JobRow } from "../JobStore.js"
import type * as JobType from "../JobType.js"

interface MutableStage {
  readonly key: string
  readonly name: string
  status: StageStatus
  progress: number
  readonly params: Array<StageParam>
  /** The declaration, to name params reported by key only. */
  readonly spec: JobType.StageSpec | undefined
}

const declaredStage = (spec: JobType.StageSpec): MutableStage => ({
  key: spec.key,
  name: spec.name,
  status: "PENDING",
  progress: 0,
  params: (spec.params ?? []).map((p) => ({
    key: p.key,
    name: p.name,
    category: p.category ?? "default",
    value: null
  })),
  spec
})

/** The progress of a job that has not run yet: its declared stages, pending, at 0. */
export const initialProgress = (type: JobType.Any | undefined, status: JobStatus): Progress =>
  new AttemptProgress(type).toProgress(status)

/** Progress of one attempt, mutated in place by the handler's context. */
export class AttemptProgress {
  private readonly stages: Array<MutableStage>
  private items: { total: number; completed: number; failed: number } | null = null
  /** Changed since the last flush. */
  dirty = false

  constructor(type: JobType.Any | undefined) {
    // every attempt starts from the declaration: "never lower" holds within an attempt, not across retries
    this.stages = (type?.stages ?? []).map(declaredStage)
  }

  /** The stage with this key; an undeclared key adds an ad hoc stage. */
  stage(key: string): MutableStage {
    let stage = this.stages.find((s) => s.key === key)
    if (stage === undefined) {
      stage = { key, name: key, status: "PENDING", progress: 0, params: [], spec: undefined }
      this.stages.push(stage)
    }
    return stage
  }

  setStatus(stage: MutableStage, status: StageStatus): void {
    if (stage.status !== status) {
      stage.status = status
      this.dirty = true
    }
  }

  setProgress(stage: MutableStage, value: number): void {
    if (Number.isNaN(value)) return
    const clamped = Math.min(1, Math.max(0, value))
    // never lower within the attempt
    if (clamped > stage.progress) {
      stage.progress = clamped
      this.dirty = true
    }
  }

  setParam(
    stage: MutableStage,
    key: string,
    value: unknown,
    options?: { readonly name?: string; readonly category?: string }
  ): void {
    const index = stage.params.findIndex((p) => p.key === key)
    const declared = stage.spec?.params?.find((p) => p.key === key)
    const previous = index === -1 ? undefined : stage.params[index]
    const param: StageParam = {
      key,
      name: options?.name ?? previous?.name ?? declared?.name ?? key,
      category: options?.category ?? previous?.category ?? declared?.category ?? "default",
      value
    }
    if (index === -1) stage.params.push(param)
    else stage.params[index] = param
    this.dirty = true
  }

  setTotal(total: number): void {
    const items = this.itemCounters()
    items.total = Math.max(0, Math.floor(total))
    this.dirty = true
  }

  addCompleted(n: number): void {
    this.itemCounters().completed += n
    this.dirty = true
  }

  addFailed(n: number): void {
    this.itemCounters().failed += n
    this.dirty = true
  }

  private itemCounters() {
    if (this.items === null) this.items = { total: 0, completed: 0, failed: 0 }
    return this.items
  }

  /** The summary: mean of stage progress, else completed/total of the items, else 0. */
  summaryProgress(): number {
    if (this.stages.length > 0) return this.stages.reduce((sum, s) => sum + s.progress, 0) / this.stages.length
    if (this.items !== null && this.items.total > 0) return Math.min(1, this.items.completed / this.items.total)
    return 0
  }

  /** A snapshot as the public `Progress`; `summaryOverride` forces the summary (1 on success). */
  toProgress(status: JobStatus, summaryOverride?: number): Progress {
    const stages: Array<Stage> = this.stages.map((s) => ({
      key: s.key,
      name: s.name,
      status: s.status,
      progress: s.progress,
      params: s.params.slice()
    }))
    let items: ItemCounts | null = null
    if (this.items !== null) {
      const { completed, failed, total } = this.items
      items = { total, pending: Math.max(0, total - completed - failed), completed, failed }
    }
    return { summary: { status, progress: summaryOverride ?? this.summaryProgress() }, stages, items }
  }
}

/** What a job context needs from the worker running it. */
export interface ContextHost {
  /** The attempt's progress changed. */
  readonly markDirty: () => void
  /** Buffers one log line for the flusher. */
  readonly log: (at: number, level: LogLevel, message: string) => void
  /** Extends the lease now. */
  readonly heartbeat: Effect.Effect<void>
}

/** Builds the handler's `JobContext` over an attempt's progress. */
export const makeJobContext = (row: JobRow, progress: AttemptProgress, host: ContextHost): JobType.JobContext => {
  let job: Job.Job | undefined
  // only mark dirty on a real change, so the flusher's dirty set stays small
  const touch = <A>(f: () => A): Effect.Effect<void> =>
    Effect.sync(() => {
      const wasDirty = progress.dirty
      f()
      if (!wasDirty && progress.dirty) host.markDirty()
    })
  const write = (level: LogLevel, message: string): Effect.Effect<void> =>
    Effect.map(Clock.currentTimeMillis, (now) => host.log(now, level, message))
  const stage = (key: string): JobType.StageHandle => {
    const target = progress.stage(key)
    return {
      update: (patch) =>
        touch(() => {
          if (patch.status !== undefined) progress.setStatus(target, patch.status)
          if (patch.progress !== undefined) progress.setProgress(target, patch.progress)
          if (patch.params !== undefined) {
            for (const [k, v] of Object.entries(patch.params)) progress.setParam(target, k, v)
          }
        }),
      start: touch(() => progress.setStatus(target, "RUNNING")),
      progress: (value) => touch(() => progress.setProgress(target, value)),
      param: (k, value, options) => touch(() => progress.setParam(target, k, value, options)),
      complete: touch(() => {
        progress.setStatus(target, "SUCCEEDED")
        progress.setProgress(target, 1)
      }),
      fail: touch(() => progress.setStatus(target, "FAILED"))
    }
  }
  return {
    // built lazily: most handlers never read it, and parsing every row costs throughput
    get job() {
      if (job === undefined) job = Job.fromRow(row)
      return job
    },
    stage,
    items: {
      setTotal: (total) => touch(() => progress.setTotal(total)),
      completed: (n = 1) => touch(() => progress.addCompleted(n)),
      failed: (n = 1) => touch(() => progress.addFailed(n))
    },
    log: {
      info: (message) => write("info", message),
      warn: (message) => write("warn", message),
      error: (message) => write("error", message),
      write
    },
    heartbeat: host.heartbeat
  }
}
