/**
 * The remote-worker service over the `JobStore` port. Claims are the store's claim with the served types, their
 * queues and their concurrency limits (so limits hold across in-process and remote workers together); a waiting
 * claim sleeps on the store's `Enqueued` signals (and a fallback poll). Reports only change memory and are written
 * by one flusher in batches; a settle writes the attempt's items first, then its settlement with every pending log
 * line in one transaction, decided by the engine's own `decide`.
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Job from "../../Job.js"
import { InvalidInput, JobNotFound, UnknownJobType } from "../../JobError.js"
import type { JobEvent } from "../../Jobs.js"
import { Jobs } from "../../Jobs.js"
import { ofJobs } from "../jobEvents.js"
import * as JobMetrics from "../../JobMetrics.js"
import { JobStore, type JobRow } from "../../JobStore.js"
import * as JobType from "../../JobType.js"
import * as RemoteWorker from "../../RemoteWorker.js"
import { loadAll } from "../itemsFlusher.js"
import { AttemptItems } from "../attemptItems.js"
import * as Maintenance from "../maintenance.js"
import { HandlerFailed, type AttemptError, type StopReason as AnyStopReason } from "../workerOutcome.js"

/** Why a remote attempt stopped: a remote attempt is never settled as lost (a stale token is refused instead). */
type StopReason = Exclude<AnyStopReason, "lost">
import { RemoteAttempt } from "./attempt.js"
import * as EngineLines from "../engineLines.js"
import * as Reports from "./reports.js"
import * as Settler from "./settler.js"
import * as Wakeups from "./wakeups.js"
import { toJob } from "../jobRow.js"

type Issue = { readonly path: string; readonly message: string }

const isText = (u: unknown, max: number): u is string => typeof u === "string" && u.length > 0 && u.length <= max

const validateClaim = (request: RemoteWorker.ClaimRequest): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  if (!isText(request.workerId, 200)) {
    issues.push({ path: "workerId", message: "must be a non-empty string of at most 200 characters" })
  }
  if (!Array.isArray(request.types) || request.types.length === 0 || !request.types.every((t) => isText(t, 200))) {
    issues.push({ path: "types", message: "must list at least one job type" })
  }
  if (
    request.queues !== undefined &&
    (!Array.isArray(request.queues) || request.queues.length === 0 || !request.queues.every((q) => isText(q, 200)))
  ) {
    issues.push({ path: "queues", message: "must list at least one queue when given" })
  }
  const limit = request.limit ?? 1
  if (!Number.isInteger(limit) || limit < 1 || limit > RemoteWorker.maxClaimLimit) {
    issues.push({ path: "limit", message: `must be an integer from 1 to ${RemoteWorker.maxClaimLimit}` })
  }
  const waitMs = request.waitMs ?? 0
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > RemoteWorker.maxWaitMs) {
    issues.push({ path: "waitMs", message: `must be an integer from 0 to ${RemoteWorker.maxWaitMs}` })
  }
  return issues
}

/** The result as JSON text after the type's result Schema checked it: decoded from the wire form, encoded back. */
const encodeWith = (schemaOf: Schema.Schema.Any | undefined, result: unknown): Checked<string | null> => {
  if (result === undefined) return { ok: true, value: null }
  let encoded: unknown = result
  if (schemaOf !== undefined) {
    const schema = schemaOf as Schema.Schema<unknown, unknown, never>
    const decoded = Schema.decodeUnknownEither(schema)(result)
    if (decoded._tag === "Left") return { ok: false, message: ParseResult.TreeFormatter.formatErrorSync(decoded.left) }
    const back = Schema.encodeEither(schema)(decoded.right)
    if (back._tag === "Left") return { ok: false, message: ParseResult.TreeFormatter.formatErrorSync(back.left) }
    encoded = back.right
  }
  if (encoded === undefined) return { ok: true, value: null }
  try {
    return { ok: true, value: JSON.stringify(encoded) ?? "null" }
  } catch (error) {
    return { ok: false, message: `is not JSON-serializable: ${error instanceof Error ? error.message : String(error)}` }
  }
}

type Checked<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string }

/** Builds the service in the current scope. */
export const make = (
  options: RemoteWorker.RemoteWorkerOptions
): Effect.Effect<RemoteWorker.RemoteWorker.Service, never, Scope.Scope | Jobs | JobType.JobRegistry | JobStore> =>
  Effect.gen(function* () {
    const store = JobMetrics.countStoreErrors(yield* JobStore)
    const registry = yield* JobType.JobRegistry
    // the engine's own bus, read from the engine: events of remote attempts reach its subscribers
    const bus = yield* ofJobs(yield* Jobs)
    const leaseMs = Duration.toMillis(options.leaseDuration ?? Duration.seconds(30))
    const flushEvery = Duration.decode(options.flushInterval ?? Duration.millis(250))
    const pollMs = Duration.toMillis(options.pollInterval ?? Duration.seconds(1))
    const rescueEvery = Duration.decode(options.rescueInterval ?? Duration.seconds(1))
    const queueLimits = options.queueLimits ?? {}
    const logCap = options.logCap ?? 10_000
    const heartbeatMs = Math.max(1, Math.floor(leaseMs / 3))

    /** The attempts this process knows, by job id (the newest claim of each job). */
    const attempts = new Map<string, RemoteAttempt>()
    const reports = yield* Reports.make(store, bus, { flushInterval: flushEvery, logCap })
    const wakeups = yield* Wakeups.make(store)

    const forget = (attempt: RemoteAttempt) => {
      if (attempts.get(attempt.id) === attempt) attempts.delete(attempt.id)
      reports.forget(attempt)
      reports.dropStart(attempt.id, attempt.token)
    }

    // --- finding the attempt a call is about ---------------------------------------------------------------------

    /** Why a call's claim no longer holds its job: the job is gone, or it is held otherwise now. */
    const lost = (id: string): Effect.Effect<never, RemoteWorker.AttemptError> =>
      Effect.flatMap(store.get({ id }), (row): Effect.Effect<never, RemoteWorker.AttemptError> =>
        Option.isNone(row)
          ? Effect.fail(new JobNotFound({ jobId: id }))
          : Effect.fail(new RemoteWorker.LeaseLost({ jobId: id, status: row.value.status }))
      )

    const holds = (row: JobRow, token: string) =>
      row.leaseToken === token &&
      row.leaseOwner !== null &&
      (row.status === "RUNNING" || row.status === "PAUSING" || row.status === "CANCELLING")

    /**
     * The attempt of this claim: from memory when this process knows it, else rebuilt from the stored row (a claim
     * made through another process). A write accepted from memory is still guarded by the store.
     */
    const attemptFor = (id: string, token: string): Effect.Effect<RemoteAttempt, RemoteWorker.AttemptError> => {
      const known = attempts.get(id)
      if (known !== undefined && known.token === token && !known.settled) return Effect.succeed(known)
      return Effect.flatMap(store.get({ id }), (found): Effect.Effect<RemoteAttempt, RemoteWorker.AttemptError> => {
        if (Option.isNone(found)) return Effect.fail(new JobNotFound({ jobId: id }))
        const row = found.value
        if (!holds(row, token)) return Effect.fail(new RemoteWorker.LeaseLost({ jobId: id, status: row.status }))
        const attempt = new RemoteAttempt(row, token, registry.types.get(row.type))
        if (row.status === "CANCELLING") attempt.stop = "cancel"
        if (row.status === "PAUSING") attempt.stop = "pause"
        attempts.set(id, attempt)
        return Effect.succeed(attempt)
      })
    }

    /** The attempt, unless its timeout or the job's deadline passed: then it is settled so, and the call refused. */
    const liveAttempt = (id: string, token: string) =>
      Effect.flatMap(attemptFor(id, token), (attempt) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const limit = attempt.limit()
          if (limit === null || now < limit.at) return Effect.succeed(attempt)
          return Effect.flatMap(settle(attempt, Exit.interrupt(FiberId.none), limit.reason), (settled) =>
            Effect.fail(new RemoteWorker.LeaseLost({ jobId: id, status: settled.status }))
          )
        })
      )

    const settle = yield* Settler.make({ store, bus, reports, logCap, forget, lost })

    /** A heartbeat that found the job CANCELLING (PAUSING) makes the attempt's settlement a cancel (a pause). */
    const stopOf = (attempt: RemoteAttempt): StopReason | null => attempt.stop

    // --- rescuing the leases of workers that went silent ---------------------------------------------------------

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(
          Effect.sleep(rescueEvery),
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const expired = Array.from(attempts.values()).filter((a) => !a.settled && a.leaseExpiresAt <= now)
            if (expired.length === 0) return Effect.void
            for (const attempt of expired) forget(attempt)
            return Maintenance.rescue(store, bus, Effect.void)
          })
        )
      )
    )

    // --- the operations -------------------------------------------------------------------------------------------

    const claim: RemoteWorker.RemoteWorker.Service["claim"] = (request) =>
      Effect.gen(function* () {
        const issues = validateClaim(request)
        if (issues.length > 0) return yield* new InvalidInput({ issues })
        const served: Array<JobType.Any> = []
        for (const key of request.types) {
          const type = registry.types.get(key)
          if (type === undefined) return yield* new UnknownJobType({ type: key })
          served.push(type)
        }
        const typeLimits: Record<string, number> = {}
        for (const type of served) if (type.concurrency !== null) typeLimits[type.key] = type.concurrency
        const queues = request.queues ?? Array.from(new Set(served.map((t) => t.queue)))
        const workerId = `remote:${request.workerId}`
        const limit = request.limit ?? 1
        const until = (yield* Clock.currentTimeMillis) + (request.waitMs ?? 0)
        for (;;) {
          // taken before the claim, so a job enqueued between the claim and the wait still wakes it
          const signal = wakeups()
          const now = yield* Clock.currentTimeMillis
          const token = randomUUID()
          // a waiting claim may be interrupted (its client went away), but never between taking jobs and handing
          // them out: jobs taken and not answered would sit RUNNING until their lease expired
          const claimed = yield* Effect.uninterruptible(
            Effect.flatMap(
              store.claim({
                workerId,
                token,
                now,
                leaseMs,
                limit,
                queues,
                types: request.types,
                typeLimits,
                queueLimits
              }),
              (rows) => started(rows, token, now)
            )
          )
          if (claimed.length > 0) return claimed
          const left = until - now
          if (left <= 0) return []
          yield* Effect.timeoutOption(Deferred.await(signal), Math.min(left, pollMs))
        }
      })

    const started = (
      rows: ReadonlyArray<JobRow>,
      token: string,
      now: number
    ): Effect.Effect<ReadonlyArray<RemoteWorker.Claimed>> =>
      Effect.suspend(() => {
        if (rows.length === 0) return Effect.succeed([])
        const claimed: Array<RemoteWorker.Claimed> = []
        const events: Array<JobEvent> = []
        for (const row of rows) {
          attempts.set(row.id, new RemoteAttempt(row, token, registry.types.get(row.type)))
          reports.started({
            jobId: row.id,
            at: now,
            level: "info",
            message: EngineLines.startMessage(row, row.leaseOwner ?? ""),
            token
          })
          events.push({ _tag: "status", jobId: row.id, status: "RUNNING", terminalReason: null })
          claimed.push({
            job: toJob(row),
            token,
            leaseExpiresAt: Job.formatTime(row.leaseExpiresAt ?? now + leaseMs),
            heartbeatMs
          })
        }
        return Effect.as(Reports.publishAll(bus, events), claimed)
      })

    const heartbeat: RemoteWorker.RemoteWorker.Service["heartbeat"] = (id, token) =>
      Effect.gen(function* () {
        const attempt = yield* attemptFor(id, token)
        const now = yield* Clock.currentTimeMillis
        const limit = attempt.limit()
        if (limit !== null && now >= limit.at) {
          const settled = yield* settle(attempt, Exit.interrupt(FiberId.none), limit.reason)
          return { status: settled.status, stop: limit.reason, leaseExpiresAt: null }
        }
        const answer = yield* store.heartbeat({ workerId: attempt.owner, leases: [{ id, token }], now, leaseMs })
        const status = answer.find((c) => c.id === id)?.status
        if (status === undefined) {
          forget(attempt)
          return yield* lost(id)
        }
        attempt.leaseExpiresAt = now + leaseMs
        // a cancel overrides a pause not yet settled (the store makes either settlement CANCELLED)
        if (status === "CANCELLING") attempt.stop = "cancel"
        else if (status === "PAUSING" && attempt.stop === null) attempt.stop = "pause"
        return { status, stop: attempt.stop, leaseExpiresAt: Job.formatTime(now + leaseMs) }
      })

    const progress: RemoteWorker.RemoteWorker.Service["progress"] = (id, token, report) =>
      Effect.flatMap(liveAttempt(id, token), (attempt) => {
        // the checkpoint as the worker sent it (the encoded form), checked by the type's checkpoint Schema first
        const checkpoint = encodeWith(attempt.type?.checkpoint, report.checkpoint)
        if (!checkpoint.ok) {
          return Effect.fail(
            new InvalidInput({
              issues: [
                {
                  path: "checkpoint",
                  message: `does not match job type "${attempt.row.type}": ${checkpoint.message}`
                }
              ]
            })
          )
        }
        const progress = attempt.progress
        for (const stage of report.stages ?? []) {
          const target = progress.stage(stage.key)
          if (stage.status !== undefined) progress.setStatus(target, stage.status)
          if (stage.progress !== undefined) progress.setProgress(target, stage.progress)
          for (const [key, value] of Object.entries(stage.params ?? {})) progress.setParam(target, key, value)
        }
        const items = report.items
        if (items !== undefined) {
          // absolute counters: a report sent twice (a client retry) counts once
          const current = progress.itemCounts() ?? { total: 0, completed: 0, failed: 0 }
          progress.setItemCounts({
            total: items.total ?? current.total,
            completed: items.completed ?? current.completed,
            failed: items.failed ?? current.failed
          })
        }
        if (checkpoint.value !== null) progress.setCheckpoint(checkpoint.value)
        if (progress.dirty) reports.progressChanged(attempt)
        return Effect.void
      })

    const itemsOf = (attempt: RemoteAttempt): AttemptItems => {
      if (attempt.items === undefined) {
        const progress = attempt.progress
        attempt.items = new AttemptItems(
          attempt.id,
          attempt.type,
          {
            load: (jobId) => loadAll(store, jobId),
            changed: () => reports.itemsChanged(attempt)
          },
          (counts) => {
            progress.setItemCounts(counts)
            if (progress.dirty) reports.progressChanged(attempt)
          }
        )
      }
      return attempt.items
    }

    const items: RemoteWorker.RemoteWorker.Service["items"] = (id, token, reports) =>
      Effect.flatMap(liveAttempt(id, token), (attempt) => {
        const named = itemsOf(attempt)
        return Effect.forEach(
          reports,
          (item) => {
            switch (item.status) {
              case "PENDING":
                return named.add([{ key: item.key, input: item.input }])
              case "RUNNING":
                return named.start(item.key)
              case "SUCCEEDED":
                return named.complete(item.key, item.output)
              case "FAILED":
                return named.fail(item.key, item.error ?? "failed")
            }
          },
          { discard: true }
        )
      })

    const log: RemoteWorker.RemoteWorker.Service["log"] = (id, token, lines) =>
      Effect.flatMap(liveAttempt(id, token), () =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          for (const line of lines) reports.log({ jobId: id, at, level: line.level, message: line.message, token })
        })
      )

    const succeed: RemoteWorker.RemoteWorker.Service["succeed"] = (id, token, result) =>
      Effect.flatMap(
        liveAttempt(id, token),
        (attempt): Effect.Effect<RemoteWorker.Settled, RemoteWorker.AttemptError | InvalidInput> => {
          const encoded = encodeWith(attempt.type?.result, result)
          if (!encoded.ok) {
            return Effect.fail(
              new InvalidInput({
                issues: [
                  { path: "result", message: `does not match job type "${attempt.row.type}": ${encoded.message}` }
                ]
              })
            )
          }
          return settle(attempt, Exit.succeed(encoded.value), stopOf(attempt))
        }
      )

    const fail: RemoteWorker.RemoteWorker.Service["fail"] = (id, token, failure) =>
      Effect.flatMap(liveAttempt(id, token), (attempt) => {
        const stop = stopOf(attempt)
        // after a cancel or a pause the failure is the worker stopping as told: settled as the stop, not as an error
        const exit: Exit.Exit<string | null, AttemptError> =
          stop !== null
            ? Exit.interrupt(FiberId.none)
            : Exit.fail(
                new HandlerFailed(
                  new JobType.JobFailure({
                    message: failure.message,
                    retryable: failure.retryable ?? true,
                    ...(failure.terminalReason === undefined ? {} : { terminalReason: failure.terminalReason })
                  })
                )
              )
        return settle(attempt, exit, stop)
      })

    return { claim, heartbeat, progress, items, log, succeed, fail }
  })
