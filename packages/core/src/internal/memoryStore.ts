/**
 * The in-memory store: plain Maps mutated inside one synchronous block per method, so every method is atomic
 * (JavaScript runs a synchronous block to its end before any other fiber runs). Signals are published after the
 * block, which is fine because they are hints.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import { uuidv7 } from "uuidv7"
import type { JobStatus } from "../Job.js"
import { isTerminal } from "../Job.js"
import type {
  CallbackRow,
  ClaimOptions,
  LeaseRef,
  NewLog,
  JobFilter,
  JobPatch,
  JobRow,
  ListCursor,
  ListOptions,
  LogRow,
  ResultRow,
  Settlement,
  SortKey,
  StatsRow,
  StatusChange,
  StoreSignal
} from "../JobStore.js"
import { JobStoreError } from "../JobStore.js"

interface PendingCallback extends CallbackRow {
  /** Not before this time may the callback be taken (its due time, or the end of a taker's lease). */
  readonly dueAt: number
}

const held = (status: JobStatus) => status === "RUNNING" || status === "CANCELLING"

/** Whether a row matches every given field of the filter. */
export const matches = (filter: JobFilter, row: JobRow): boolean => {
  if (filter.ids !== undefined && !filter.ids.includes(row.id)) return false
  if (filter.statuses !== undefined && !filter.statuses.includes(row.status)) return false
  if (filter.types !== undefined && !filter.types.includes(row.type)) return false
  if (filter.queues !== undefined && !filter.queues.includes(row.queue)) return false
  if (filter.owner !== undefined && row.owner !== filter.owner) return false
  if (filter.owners !== undefined && !filter.owners.includes(row.owner)) return false
  if (filter.idempotencyKey !== undefined && row.idempotencyKey !== filter.idempotencyKey) return false
  if (filter.tag !== undefined && !row.tags.includes(filter.tag)) return false
  if (filter.batchId !== undefined && row.batchId !== filter.batchId) return false
  if (filter.q !== undefined) {
    const q = filter.q.toLowerCase()
    if (!row.name.toLowerCase().includes(q) && !row.params.toLowerCase().includes(q)) return false
  }
  if (filter.createdAfter !== undefined && !(row.createdAt > filter.createdAfter)) return false
  if (filter.createdBefore !== undefined && !(row.createdAt < filter.createdBefore)) return false
  if (filter.finishedBefore !== undefined && !(row.finishedAt !== null && row.finishedAt < filter.finishedBefore)) {
    return false
  }
  return true
}

/** The value a row sorts by: null times as -1 (see `ListCursor`). */
export const sortValue = (row: JobRow, sort: SortKey): number | string => {
  switch (sort) {
    case "name":
      return row.name
    case "priority":
      return row.priority
    default:
      return row[sort] ?? -1
  }
}

// binary order (UTF-16 code units), never locale order, so every store can agree with it
const compareValues = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Compares two keyset positions ascending: value, then id. */
export const comparePositions = (a: ListCursor, b: ListCursor): number =>
  compareValues(a.value, b.value) || compareValues(a.id, b.id)

/** Claim order: priority desc, then `runAt`, then id. */
const claimOrder = (a: JobRow, b: JobRow): number =>
  b.priority - a.priority || a.runAt - b.runAt || compareValues(a.id, b.id)

const LOG_ID_WIDTH = 16

/** Builds a store whose state lives in the closure. */
export const make = Effect.gen(function* () {
  const pubsub = yield* PubSub.unbounded<StoreSignal>()
  const jobs = new Map<string, JobRow>()
  /**
   * The QUEUED jobs in claim order, and the held (RUNNING, CANCELLING) ones, kept by `put`: a claim walks the queued
   * jobs from the front and stops once it has its batch, instead of reading and sorting every job. A row that stops
   * being current (written again, or deleted) stays in `queued` as a stale entry until a claim passes it or the
   * array is compacted: taking rows out one by one from the front of a long array would cost a copy of it each time.
   */
  let queued: Array<JobRow> = []
  let stale = 0
  const running = new Map<string, JobRow>()
  const isCurrent = (row: JobRow): boolean => jobs.get(row.id) === row
  /** Where `row` goes in `queued` (claim order is total: ids break every tie). */
  const queuedIndex = (row: JobRow): number => {
    let lo = 0
    let hi = queued.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (claimOrder(queued[mid], row) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const markStale = (): void => {
    stale++
    if (stale > 64 && stale * 2 > queued.length) {
      queued = queued.filter(isCurrent)
      stale = 0
    }
  }
  /** (owner, idempotencyKey) → id of the non-terminal job holding it: keys are unique within an owner. */
  const keys = new Map<string, string>()
  const keyOf = (row: { readonly owner: string | null; readonly idempotencyKey: string | null }) =>
    row.idempotencyKey === null ? null : JSON.stringify([row.owner, row.idempotencyKey])
  /** jobId → its log lines, oldest first. */
  const logs = new Map<string, Array<LogRow>>()
  let logCounter = 0
  const results = new Map<string, ResultRow>()
  const callbacks = new Map<string, PendingCallback>()

  const holderOf = (row: { readonly owner: string | null; readonly idempotencyKey: string | null }) => {
    const key = keyOf(row)
    if (key === null) return undefined
    const id = keys.get(key)
    return id === undefined ? undefined : jobs.get(id)
  }

  /** Every job write goes through here, so the idempotency index stays right. */
  const put = (row: JobRow): void => {
    const prev = jobs.get(row.id)
    const prevKey = prev === undefined ? null : keyOf(prev)
    if (prevKey !== null && keys.get(prevKey) === row.id) keys.delete(prevKey)
    jobs.set(row.id, row)
    if (prev?.status === "QUEUED") markStale()
    if (row.status === "QUEUED") queued.splice(queuedIndex(row), 0, row)
    if (held(row.status)) running.set(row.id, row)
    else running.delete(row.id)
    const key = keyOf(row)
    if (key !== null && !isTerminal(row.status)) keys.set(key, row.id)
  }

  const remove = (id: string): void => {
    const row = jobs.get(id)
    if (row === undefined) return
    const key = keyOf(row)
    if (key !== null && keys.get(key) === id) keys.delete(key)
    jobs.delete(id)
    if (row.status === "QUEUED") markStale()
    running.delete(id)
    logs.delete(id)
    for (const [resultId, result] of results) if (result.jobId === id) results.delete(resultId)
    for (const [callbackId, callback] of callbacks) if (callback.jobId === id) callbacks.delete(callbackId)
  }

  /** Writes a row; a move into a terminal status with a callbackUrl also records the pending callback. */
  const write = (prev: JobRow, next: JobRow, now: number): void => {
    put(next)
    if (next.callbackUrl !== null && isTerminal(next.status) && next.status !== prev.status) {
      const id = uuidv7()
      callbacks.set(id, {
        id,
        jobId: next.id,
        url: next.callbackUrl,
        status: next.status,
        terminalReason: next.terminalReason,
        resultId: next.resultId,
        finishedAt: next.finishedAt,
        attempts: 0,
        dueAt: now
      })
    }
  }

  const publish = (signals: ReadonlyArray<StoreSignal>) =>
    signals.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(pubsub, signals))

  const enqueued = (queues: Iterable<string>): Array<StoreSignal> =>
    Array.from(new Set(queues), (queue) => ({ _tag: "Enqueued", queue }))

  const conflict = (message: string) => new JobStoreError({ reason: "Conflict", message })

  const insert = (options: { readonly jobs: ReadonlyArray<JobRow> }) =>
    Effect.suspend(() => {
      const seen = new Set<string>()
      for (const job of options.jobs) {
        if (jobs.has(job.id) || seen.has(job.id)) return Effect.fail(conflict(`job ${job.id} already exists`))
        seen.add(job.id)
      }
      // idempotency is decided in input order, so a later job of the same call sees an earlier one as the holder
      const outcomes = options.jobs.map((job) => {
        const holder = holderOf(job)
        if (holder !== undefined) return { row: holder, inserted: false }
        const row: JobRow = { ...job, tags: [...job.tags] }
        put(row)
        return { row, inserted: true }
      })
      const queues = outcomes.filter((o) => o.inserted && o.row.status === "QUEUED").map((o) => o.row.queue)
      return Effect.as(publish(enqueued(queues)), outcomes)
    })

  const get = (options: { readonly id: string }) => Effect.sync(() => Option.fromNullable(jobs.get(options.id)))

  const list = (options: ListOptions) =>
    Effect.sync(() => {
      const direction = options.order === "asc" ? 1 : -1
      const cursor = options.cursor
      let total = 0
      const after: Array<{ readonly row: JobRow; readonly position: ListCursor }> = []
      for (const row of jobs.values()) {
        if (!matches(options.filter, row)) continue
        total++
        const position = { value: sortValue(row, options.sort), id: row.id }
        if (cursor === null || comparePositions(position, cursor) * direction > 0) after.push({ row, position })
      }
      after.sort((a, b) => comparePositions(a.position, b.position) * direction)
      const page = after.slice(0, Math.max(0, options.limit))
      const last = page[page.length - 1]
      return {
        rows: page.map((entry) => entry.row),
        nextCursor: after.length > page.length && last !== undefined ? last.position : null,
        total: options.withTotal ? total : null
      }
    })

  const update = (options: {
    readonly id: string
    readonly from: ReadonlyArray<JobStatus>
    readonly patch: JobPatch
    readonly now: number
  }) =>
    Effect.suspend(() => {
      const prev = jobs.get(options.id)
      if (prev === undefined || !options.from.includes(prev.status)) return Effect.succeed(Option.none<JobRow>())
      const patch: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(options.patch)) {
        // an explicit `undefined` means "not given", as in the other stores
        if (value !== undefined) patch[key] = key === "tags" ? [...(value as ReadonlyArray<string>)] : value
      }
      const next = { ...prev, ...patch, updatedAt: options.now } as JobRow
      if (next.idempotencyKey !== null && !isTerminal(next.status)) {
        const holder = holderOf(next)
        if (holder !== undefined && holder.id !== next.id) {
          return Effect.fail(
            conflict(`idempotency key ${next.idempotencyKey} of job ${next.id} is held by job ${holder.id}`)
          )
        }
      }
      write(prev, next, options.now)
      const signals: Array<StoreSignal> = []
      if (next.status !== prev.status) signals.push({ _tag: "Changed", id: next.id, status: next.status })
      if (next.status === "QUEUED" && (next.status !== prev.status || "runAt" in patch)) {
        signals.push({ _tag: "Enqueued", queue: next.queue })
      }
      return Effect.as(publish(signals), Option.some(next))
    })

  const claim = (options: ClaimOptions) =>
    Effect.sync(() => {
      if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return []
      const types = options.types === undefined ? undefined : new Set(options.types)
      const byType = new Map<string, number>()
      const byQueue = new Map<string, number>()
      for (const row of running.values()) {
        byType.set(row.type, (byType.get(row.type) ?? 0) + 1)
        byQueue.set(row.queue, (byQueue.get(row.queue) ?? 0) + 1)
      }
      // chosen first, written after: a write makes the row stale in `queued`
      const chosen: Array<JobRow> = []
      for (const row of queued) {
        if (chosen.length >= options.limit) break
        if (!isCurrent(row)) continue
        if (row.runAt > options.now || !options.queues.includes(row.queue)) continue
        if (types !== undefined && !types.has(row.type)) continue
        const typeLimit = options.typeLimits[row.type]
        const queueLimit = options.queueLimits[row.queue]
        const typeCount = byType.get(row.type) ?? 0
        const queueCount = byQueue.get(row.queue) ?? 0
        if (typeLimit !== undefined && typeCount >= typeLimit) continue
        if (queueLimit !== undefined && queueCount >= queueLimit) continue
        byType.set(row.type, typeCount + 1)
        byQueue.set(row.queue, queueCount + 1)
        chosen.push(row)
      }
      const claimed = chosen.map((row) => {
        const next: JobRow = {
          ...row,
          status: "RUNNING",
          attempt: row.attempt + 1,
          startedAt: options.now,
          leaseOwner: options.workerId,
          leaseExpiresAt: options.now + options.leaseMs,
          leaseToken: options.token,
          updatedAt: options.now
        }
        write(row, next, options.now)
        return next
      })
      // the claimed rows, and rows that went stale before them, leave the front in one cut
      let front = 0
      while (front < queued.length && !isCurrent(queued[front])) front++
      if (front > 0) {
        queued.splice(0, front)
        stale = Math.max(0, stale - front)
      }
      return claimed
    })

  /** Whether the worker holds the job by this claim. */
  const holds = (row: JobRow | undefined, workerId: string, token: string): row is JobRow =>
    row !== undefined && row.leaseOwner === workerId && row.leaseToken === token && held(row.status)

  const heartbeat = (options: {
    readonly workerId: string
    readonly leases: ReadonlyArray<LeaseRef>
    readonly now: number
    readonly leaseMs: number
  }) =>
    Effect.sync(() => {
      const changes: Array<StatusChange> = []
      const seen = new Set<string>()
      for (const { id, token } of options.leases) {
        const row = jobs.get(id)
        if (seen.has(id) || !holds(row, options.workerId, token)) continue
        seen.add(id)
        // updatedAt is left alone: a lease refresh is not a change anyone sees
        put({ ...row, leaseExpiresAt: options.now + options.leaseMs })
        changes.push({ id, status: row.status })
      }
      return changes
    })

  const statuses = (options: { readonly ids: ReadonlyArray<string> }) =>
    Effect.sync(() => {
      const changes: Array<StatusChange> = []
      for (const id of new Set(options.ids)) {
        const row = jobs.get(id)
        if (row !== undefined) changes.push({ id, status: row.status })
      }
      return changes
    })

  const settleOne = (workerId: string, now: number, settlement: Settlement): JobRow | undefined => {
    const prev = jobs.get(settlement.id)
    if (!holds(prev, workerId, settlement.token)) return undefined
    const base = {
      ...prev,
      leaseOwner: null,
      leaseExpiresAt: null,
      leaseToken: null,
      updatedAt: now,
      progress: settlement.progress ?? prev.progress
    }
    let next: JobRow
    if (prev.status === "CANCELLING" || settlement._tag === "Cancelled") {
      next = { ...base, status: "CANCELLED", terminalReason: "user", finishedAt: now }
    } else {
      switch (settlement._tag) {
        case "Complete": {
          if (settlement.result !== null) {
            results.set(settlement.result.id, {
              id: settlement.result.id,
              jobId: prev.id,
              value: settlement.result.value,
              createdAt: now
            })
          }
          next = {
            ...base,
            status: "SUCCEEDED",
            terminalReason: null,
            finishedAt: now,
            resultId: settlement.result?.id ?? null
          }
          break
        }
        case "Retry":
          next = { ...base, status: "QUEUED", runAt: settlement.runAt, lastError: settlement.lastError }
          break
        case "Fail":
          next = {
            ...base,
            status: settlement.status,
            terminalReason: settlement.reason,
            lastError: settlement.lastError,
            finishedAt: now
          }
          break
        case "Release":
          next = { ...base, status: "QUEUED", attempt: Math.max(0, prev.attempt - 1) }
          break
      }
    }
    write(prev, next, now)
    return next
  }

  const settle = (options: {
    readonly workerId: string
    readonly now: number
    readonly settlements: ReadonlyArray<Settlement>
    readonly logs?: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }
  }) =>
    Effect.suspend(() => {
      if (options.logs !== undefined) appendLines(options.logs)
      const changes: Array<StatusChange> = []
      const queues: Array<string> = []
      for (const settlement of options.settlements) {
        const next = settleOne(options.workerId, options.now, settlement)
        if (next === undefined) continue
        changes.push({ id: next.id, status: next.status })
        if (next.status === "QUEUED") queues.push(next.queue)
      }
      return Effect.as(publish(enqueued(queues)), changes)
    })

  const saveProgress = (options: {
    readonly workerId: string
    readonly now: number
    readonly updates: ReadonlyArray<{ readonly id: string; readonly token: string; readonly progress: string }>
  }) =>
    Effect.sync(() => {
      for (const { id, progress, token } of options.updates) {
        const row = jobs.get(id)
        if (!holds(row, options.workerId, token)) continue
        put({ ...row, progress, updatedAt: options.now })
      }
    })

  const appendLogs = (options: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }) =>
    Effect.sync(() => appendLines(options))

  function appendLines(options: { readonly entries: ReadonlyArray<NewLog>; readonly cap: number }) {
    const touched = new Set<Array<LogRow>>()
    for (const entry of options.entries) {
      const job = jobs.get(entry.jobId)
      if (job === undefined) continue
      // a worker's line about a claim that no longer holds the job is late: dropped
      if (entry.token !== undefined && (job.leaseToken !== entry.token || !held(job.status))) continue
      let lines = logs.get(entry.jobId)
      if (lines === undefined) {
        lines = []
        logs.set(entry.jobId, lines)
      }
      // zero-padded, so string order is insertion order
      const id = String(++logCounter).padStart(LOG_ID_WIDTH, "0")
      lines.push({ id, jobId: entry.jobId, at: entry.at, level: entry.level, message: entry.message })
      touched.add(lines)
    }
    const cap = Math.max(0, options.cap)
    for (const lines of touched) if (lines.length > cap) lines.splice(0, lines.length - cap)
  }

  const readLogs = (options: { readonly jobId: string; readonly limit: number; readonly cursor: string | null }) =>
    Effect.sync(() => {
      const lines = logs.get(options.jobId) ?? []
      const cursor = options.cursor
      const older = cursor === null ? lines : lines.filter((line) => line.id < cursor)
      const newestFirst = older.slice().reverse()
      const rows = newestFirst.slice(0, Math.max(0, options.limit))
      const last = rows[rows.length - 1]
      return { rows, nextCursor: newestFirst.length > rows.length && last !== undefined ? last.id : null }
    })

  const getResult = (options: { readonly resultId: string }) =>
    Effect.sync(() => Option.fromNullable(results.get(options.resultId)))

  const stats = (options: { readonly filter: JobFilter }) =>
    Effect.sync(() => {
      const counts = new Map<string, StatsRow>()
      for (const row of jobs.values()) {
        if (!matches(options.filter, row)) continue
        const key = JSON.stringify([row.type, row.status])
        const current = counts.get(key)
        counts.set(key, { type: row.type, status: row.status, count: (current?.count ?? 0) + 1 })
      }
      return Array.from(counts.values())
    })

  const deleteOne = (options: { readonly id: string; readonly from: ReadonlyArray<JobStatus> }) =>
    Effect.sync(() => {
      const row = jobs.get(options.id)
      if (row === undefined || !options.from.includes(row.status)) return false
      remove(row.id)
      return true
    })

  const deleteMany = (options: { readonly filter: JobFilter }) =>
    Effect.sync(() => {
      const ids = Array.from(jobs.values())
        .filter((row) => matches(options.filter, row))
        .map((row) => row.id)
      for (const id of ids) remove(id)
      return ids.length
    })

  const rescue = (options: { readonly now: number }) =>
    Effect.suspend(() => {
      const now = options.now
      const changes: Array<StatusChange> = []
      const queues: Array<string> = []
      for (const prev of Array.from(jobs.values())) {
        if (!held(prev.status) || prev.leaseExpiresAt === null || prev.leaseExpiresAt > now) continue
        const base = { ...prev, leaseOwner: null, leaseExpiresAt: null, leaseToken: null, updatedAt: now }
        // a re-queued job keeps its runAt, so it keeps its place ahead of work queued after it
        const next: JobRow =
          prev.status === "CANCELLING"
            ? { ...base, status: "CANCELLED", terminalReason: "user", finishedAt: now }
            : prev.attempt < prev.maxAttempts
              ? { ...base, status: "QUEUED" }
              : { ...base, status: "FAILED", terminalReason: "stalled", finishedAt: now }
        write(prev, next, now)
        changes.push({ id: next.id, status: next.status })
        if (next.status === "QUEUED") queues.push(next.queue)
      }
      const signals: Array<StoreSignal> = changes.map((c) => ({ _tag: "Changed", id: c.id, status: c.status }))
      return Effect.as(publish([...signals, ...enqueued(queues)]), changes)
    })

  const expire = (options: { readonly now: number }) =>
    Effect.suspend(() => {
      const now = options.now
      const changes: Array<StatusChange> = []
      for (const prev of Array.from(jobs.values())) {
        if (prev.status !== "QUEUED" && prev.status !== "RUNNING" && prev.status !== "PAUSED") continue
        if (prev.deadline === null || prev.deadline > now) continue
        write(
          prev,
          {
            ...prev,
            status: "TIMED_OUT",
            terminalReason: "expired",
            leaseOwner: null,
            leaseExpiresAt: null,
            leaseToken: null,
            finishedAt: now,
            updatedAt: now
          },
          now
        )
        changes.push({ id: prev.id, status: "TIMED_OUT" })
      }
      return Effect.as(publish(changes.map((c) => ({ _tag: "Changed", id: c.id, status: c.status }))), changes)
    })

  const claimCallbacks = (options: { readonly now: number; readonly limit: number; readonly leaseMs: number }) =>
    Effect.sync(() => {
      const due = Array.from(callbacks.values())
        .filter((callback) => callback.dueAt <= options.now)
        .sort((a, b) => a.dueAt - b.dueAt || compareValues(a.id, b.id))
        .slice(0, Math.max(0, options.limit))
      return due.map(({ dueAt: _, ...row }): CallbackRow => {
        callbacks.set(row.id, { ...row, dueAt: options.now + options.leaseMs })
        return row
      })
    })

  const settleCallback = (options: { readonly id: string; readonly retryAt: number | null; readonly now: number }) =>
    Effect.sync(() => {
      const callback = callbacks.get(options.id)
      if (callback === undefined) return
      if (options.retryAt === null) callbacks.delete(options.id)
      else callbacks.set(options.id, { ...callback, attempts: callback.attempts + 1, dueAt: options.retryAt })
    })

  return {
    crossProcessSignals: false,
    insert,
    get,
    list,
    update,
    claim,
    heartbeat,
    statuses,
    settle,
    saveProgress,
    appendLogs,
    logs: readLogs,
    getResult,
    stats,
    delete: deleteOne,
    deleteMany,
    rescue,
    expire,
    claimCallbacks,
    settleCallback,
    subscribe: PubSub.subscribe(pubsub)
  } as const
})
