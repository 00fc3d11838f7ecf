/**
 * `GET /jobs/{id}/events`: Server-Sent Events of one job until it is terminal.
 *
 * Order of work, so that nothing is missed between the snapshot and the first event: subscribe to the engine's
 * events of the job (buffered from that moment), then read the job, then start the response with the snapshot and
 * replay the buffer. Every event carries an id increasing within the stream. A client that reconnects (with or
 * without `Last-Event-ID`) always gets a fresh snapshot first: ids are per stream, and the snapshot holds everything
 * a status or progress event could have told it; log lines written while it was away are in `GET /jobs/{id}/logs`.
 *
 * Events of other processes do not reach the in-process hub, so the job is also polled (default every second) while
 * the hub is silent; a polled terminal status first drains the hub, so in-process events keep their order.
 */
import { Job, Jobs } from "@jobloom/core"
import type { Context } from "hono"
import { streamSSE, type SSEStreamingApi } from "hono/streaming"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type { Runner } from "./runner.js"
import * as Subscription from "./subscription.js"

/** What the route needs besides the request. */
export interface EventsOptions {
  readonly runner: Runner
  readonly jobId: string
  readonly pollInterval: Duration.Duration
  /** Throws when reading the job failed or the caller may not view it; runs before the response starts. */
  readonly open: (read: Exit.Exit<Job.Job, unknown>) => Promise<void>
  /** The snapshot's body (the job with `userPermissions`). */
  readonly snapshot: (job: Job.Job) => Promise<unknown>
}

/** Keep-alive comments every this many silent polls, so proxies keep the connection and a gone client is noticed. */
const keepAliveEvery = 15

/** Responds with the event stream, or throws (through `open`) before any byte is sent. */
export const respond = async (c: Context, options: EventsOptions): Promise<Response> => {
  const { runner, jobId } = options
  const {
    scope,
    close: closeScope,
    setup
  } = await Subscription.open(
    runner,
    (jobs) => jobs.subscribe({ jobId }),
    (jobs) => jobs.get(jobId)
  )
  let snapshot: unknown
  try {
    await options.open(Exit.map(setup, (s) => s.value))
    if (Exit.isFailure(setup)) throw new Error("unreachable: open accepted a failed read")
    snapshot = await options.snapshot(setup.value.value)
  } catch (error) {
    await closeScope()
    throw error
  }
  const { queue, value: job } = setup.value

  return streamSSE(c, async (stream) => {
    const fiber = runner.runFork(
      pump(stream, { jobId, queue, job, snapshot, pollInterval: options.pollInterval }).pipe(
        Effect.ensuring(Scope.close(scope, Exit.void))
      )
    )
    stream.onAbort(() => {
      runner.runFork(Fiber.interrupt(fiber))
    })
    await new Promise<void>((resolve) => fiber.addObserver(() => resolve()))
  })
}

interface PumpOptions {
  readonly jobId: string
  readonly queue: Queue.Queue<Jobs.JobEvent>
  readonly job: Job.Job
  readonly snapshot: unknown
  readonly pollInterval: Duration.Duration
}

const pump = (stream: SSEStreamingApi, options: PumpOptions) =>
  Effect.gen(function* () {
    const { jobId, queue } = options
    let sequence = 0
    let lastStatus = options.job.status
    let lastProgress = progressKey(options.job.progress)
    let heardSincePoll = false
    let silentPolls = 0

    const send = (event: string, data: unknown) =>
      Effect.tryPromise(() => stream.writeSSE({ event, data: JSON.stringify(data), id: String(++sequence) }))

    const sendProgress = (progress: Job.Progress) => {
      const text = progressKey(progress)
      if (text === lastProgress) return Effect.void
      lastProgress = text
      return send("progress", { jobId, progress })
    }

    const sendStoredProgress = Effect.flatMap(Jobs.Jobs, (jobs) => jobs.get(jobId)).pipe(
      Effect.flatMap((job) => sendProgress(job.progress)),
      Effect.catchTags({ JobNotFound: () => Effect.void, JobStoreError: () => Effect.void })
    )

    /** Writes one hub event; true when the stream is done. */
    const handle = (event: Jobs.JobEvent) =>
      Effect.gen(function* () {
        switch (event._tag) {
          case "created":
            return false
          case "status": {
            const terminal = Job.isTerminal(event.status)
            if (event.status === lastStatus && !terminal) return false
            // the engine publishes a settled job's final progress after its status: read it now, so the terminal
            // status is the last event and nothing is left unsaid
            if (terminal) yield* sendStoredProgress
            lastStatus = event.status
            yield* send("status", { jobId, status: event.status, terminalReason: event.terminalReason })
            return terminal
          }
          case "progress":
            yield* sendProgress(event.progress)
            return false
          case "log":
            yield* send("log", { jobId, at: event.at, level: event.level, message: event.message })
            return false
          case "deleted":
            yield* send("deleted", { jobId })
            return true
        }
      })

    /** Drains what the hub already delivered; true when the stream is done. */
    const drain = Effect.gen(function* () {
      const pending = yield* Queue.takeAll(queue)
      for (const event of pending) {
        if (yield* handle(event)) return true
      }
      return false
    })

    /** Compares the stored job with what was sent; true when the stream is done. */
    const poll = Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const read = yield* Effect.either(jobs.get(jobId))
      if (Either.isLeft(read)) {
        if (read.left._tag !== "JobNotFound") return false
        if (yield* drain) return true
        yield* send("deleted", { jobId })
        return true
      }
      const current = read.right
      const terminal = Job.isTerminal(current.status)
      if (terminal && (yield* drain)) return true
      // while the hub speaks, it alone is the source: mixing in polled rows could reorder what it says
      if (!terminal && heardSincePoll) return false
      let sent = progressKey(current.progress) !== lastProgress
      yield* sendProgress(current.progress)
      if (current.status !== lastStatus || terminal) {
        lastStatus = current.status
        yield* send("status", { jobId, status: current.status, terminalReason: current.terminalReason })
        sent = true
      }
      if (!sent && ++silentPolls % keepAliveEvery === 0)
        yield* Effect.tryPromise(() => stream.write(": keep-alive\n\n"))
      return terminal
    })

    yield* Effect.tryPromise(() =>
      stream.writeSSE({
        event: "snapshot",
        data: JSON.stringify(options.snapshot),
        id: String(++sequence),
        retry: 1000
      })
    )
    if (Job.isTerminal(options.job.status)) return

    for (;;) {
      const next = yield* Effect.timeoutOption(Queue.take(queue), options.pollInterval)
      if (Option.isSome(next)) {
        heardSincePoll = true
        if (yield* handle(next.value)) return
        continue
      }
      if (yield* poll) return
      heardSincePoll = false
    }
  }).pipe(
    // a write fails only when the client went away: the stream just ends
    Effect.catchTag("UnknownException", () => Effect.void)
  )

/** What a progress event says beyond the status (its summary repeats the job's status, sent on its own). */
const progressKey = (progress: Job.Progress): string =>
  JSON.stringify([progress.summary.progress, progress.stages, progress.items])

/** The default poll interval. */
export const defaultPollInterval = Duration.seconds(1)
