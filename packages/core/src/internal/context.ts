/**
 * The job context a handler gets, and the in-memory progress of one attempt behind it.
 *
 * Every stage, item and log call only changes memory and marks the attempt dirty; the worker's flusher writes dirty
 * progress and buffered log lines in batches, so a handler may report thousands of times a second while the store
 * sees a few writes.
 *
 * Both are built for every claimed job, so both cost next to nothing until the handler uses them: stages are copied
 * from the declaration on first use, the context's handles are made on first read, and an attempt nobody reported on
 * serializes its progress from a per-type cache.
 */
import * as Clock from "effect/Clock"
import * as JobTracing from "../JobTracing.js"
import * as Effect from "effect/Effect"
import type { ItemCounts, JobStatus, LogLevel, Progress, Stage, StageParam, StageStatus } from "../Job.js"
import * as Job from "../Job.js"
import type { JobRow } from "../JobStore.js"
import type * as JobType from "../JobType.js"
import { AttemptItems, type ItemsHost } from "./attemptItems.js"
import * as Checkpoint from "./checkpoint.js"
import type * as Option from "effect/Option"
import * as Children from "./children.js"
import { closeStages } from "./stages.js"
import { toJob } from "./jobRow.js"

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

/** A job's progress before its first attempt (at create, and reset for a retry): the declared stages, pending. */
export const initialProgress = (stages: ReadonlyArray<JobType.StageSpec>, status: JobStatus): Progress => ({
  summary: { status, progress: 0 },
  stages: stages.map((stage) => ({
    key: stage.key,
    name: stage.name,
    status: "PENDING",
    progress: 0,
    params: (stage.params ?? []).map((param) => ({
      key: param.key,
      name: param.name,
      category: param.category ?? "default",
      value: null
    }))
  })),
  items: null
})

/** JSON of untouched attempts, by type and then by status and summary: most attempts never report progress. */
const pristineJson = new WeakMap<JobType.Any, Map<string, string>>()
const pristineUntyped = new Map<string, string>()

/** Progress of one attempt, mutated in place by the handler's context. */
export class AttemptProgress {
  /** Copied from the declaration on first use. */
  private declared: Array<MutableStage> | undefined = undefined
  private items: { total: number; completed: number; failed: number } | null = null
  /** Changed since the last flush. */
  dirty = false
  /** Changed at all in this attempt. */
  private touched = false
  /** The attempt's last checkpoint as JSON text, once the handler saved one (written with progress and the end). */
  checkpoint: string | undefined = undefined

  // every attempt starts from the declaration: "never lower" holds within an attempt, not across retries
  constructor(private readonly type: JobType.Any | undefined) {}

  private get stages(): Array<MutableStage> {
    if (this.declared === undefined) {
      const specs = this.type?.stages ?? []
      this.declared = specs.length === 0 ? [] : specs.map(declaredStage)
    }
    return this.declared
  }

  /** Saves a checkpoint (JSON text): a change the flusher writes with the progress. */
  setCheckpoint(json: string): void {
    this.checkpoint = json
    this.dirty = true
  }

  /** Marks a change: dirty for the flusher, touched for the JSON cache. */
  private changed(): void {
    this.dirty = true
    this.touched = true
  }

  /** The stage with this key; an undeclared key adds an ad hoc stage. */
  stage(key: string): MutableStage {
    const stages = this.stages
    let stage = stages.find((s) => s.key === key)
    if (stage === undefined) {
      stage = { key, name: key, status: "PENDING", progress: 0, params: [], spec: undefined }
      stages.push(stage)
      // a new stage shows in the progress even before it reports anything
      this.touched = true
    }
    return stage
  }

  setStatus(stage: MutableStage, status: StageStatus): void {
    if (stage.status !== status) {
      stage.status = status
      this.changed()
    }
  }

  setProgress(stage: MutableStage, value: number): void {
    if (Number.isNaN(value)) return
    const clamped = Math.min(1, Math.max(0, value))
    // never lower within the attempt
    if (clamped > stage.progress) {
      stage.progress = clamped
      this.changed()
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
    this.changed()
  }

  setTotal(total: number): void {
    const items = this.itemCounters()
    items.total = Math.max(0, Math.floor(total))
    this.changed()
  }

  addCompleted(n: number): void {
    this.itemCounters().completed += n
    this.changed()
  }

  addFailed(n: number): void {
    this.itemCounters().failed += n
    this.changed()
  }

  /** Sets the counters from named items (or from the job's stored progress at claim). */
  setItemCounts(counts: { readonly total: number; readonly completed: number; readonly failed: number }): void {
    const items = this.itemCounters()
    if (items.total === counts.total && items.completed === counts.completed && items.failed === counts.failed) return
    items.total = counts.total
    items.completed = counts.completed
    items.failed = counts.failed
    this.changed()
  }

  /** Starts from the counters the claimed row shows: not a change to write, but the JSON cache must not be used. */
  seedItemCounts(counts: { readonly total: number; readonly completed: number; readonly failed: number }): void {
    this.items = { total: counts.total, completed: counts.completed, failed: counts.failed }
    this.touched = true
  }

  /** The item counters, or null when the attempt has none. */
  itemCounts(): ItemCounts | null {
    if (this.items === null) return null
    const { completed, failed, total } = this.items
    return { total, pending: Math.max(0, total - completed - failed), completed, failed }
  }

  private itemCounters() {
    if (this.items === null) this.items = { total: 0, completed: 0, failed: 0 }
    return this.items
  }

  /** The summary: mean of stage progress, else completed/total of the items, else 0. */
  summaryProgress(): number {
    const stages = this.stages
    if (stages.length > 0) return stages.reduce((sum, s) => sum + s.progress, 0) / stages.length
    if (this.items !== null && this.items.total > 0) return Math.min(1, this.items.completed / this.items.total)
    return 0
  }

  /** A snapshot as the public `Progress`; `summaryOverride` forces the summary (1 on success). */
  toProgress(status: JobStatus, summaryOverride?: number): Progress {
    // at a terminal status the open stages are closed (a FAILED job shows no stage RUNNING)
    const stages = closeStages(
      this.stages.map((s): Stage => ({
        key: s.key,
        name: s.name,
        status: s.status,
        progress: s.progress,
        params: s.params.slice()
      })),
      status
    )
    let items: ItemCounts | null = null
    if (this.items !== null) {
      const { completed, failed, total } = this.items
      items = { total, pending: Math.max(0, total - completed - failed), completed, failed }
    }
    return { summary: { status, progress: summaryOverride ?? this.summaryProgress() }, stages, items }
  }

  /** `toProgress` as JSON text; an attempt that reported nothing reads it from a per-type cache. */
  toJson(status: JobStatus, summaryOverride?: number): string {
    if (this.touched) return JSON.stringify(this.toProgress(status, summaryOverride))
    const type = this.type
    let cache = type === undefined ? pristineUntyped : pristineJson.get(type)
    if (cache === undefined) {
      cache = new Map()
      pristineJson.set(type!, cache)
    }
    const key = summaryOverride === undefined ? status : `${status}:${summaryOverride}`
    let json = cache.get(key)
    if (json === undefined) {
      json = JSON.stringify(this.toProgress(status, summaryOverride))
      cache.set(key, json)
    }
    return json
  }
}

/** What a job context needs from the worker running it; `owner` is the worker's handle on the attempt. */
export interface ContextHost<Owner> {
  /** The attempt's progress changed. */
  readonly markDirty: (owner: Owner) => void
  /** Buffers one log line of the attempt for the flusher. */
  readonly log: (owner: Owner, at: number, level: LogLevel, message: string) => void
  /** Extends the attempt's lease now. */
  readonly heartbeat: (owner: Owner) => Effect.Effect<void>
  /** Reads and writes the attempt's named items. */
  readonly items?: (owner: Owner) => ItemsHost
}

/**
 * The handler's `JobContext` over an attempt's progress. Every handle is an own property made on first read (so
 * handlers may destructure the context), and the job's fields are built on first read (most handlers never read
 * them, and parsing every row costs throughput).
 */
class AttemptContext<Owner> implements JobType.JobContext {
  private cachedJob: Job.Job | undefined = undefined
  private cachedStage: JobType.JobContext["stage"] | undefined = undefined
  private cachedItems: JobType.ItemsHandle | undefined = undefined
  private cachedLog: JobType.JobContext["log"] | undefined = undefined
  private cachedHeartbeat: Effect.Effect<void> | undefined = undefined
  private cachedNamed: AttemptItems | undefined = undefined
  private cachedLastCheckpoint: Option.Option<unknown> | undefined = undefined
  private cachedCheckpoint: JobType.JobContext["checkpoint"] | undefined = undefined

  constructor(
    private readonly row: JobRow,
    private readonly progress: AttemptProgress,
    private readonly host: ContextHost<Owner>,
    private readonly owner: Owner,
    private readonly type: JobType.Any | undefined
  ) {
    // a job with items shows their counters from the start; a quick text test keeps other claims from parsing
    if (row.progress.includes(`"items":{`)) seedItemCounts(row.progress, progress)
    Checkpoint.carrySucceeded(row.progress, progress)
  }

  get checkpoint(): JobType.JobContext["checkpoint"] {
    if (this.cachedCheckpoint === undefined) {
      this.cachedCheckpoint = (value) =>
        Effect.flatMap(Checkpoint.encode(this.type, value), (json) =>
          this.touch(() => this.progress.setCheckpoint(json))
        )
    }
    return this.cachedCheckpoint
  }

  get lastCheckpoint(): Option.Option<unknown> {
    if (this.cachedLastCheckpoint === undefined) {
      this.cachedLastCheckpoint = Checkpoint.decode(this.type, this.row.checkpoint)
    }
    return this.cachedLastCheckpoint
  }

  get job(): Job.Job {
    if (this.cachedJob === undefined) this.cachedJob = toJob(this.row)
    return this.cachedJob
  }

  // only mark dirty on a real change, so the flusher's dirty set stays small
  private touch(f: () => void): Effect.Effect<void> {
    return Effect.sync(() => {
      const wasDirty = this.progress.dirty
      f()
      if (!wasDirty && this.progress.dirty) this.host.markDirty(this.owner)
    })
  }

  get stage(): JobType.JobContext["stage"] {
    if (this.cachedStage === undefined) {
      const progress = this.progress
      this.cachedStage = (key) => {
        const target = progress.stage(key)
        return {
          update: (patch) =>
            this.touch(() => {
              if (patch.status !== undefined) progress.setStatus(target, patch.status)
              if (patch.progress !== undefined) progress.setProgress(target, patch.progress)
              if (patch.params !== undefined) {
                for (const [k, v] of Object.entries(patch.params)) progress.setParam(target, k, v)
              }
            }),
          start: this.touch(() => progress.setStatus(target, "RUNNING")),
          progress: (value) => this.touch(() => progress.setProgress(target, value)),
          param: (k, value, options) => this.touch(() => progress.setParam(target, k, value, options)),
          complete: this.touch(() => {
            progress.setStatus(target, "SUCCEEDED")
            progress.setProgress(target, 1)
          }),
          fail: this.touch(() => progress.setStatus(target, "FAILED"))
        }
      }
    }
    return this.cachedStage
  }

  /** The attempt's named items, made on first use. */
  private named(): AttemptItems {
    if (this.cachedNamed === undefined) {
      const host = this.host.items?.(this.owner)
      if (host === undefined) throw new Error("jobloom: this job context has no item store")
      const progress = this.progress
      this.cachedNamed = new AttemptItems(this.row.id, this.type, host, (counts) => {
        const wasDirty = progress.dirty
        progress.setItemCounts(counts)
        if (!wasDirty && progress.dirty) this.host.markDirty(this.owner)
      })
    }
    return this.cachedNamed
  }

  get items(): JobType.ItemsHandle {
    if (this.cachedItems === undefined) {
      const progress = this.progress
      this.cachedItems = {
        setTotal: (total) => this.touch(() => progress.setTotal(total)),
        completed: (n = 1) => this.touch(() => progress.addCompleted(n)),
        failed: (n = 1) => this.touch(() => progress.addFailed(n)),
        pending: Effect.suspend(() => this.named().pending),
        counts: Effect.suspend(() => this.named().allCounts),
        add: (items) => Effect.suspend(() => this.named().add(items)),
        start: (key) => Effect.suspend(() => this.named().start(key)),
        complete: (key, output) => Effect.suspend(() => this.named().complete(key, output)),
        fail: (key, error) => Effect.suspend(() => this.named().fail(key, error))
      }
    }
    return this.cachedItems
  }

  get log(): JobType.JobContext["log"] {
    if (this.cachedLog === undefined) {
      const { host, owner } = this
      const write = (level: LogLevel, message: string): Effect.Effect<void> =>
        // under a host tracer the line names the span it was written in (` trace_id=… span_id=…`, logfmt)
        Effect.flatMap(JobTracing.logSuffix, (suffix) =>
          Effect.map(Clock.currentTimeMillis, (now) => host.log(owner, now, level, message + suffix))
        )
      this.cachedLog = {
        info: (message) => write("info", message),
        warn: (message) => write("warn", message),
        error: (message) => write("error", message),
        write
      }
    }
    return this.cachedLog
  }

  // built when a handler asks for them: most never do, and the hot path allocates nothing for them
  get spawn(): JobType.JobContext["spawn"] {
    return (inputs, options) => Children.spawn(this.job, inputs, options)
  }

  get awaitJobs(): JobType.JobContext["awaitJobs"] {
    return Children.awaitJobs
  }

  get heartbeat(): Effect.Effect<void> {
    if (this.cachedHeartbeat === undefined) this.cachedHeartbeat = this.host.heartbeat(this.owner)
    return this.cachedHeartbeat
  }
}

/** Carries the counters of the claimed row's progress into the attempt's. */
const seedItemCounts = (json: string, progress: AttemptProgress): void => {
  try {
    const items = (JSON.parse(json) as { items?: ItemCounts | null }).items
    if (items !== null && typeof items === "object" && typeof items.total === "number") {
      progress.seedItemCounts({ total: items.total, completed: items.completed ?? 0, failed: items.failed ?? 0 })
    }
  } catch {
    // a corrupted progress column starts from zero counters
  }
}

/** Builds the handler's `JobContext` over an attempt's progress. */
export const makeJobContext = <Owner>(
  row: JobRow,
  progress: AttemptProgress,
  host: ContextHost<Owner>,
  owner: Owner,
  type?: JobType.Any
): JobType.JobContext => new AttemptContext(row, progress, host, owner, type)
