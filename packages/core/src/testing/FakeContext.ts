/**
 * A job context that records what a handler reports, for unit tests of job types without an engine or a store:
 * `const { context, recorded } = FakeContext.make(MyType)`, then `await Effect.runPromise(handler(params, context))`
 * (or `FakeContext.makePromise` for an async handler) and check `recorded.stages`, `recorded.logs`, `recorded.items`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Job from "../Job.js"
import * as JobType from "../JobType.js"
import { toPromiseContext } from "../internal/handlerFailure.js"

/** A stage as the fake context recorded it. */
export interface RecordedStage {
  status: string
  progress: number
  params: Record<string, unknown>
}

/** What a handler reported through the fake context. */
export interface Recorded {
  readonly stages: Map<string, RecordedStage>
  readonly logs: Array<{ readonly level: Job.LogLevel; readonly message: string }>
  readonly items: { total: number; completed: number; failed: number }
  /** Named items by key, in the order they were added. */
  readonly named: Map<string, { status: JobType.ItemInfo["status"]; output: unknown; error: string | null }>
  /** Every progress value each stage reported, in order (to check that progress never goes backwards). */
  readonly progressHistory: Map<string, Array<number>>
  /** Every checkpoint the handler saved, in order (as given, not encoded). */
  readonly checkpoints: Array<unknown>
}

const job = (type: JobType.Any): Job.Job => ({
  id: "00000000-0000-7000-8000-000000000000",
  number: 1,
  type: type.key,
  name: type.name,
  queue: type.queue,
  owner: null,
  idempotencyKey: null,
  status: "RUNNING",
  terminalReason: null,
  priority: 0,
  params: {},
  metadata: {},
  tags: [],
  batchId: null,
  callbackUrl: null,
  attempt: 1,
  maxAttempts: type.maxAttempts,
  timeoutMs: null,
  deadline: null,
  runAt: "2025-01-01T00:00:00.000Z",
  createdAt: "2025-01-01T00:00:00.000Z",
  updatedAt: "2025-01-01T00:00:00.000Z",
  queuedAt: "2025-01-01T00:00:00.000Z",
  startedAt: "2025-01-01T00:00:00.000Z",
  finishedAt: null,
  queueTimeMs: 0,
  durationMs: null,
  progress: { summary: { status: "RUNNING", progress: 0 }, stages: [], items: null },
  lastError: null,
  resultId: null,
  lease: null,
  scheduleKey: null,
  checkpoint: null,
  dependsOn: [],
  waitingOn: 0,
  dependencyPolicy: "fail"
})

/**
 * A fake context for one job of `type`, with its declared stages PENDING, and what it records. `lastCheckpoint` is
 * the checkpoint the handler gets, as an earlier attempt saved it (default: none).
 */
export const make = <C = unknown>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type: JobType.JobType<any, any, any, any, C, any>,
  options: { readonly lastCheckpoint?: C } = {}
): { readonly context: JobType.JobContext<C>; readonly recorded: Recorded } => {
  const recorded: Recorded = {
    stages: new Map(
      type.stages.map((stage) => [
        stage.key,
        {
          status: "PENDING",
          progress: 0,
          params: Object.fromEntries((stage.params ?? []).map((param) => [param.key, null]))
        }
      ])
    ),
    logs: [],
    items: { total: 0, completed: 0, failed: 0 },
    named: new Map(),
    progressHistory: new Map(),
    checkpoints: []
  }
  const stageOf = (key: string): RecordedStage => {
    let stage = recorded.stages.get(key)
    if (stage === undefined) {
      stage = { status: "PENDING", progress: 0, params: {} }
      recorded.stages.set(key, stage)
    }
    return stage
  }
  const setProgress = (key: string, value: number) => {
    const stage = stageOf(key)
    // the worker's rule: clamped to [0, 1] and never lower than before in this attempt
    stage.progress = Math.max(stage.progress, Math.min(1, Math.max(0, value)))
    const history = recorded.progressHistory.get(key) ?? []
    history.push(value)
    recorded.progressHistory.set(key, history)
  }
  const update =
    (key: string) =>
    (patch: Parameters<JobType.StageHandle["update"]>[0]): Effect.Effect<void> =>
      Effect.sync(() => {
        const stage = stageOf(key)
        if (patch.status !== undefined) stage.status = patch.status
        if (patch.progress !== undefined) setProgress(key, patch.progress)
        if (patch.params !== undefined) Object.assign(stage.params, patch.params)
      })
  /** The counters follow the named items, as the worker's do. */
  const recount = () => {
    const all = Array.from(recorded.named.values())
    recorded.items.total = all.length
    recorded.items.completed = all.filter((item) => item.status === "SUCCEEDED").length
    recorded.items.failed = all.filter((item) => item.status === "FAILED").length
  }
  const named = (key: string, item: { status: JobType.ItemInfo["status"]; output: unknown; error: string | null }) =>
    Effect.sync(() => {
      recorded.named.set(key, item)
      recount()
    })
  const write = (level: Job.LogLevel, message: string) => Effect.sync(() => void recorded.logs.push({ level, message }))
  const context: JobType.JobContext<C> = {
    job: job(type),
    stage: (key) => ({
      update: update(key),
      start: update(key)({ status: "RUNNING" }),
      progress: (value) => update(key)({ progress: value }),
      param: (param, value) => update(key)({ params: { [param]: value } }),
      complete: update(key)({ status: "SUCCEEDED", progress: 1 }),
      fail: update(key)({ status: "FAILED" })
    }),
    items: {
      setTotal: (total) => Effect.sync(() => void (recorded.items.total = total)),
      completed: (n = 1) => Effect.sync(() => void (recorded.items.completed += n)),
      failed: (n = 1) => Effect.sync(() => void (recorded.items.failed += n)),
      pending: Effect.sync(() =>
        Array.from(recorded.named, ([key, item]) => ({
          key,
          status: item.status,
          input: null,
          error: item.error
        })).filter((item) => item.status !== "SUCCEEDED")
      ),
      counts: Effect.sync(() => {
        const all = Array.from(recorded.named.values())
        const completed = all.filter((item) => item.status === "SUCCEEDED").length
        const failed = all.filter((item) => item.status === "FAILED").length
        return { total: all.length, pending: all.length - completed - failed, completed, failed }
      }),
      add: (items) =>
        Effect.sync(() => {
          for (const { key } of items) {
            if (!recorded.named.has(key)) recorded.named.set(key, { status: "PENDING", output: null, error: null })
          }
          recount()
        }),
      start: (key) => named(key, { status: "RUNNING", output: null, error: null }),
      complete: (key, output) => named(key, { status: "SUCCEEDED", output: output ?? null, error: null }),
      fail: (key, error) => named(key, { status: "FAILED", output: null, error })
    },
    log: {
      info: (message) => write("info", message),
      warn: (message) => write("warn", message),
      error: (message) => write("error", message),
      write
    },
    heartbeat: Effect.void,
    checkpoint: (value) => Effect.sync(() => void recorded.checkpoints.push(value)),
    lastCheckpoint: "lastCheckpoint" in options ? Option.some(options.lastCheckpoint as C) : Option.none(),
    // no engine here: a handler that spawns is tested through an engine (testing/engine.ts)
    spawn: () => Effect.dieMessage("FakeContext: spawn needs an engine"),
    awaitJobs: () => Effect.dieMessage("FakeContext: awaitJobs needs an engine")
  }
  return { context, recorded }
}

/**
 * The same for an async handler (`Jobloom.handler`): a `PromiseJobContext` whose `signal` aborts with `abort()`
 * (as a cancel or a shutdown would).
 */
export const makePromise = (
  type: JobType.Any
): {
  readonly context: JobType.PromiseJobContext
  readonly recorded: Recorded
  readonly abort: (reason?: unknown) => void
} => {
  const { context, recorded } = make(type)
  const controller = new AbortController()
  return {
    context: toPromiseContext(context as JobType.JobContext, controller.signal),
    recorded,
    abort: (reason) => controller.abort(reason)
  }
}
