/**
 * `GET /events`: Server-Sent Events of every job matching a list filter, for pages that show many jobs at once
 * (the dashboard's list) without polling each one.
 *
 * Order of work, as for one job's stream: subscribe to the engine's events (buffered from that moment), then read
 * the first page of matching jobs and send it as the `snapshot`, then replay the buffer and follow the hub. A client
 * that reconnects gets a fresh snapshot: event ids are per stream.
 *
 * The hub's events carry only a job id (but `created`), so the stream keeps what it learnt of each job it heard of:
 * the job (read once, its status kept up to date from status events) and whether the caller may view it. A job is
 * streamed while it matches the filter and `authorize("view", job)` allows it; a status that brings a job into the
 * filter sends the whole job (`entered`), one that takes it out sends the status and then `left`.
 *
 * Events of other processes do not reach the in-process hub: while the hub is silent for a poll interval, the store
 * is asked for the most recently updated jobs of the filter (statuses aside, so that jobs leaving it are seen too),
 * and what changed since the last poll is sent the same way. A job another process deletes is not noticed.
 */
import { Job, Jobs, JobScope } from "@jobloom/core"
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type { Context } from "hono"
import { streamSSE, type SSEStreamingApi } from "hono/streaming"
import type { Runner } from "./runner.js"
import * as Subscription from "./subscription.js"

/** What the route needs besides the request. */
export interface CollectionEventsOptions {
  readonly runner: Runner
  /** The filter every streamed job matches (scope included). */
  readonly filter: Jobs.JobQuery
  /** How the snapshot's page is read. */
  readonly page: Pick<Jobs.ListQuery, "sort" | "order" | "limit">
  /** Whether log lines are streamed too. */
  readonly logs: boolean
  /** Whether the caller may view this job (`authorize("view", job)`). */
  readonly mayView: (job: Job.Job) => Promise<boolean>
  /** A job as the response shows it (with `userPermissions`). */
  readonly view: (job: Job.Job) => Promise<unknown>
  /** How long the hub may be silent before the store is polled for other processes' changes. */
  readonly pollInterval: Duration.Duration
  /** The error to throw (before the response starts) when the snapshot could not be read. */
  readonly toError: (cause: Cause.Cause<unknown>) => Error
}

/** The most jobs a stream remembers; past it, the oldest are forgotten (and read again when they speak). */
const rememberAtMost = 10_000

/** Jobs read by one poll: the most recently updated of the filter (its statuses aside). */
const pollLimit = 100

/** Keep-alive comments every this many silent polls, so proxies keep the connection and a gone client is noticed. */
const keepAliveEvery = 15

/** Whether a job matches every given field of the filter (the stores' rule, on a decoded job). */
export const matches = (filter: Jobs.JobQuery, job: Job.Job): boolean => {
  // the caller's scope first: a job outside it is never streamed, whatever else matches
  if (!JobScope.contains(filter.scope, job)) return false
  if (filter.statuses !== undefined && !filter.statuses.includes(job.status)) return false
  if (filter.types !== undefined && !filter.types.includes(job.type)) return false
  if (filter.queues !== undefined && !filter.queues.includes(job.queue)) return false
  if (filter.owner !== undefined && job.owner !== filter.owner) return false
  if (filter.tag !== undefined && !job.tags.includes(filter.tag)) return false
  if (filter.batchId !== undefined && job.batchId !== filter.batchId) return false
  if (filter.q !== undefined) {
    const q = filter.q.toLowerCase()
    const params = JSON.stringify(job.params ?? null).toLowerCase()
    if (!job.name.toLowerCase().includes(q) && !params.includes(q)) return false
  }
  if (filter.createdAfter !== undefined && !(job.createdAt > filter.createdAfter)) return false
  if (filter.createdBefore !== undefined && !(job.createdAt < filter.createdBefore)) return false
  if (filter.finishedBefore !== undefined && !(job.finishedAt !== null && job.finishedAt < filter.finishedBefore)) {
    return false
  }
  return true
}

/** Responds with the event stream; a failure to read the snapshot throws before any byte is sent. */
export const respond = async (c: Context, options: CollectionEventsOptions): Promise<Response> => {
  const { runner } = options
  const {
    scope,
    close: closeScope,
    setup
  } = await Subscription.open(
    runner,
    (jobs) => jobs.subscribe(options.filter.scope === undefined ? {} : { scope: options.filter.scope }),
    (jobs) => jobs.list({ ...options.filter, ...options.page })
  )
  if (Exit.isFailure(setup)) {
    await closeScope()
    throw options.toError(setup.cause)
  }
  const { queue, value: page } = setup.value
  const known = new Known()
  let snapshot: { items: Array<unknown>; nextCursor: string | null }
  try {
    const views = await Promise.all(
      page.items.map(async (job) => {
        const visible = await options.mayView(job)
        known.set(job, visible)
        return visible ? await options.view(job) : undefined
      })
    )
    snapshot = { items: views.filter((view) => view !== undefined), nextCursor: page.nextCursor }
  } catch (error) {
    await closeScope()
    throw error
  }

  return streamSSE(c, async (stream) => {
    const fiber = runner.runFork(
      pump(stream, { ...options, queue, known, snapshot }).pipe(Effect.ensuring(Scope.close(scope, Exit.void)))
    )
    stream.onAbort(() => {
      runner.runFork(Fiber.interrupt(fiber))
    })
    await new Promise<void>((resolve) => fiber.addObserver(() => resolve()))
  })
}

/** What a stream remembers of one job. */
interface Entry {
  job: Job.Job
  readonly visible: boolean
}

/** The jobs a stream heard of, oldest first, bounded. */
class Known {
  private readonly entries = new Map<string, Entry>()
  get(jobId: string): Entry | undefined {
    return this.entries.get(jobId)
  }
  set(job: Job.Job, visible: boolean): Entry {
    const entry = { job, visible }
    this.entries.delete(job.id)
    this.entries.set(job.id, entry)
    if (this.entries.size > rememberAtMost) this.entries.delete(this.entries.keys().next().value!)
    return entry
  }
  delete(jobId: string): void {
    this.entries.delete(jobId)
  }
}

interface PumpOptions extends CollectionEventsOptions {
  readonly queue: Queue.Queue<Jobs.JobEvent>
  readonly known: Known
  readonly snapshot: unknown
}

const pump = (stream: SSEStreamingApi, options: PumpOptions) =>
  Effect.gen(function* () {
    const { filter, known, queue } = options
    // a job outside the scope is not found, so it is never read, remembered as visible, or sent
    const readOptions = filter.scope === undefined ? {} : { scope: filter.scope }
    let sequence = 0

    const send = (event: string, data: unknown) =>
      Effect.tryPromise(() => stream.writeSSE({ event, data: JSON.stringify(data), id: String(++sequence) }))

    // a job outside the caller's scope is never shown, and never shown to the authorize hook either
    const remember = (job: Job.Job) =>
      Effect.map(
        JobScope.contains(filter.scope, job) ? Effect.tryPromise(() => options.mayView(job)) : Effect.succeed(false),
        (visible) => known.set(job, visible)
      )

    /** What the stream knows of a job, read from the store the first time it is heard of; none once deleted. */
    const entryOf = (jobId: string) =>
      Effect.gen(function* () {
        const entry = known.get(jobId)
        if (entry !== undefined) return Option.some(entry)
        const read = yield* Effect.either(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(jobId, readOptions)))
        if (Either.isLeft(read)) return Option.none<Entry>()
        return Option.some(yield* remember(read.right))
      })

    const shown = (entry: Entry) => entry.visible && matches(filter, entry.job)

    const handle = (event: Jobs.JobEvent) =>
      Effect.gen(function* () {
        switch (event._tag) {
          case "created": {
            const entry = yield* remember(event.job)
            if (shown(entry)) yield* send("created", yield* Effect.tryPromise(() => options.view(event.job)))
            return
          }
          case "status": {
            const before = known.get(event.jobId)
            if (before === undefined || !shown(before)) {
              // the job may be entering the filter: send all of it, as it is now
              const fresh = yield* Effect.either(
                Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(event.jobId, readOptions))
              )
              if (Either.isLeft(fresh)) return
              const entry = yield* remember(fresh.right)
              if (shown(entry)) yield* send("entered", yield* Effect.tryPromise(() => options.view(entry.job)))
              return
            }
            if (Job.isTerminal(event.status)) {
              // the engine publishes a settled job's final progress after its status: send the stored one first, so
              // a client that drops the job at `left` has seen where it ended
              const stored = yield* Effect.either(
                Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(event.jobId, readOptions))
              )
              if (Either.isRight(stored) && progressKey(stored.right.progress) !== progressKey(before.job.progress)) {
                before.job = { ...before.job, progress: stored.right.progress }
                yield* send("progress", { jobId: event.jobId, progress: stored.right.progress })
              }
            }
            before.job = { ...before.job, status: event.status, terminalReason: event.terminalReason }
            yield* send("status", { jobId: event.jobId, status: event.status, terminalReason: event.terminalReason })
            if (!shown(before)) yield* send("left", { jobId: event.jobId })
            return
          }
          case "progress": {
            const entry = yield* entryOf(event.jobId)
            if (Option.isNone(entry) || !shown(entry.value)) return
            if (progressKey(event.progress) === progressKey(entry.value.job.progress)) return
            entry.value.job = { ...entry.value.job, progress: event.progress }
            yield* send("progress", { jobId: event.jobId, progress: event.progress })
            return
          }
          case "log": {
            if (!options.logs) return
            const entry = yield* entryOf(event.jobId)
            if (Option.isNone(entry) || !shown(entry.value)) return
            yield* send("log", { jobId: event.jobId, at: event.at, level: event.level, message: event.message })
            return
          }
          case "deleted": {
            const entry = known.get(event.jobId)
            known.delete(event.jobId)
            if (entry !== undefined && shown(entry)) yield* send("deleted", { jobId: event.jobId })
            return
          }
        }
      })

    yield* Effect.tryPromise(() =>
      stream.writeSSE({
        event: "snapshot",
        data: JSON.stringify(options.snapshot),
        id: String(++sequence),
        retry: 1000
      })
    )
    // the jobs updated since the last poll, oldest first; the first poll only sets where the next one starts
    const { statuses: _, ...pollFilter } = filter
    let since = ""
    const recentlyUpdated = Effect.gen(function* () {
      const read = yield* Effect.either(
        Effect.flatMap(Jobs.Jobs, (jobs) =>
          jobs.list({ ...pollFilter, sort: "updatedAt", order: "desc", limit: pollLimit })
        )
      )
      if (Either.isLeft(read)) return []
      const fresh = read.right.items.filter((job) => job.updatedAt >= since).reverse()
      if (read.right.items.length > 0) since = read.right.items[0]!.updatedAt
      return fresh
    })
    /** Sends what the store says changed; true when anything was sent. */
    const poll = Effect.gen(function* () {
      const sentBefore = sequence
      for (const job of yield* recentlyUpdated) {
        const before = known.get(job.id)
        const wasShown = before !== undefined && shown(before)
        if (before !== undefined && before.job.updatedAt === job.updatedAt && before.job.status === job.status) continue
        const entry = before === undefined ? yield* remember(job) : known.set(job, before.visible)
        if (!shown(entry)) {
          if (!wasShown) continue
          yield* send("status", { jobId: job.id, status: job.status, terminalReason: job.terminalReason })
          yield* send("left", { jobId: job.id })
        } else if (!wasShown) {
          yield* send("entered", yield* Effect.tryPromise(() => options.view(job)))
        } else {
          if (progressKey(job.progress) !== progressKey(before.job.progress)) {
            yield* send("progress", { jobId: job.id, progress: job.progress })
          }
          if (job.status !== before.job.status) {
            yield* send("status", { jobId: job.id, status: job.status, terminalReason: job.terminalReason })
          }
        }
      }
      return sequence > sentBefore
    })

    yield* recentlyUpdated
    let heardSincePoll = false
    let silentPolls = 0
    for (;;) {
      const next = yield* Effect.timeoutOption(Queue.take(queue), options.pollInterval)
      if (Option.isSome(next)) {
        heardSincePoll = true
        yield* handle(next.value)
        continue
      }
      // while the hub speaks, it alone is the source: mixing in polled rows could reorder what it says
      const sent = heardSincePoll ? false : yield* poll
      heardSincePoll = false
      if (!sent && ++silentPolls % keepAliveEvery === 0)
        yield* Effect.tryPromise(() => stream.write(": keep-alive\n\n"))
    }
  }).pipe(
    // a write fails only when the client went away (or the hook threw): the stream just ends
    Effect.catchTag("UnknownException", () => Effect.void)
  )

/** What a progress event says beyond the status (its summary repeats the job's status, sent on its own). */
const progressKey = (progress: Job.Progress): string =>
  JSON.stringify([progress.summary.progress, progress.stages, progress.items])
