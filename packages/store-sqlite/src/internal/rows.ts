/**
 * Rows as stored (snake_case columns, times as INTEGER epoch ms, JSON as TEXT) and as the port sees them.
 */
import * as Statement from "@effect/sql/Statement"
import type { Job, JobStore } from "@jobloom/core"

type JobRow = JobStore.JobRow

/** The columns of the jobs table, in the order `fromValues` reads them. */
export const jobColumns = [
  "id",
  "type",
  "name",
  "queue",
  "owner",
  "idempotency_key",
  "status",
  "terminal_reason",
  "priority",
  "params",
  "metadata",
  "tags",
  "batch_id",
  "callback_url",
  "attempt",
  "max_attempts",
  "timeout_ms",
  "deadline",
  "run_at",
  "created_at",
  "updated_at",
  "queued_at",
  "started_at",
  "finished_at",
  "progress",
  "last_error",
  "result_id",
  "lease_owner",
  "lease_expires_at",
  "lease_token",
  "number",
  "schedule_key",
  "trace_context",
  "depends_on",
  "dependency_policy",
  "waiting_on",
  // --- pausing and checkpoints ---
  "checkpoint"
] as const

/** `jobColumns` as a select list. */
export const jobColumnList = jobColumns.join(", ")

// Rows are read defensively: a hand-edited or corrupted column must reach core (which fails that job with a clear
// error) instead of crashing the store.

/** A column read as text. */
export const text = (value: unknown): string =>
  typeof value === "string" ? value : value === null || value === undefined ? "" : String(value)
/** A nullable column read as text. */
export const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value)
/** A column read as a finite number (0 otherwise). */
export const int = (value: unknown): number => {
  const n = typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : Number(value ?? 0)
  return Number.isFinite(n) ? n : 0
}
/** A nullable column read as a number. */
export const intOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : int(value))

/** The tags of most jobs: one frozen array for all of them rather than a parse and an array per row. */
const noTags: ReadonlyArray<string> = Object.freeze([])

const parseTags = (value: unknown): ReadonlyArray<string> => {
  if (typeof value !== "string" || value === "[]") return noTags
  try {
    const parsed: unknown = JSON.parse(value)
    return Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === "string") : []
  } catch {
    return []
  }
}

/**
 * A jobs row read as values in `jobColumns` order (the driver's raw mode: no object per row is built, which is
 * most of the cost of reading a row with this many columns).
 */
export const fromValues = (v: ReadonlyArray<unknown>): JobRow => ({
  id: text(v[0]),
  type: text(v[1]),
  name: text(v[2]),
  queue: text(v[3]),
  owner: textOrNull(v[4]),
  idempotencyKey: textOrNull(v[5]),
  status: text(v[6]) as Job.JobStatus,
  terminalReason: textOrNull(v[7]) as Job.TerminalReason | null,
  priority: int(v[8]),
  params: text(v[9]),
  metadata: text(v[10]),
  tags: parseTags(v[11]),
  batchId: textOrNull(v[12]),
  callbackUrl: textOrNull(v[13]),
  attempt: int(v[14]),
  maxAttempts: int(v[15]),
  timeoutMs: intOrNull(v[16]),
  deadline: intOrNull(v[17]),
  runAt: int(v[18]),
  createdAt: int(v[19]),
  updatedAt: int(v[20]),
  queuedAt: intOrNull(v[21]),
  startedAt: intOrNull(v[22]),
  finishedAt: intOrNull(v[23]),
  progress: text(v[24]),
  lastError: textOrNull(v[25]),
  resultId: textOrNull(v[26]),
  leaseOwner: textOrNull(v[27]),
  leaseExpiresAt: intOrNull(v[28]),
  leaseToken: textOrNull(v[29]),
  number: int(v[30]),
  scheduleKey: textOrNull(v[31]),
  traceContext: textOrNull(v[32]),
  ...dependencyFields(v[33], v[34], v[35]),
  checkpoint: textOrNull(v[36])
})

/** The dependency fields of a row from their columns (NULL `depends_on`: none; NULL policy: `fail`). */
export const dependencyFields = (
  dependsOn: unknown,
  policy: unknown,
  waitingOn: unknown
): Pick<JobRow, "dependsOn" | "dependencyPolicy" | "waitingOn"> => ({
  dependsOn: parseTags(dependsOn),
  dependencyPolicy: policy === "run" ? "run" : "fail",
  waitingOn: int(waitingOn)
})

/** The dependency columns of a row to insert, in `jobColumns` order. */
export const dependencyValues = (job: JobRow): ReadonlyArray<unknown> => [
  job.dependsOn === undefined || job.dependsOn.length === 0 ? null : JSON.stringify(job.dependsOn),
  job.dependencyPolicy === "run" ? "run" : null,
  job.waitingOn ?? 0
]

/** An `[id, status, …]` row read as a status change. */
export const statusChange = (row: ReadonlyArray<unknown>): JobStore.StatusChange => ({
  id: text(row[0]),
  status: text(row[1]) as Job.JobStatus
})

/** Columns most jobs leave NULL, which a claim returns packed into one value (see `claimedColumnList`). */
const rareColumns = [
  "owner",
  "idempotency_key",
  "terminal_reason",
  "batch_id",
  "callback_url",
  "timeout_ms",
  "deadline",
  "finished_at",
  "last_error",
  "result_id",
  "schedule_key",
  "trace_context",
  "depends_on",
  "dependency_policy",
  // the next attempt reads the checkpoint the last one saved
  "checkpoint"
] as const

/**
 * What a claim returns, in the order `fromClaimed` reads it. Not the five columns the claim itself sets to values
 * the caller already has (status, start, update and lease times, lease owner); and the columns most jobs leave
 * NULL as one value: NULL when all of them are, else a JSON array of them (as text: a BLOB, which JSON cannot hold,
 * reads as text, as `textOrNull` would read it). A claim returns hundreds of rows, and each value returned is
 * converted and allocated per row: this returns 16 values a row rather than 30.
 */
export const claimedColumnList = [
  "id",
  "type",
  "name",
  "queue",
  "priority",
  "params",
  "metadata",
  "tags",
  "attempt",
  "max_attempts",
  "run_at",
  "created_at",
  "queued_at",
  "progress",
  `CASE WHEN ${rareColumns.map((c) => `${c} IS NULL`).join(" AND ")} THEN NULL
    ELSE json_array(${rareColumns.map((c) => `CAST(${c} AS TEXT)`).join(", ")}) END`,
  "number"
].join(", ")

const noRare: ReadonlyArray<unknown> = Object.freeze([])

/** The packed rare columns of a claimed row, in `rareColumns` order (absent ones read as NULL). */
const parseRare = (value: unknown): ReadonlyArray<unknown> => {
  if (typeof value !== "string") return noRare
  try {
    const parsed: unknown = JSON.parse(value)
    return Array.isArray(parsed) ? parsed : noRare
  } catch {
    return noRare
  }
}

/** What a claim wrote into every row it took: the columns `claimedColumnList` leaves out. */
export interface ClaimWrite {
  readonly workerId: string
  readonly now: number
  readonly leaseExpiresAt: number
  readonly token: string
}

/** A claimed row read as values in `claimedColumnList` order, completed with what the claim wrote. */
export const fromClaimed = (v: ReadonlyArray<unknown>, write: ClaimWrite): JobRow => {
  const rare = parseRare(v[14])
  return {
    id: text(v[0]),
    type: text(v[1]),
    name: text(v[2]),
    queue: text(v[3]),
    owner: textOrNull(rare[0]),
    idempotencyKey: textOrNull(rare[1]),
    status: "RUNNING",
    terminalReason: textOrNull(rare[2]) as Job.TerminalReason | null,
    priority: int(v[4]),
    params: text(v[5]),
    metadata: text(v[6]),
    tags: parseTags(v[7]),
    batchId: textOrNull(rare[3]),
    callbackUrl: textOrNull(rare[4]),
    attempt: int(v[8]),
    maxAttempts: int(v[9]),
    timeoutMs: intOrNull(rare[5]),
    deadline: intOrNull(rare[6]),
    runAt: int(v[10]),
    createdAt: int(v[11]),
    updatedAt: write.now,
    queuedAt: intOrNull(v[12]),
    startedAt: write.now,
    finishedAt: intOrNull(rare[7]),
    progress: text(v[13]),
    lastError: textOrNull(rare[8]),
    resultId: textOrNull(rare[9]),
    leaseOwner: write.workerId,
    leaseExpiresAt: write.leaseExpiresAt,
    leaseToken: write.token,
    number: int(v[15]),
    scheduleKey: textOrNull(rare[10]),
    traceContext: textOrNull(rare[11]),
    // a claimed job waits on nothing
    ...dependencyFields(rare[12] ?? null, rare[13] ?? null, 0),
    checkpoint: textOrNull(rare[14])
  }
}

/** A `JobRow` as values in `jobColumns` order, for an insert. */
export const toValues = (job: JobRow): ReadonlyArray<unknown> => [
  job.id,
  job.type,
  job.name,
  job.queue,
  job.owner,
  job.idempotencyKey,
  job.status,
  job.terminalReason,
  job.priority,
  job.params,
  job.metadata,
  JSON.stringify(job.tags),
  job.batchId,
  job.callbackUrl,
  job.attempt,
  job.maxAttempts,
  job.timeoutMs,
  job.deadline,
  job.runAt,
  job.createdAt,
  job.updatedAt,
  job.queuedAt,
  job.startedAt,
  job.finishedAt,
  job.progress,
  job.lastError,
  job.resultId,
  job.leaseOwner,
  job.leaseExpiresAt,
  job.leaseToken,
  job.number,
  job.scheduleKey ?? null,
  job.traceContext ?? null,
  ...dependencyValues(job),
  job.checkpoint ?? null
]

/** The column of each field `update` may set. */
export const patchColumns: { readonly [K in keyof Required<JobStore.JobPatch>]: string } = {
  name: "name",
  queue: "queue",
  owner: "owner",
  idempotencyKey: "idempotency_key",
  status: "status",
  terminalReason: "terminal_reason",
  priority: "priority",
  params: "params",
  metadata: "metadata",
  tags: "tags",
  callbackUrl: "callback_url",
  attempt: "attempt",
  maxAttempts: "max_attempts",
  timeoutMs: "timeout_ms",
  deadline: "deadline",
  runAt: "run_at",
  queuedAt: "queued_at",
  startedAt: "started_at",
  finishedAt: "finished_at",
  progress: "progress",
  lastError: "last_error",
  resultId: "result_id",
  leaseOwner: "lease_owner",
  leaseExpiresAt: "lease_expires_at",
  leaseToken: "lease_token",
  checkpoint: "checkpoint"
}

/** The SQL expression a list sorts by; null times as -1, as `ListCursor` says. */
export const sortExpressions: { readonly [K in JobStore.SortKey]: string } = {
  createdAt: "created_at",
  updatedAt: "updated_at",
  startedAt: "coalesce(started_at, -1)",
  finishedAt: "coalesce(finished_at, -1)",
  priority: "priority",
  name: "name"
}

// ---------------------------------------------------------------------------------------------------------------
// batches as VALUES lists

/** Rows per batch statement at most (8 columns x 512 rows stays far below SQLite's 32,766 parameters). */
export const maxBatch = 512

const placeholderCache = new Map<string, string>()

/**
 * A `VALUES` list of `rows`, each of `width` values. With `pad`, NULL rows fill it up to the next power of two, so a
 * handful of statement texts (and prepared statements, cached by the client) serve every batch size; callers make
 * NULL rows match nothing.
 */
export const valuesList = (
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
  width: number,
  options: { readonly pad: boolean }
): Statement.Fragment => {
  const params: Array<unknown> = []
  for (const row of rows) for (let i = 0; i < width; i++) params.push(row[i] ?? null)
  return flatValuesList(params, width, options)
}

/**
 * `valuesList` of rows given as one flat array of `width` values a row (`params.length` a multiple of `width`),
 * which it pads in place: the hot batches write their parameters straight into it, with no array per row.
 */
export const flatValuesList = (
  params: Array<unknown>,
  width: number,
  options: { readonly pad: boolean }
): Statement.Fragment => {
  const count = params.length / width
  const size = options.pad ? 2 ** Math.ceil(Math.log2(Math.max(1, count))) : count
  const key = `${size}x${width}`
  let placeholders = placeholderCache.get(key)
  if (placeholders === undefined) {
    const row = `(${Array.from({ length: width }, () => "?").join(", ")})`
    placeholders = `VALUES ${Array.from({ length: size }, () => row).join(", ")}`
    placeholderCache.set(key, placeholders)
  }
  for (let i = params.length; i < size * width; i++) params.push(null)
  return Statement.unsafeFragment(placeholders, params)
}

/**
 * Splits `items` into chunks whose sizes are powers of two (largest first, at most `max`), so an insert that cannot
 * be padded still runs as a few statements of a few cached texts.
 */
export const powerOfTwoChunks = <A>(items: ReadonlyArray<A>, max: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  let start = 0
  while (start < items.length) {
    const size = Math.min(max, 2 ** Math.floor(Math.log2(items.length - start)))
    chunks.push(items.slice(start, start + size))
    start += size
  }
  return chunks
}

/** Splits `items` into chunks of at most `size`. */
export const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const chunks: Array<Array<A>> = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}
