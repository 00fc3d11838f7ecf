/**
 * A jobloom job in Antenna's wire shape (seeds 000/001, COMPAT.md §4): the DRF job serializer's fields, Celery-style
 * status codes, nested project/pipeline/deployment/capture objects and `logs {stdout, stderr}`.
 *
 * Antenna's own relations (project, pipeline, deployment, source images, data export) mean nothing to jobloom: they
 * are kept in the job's `metadata` under their Antenna names, as an id or as the object a host gave, and shown with
 * every key the seeds show. The project is the job's `owner`.
 */
import type { Job } from "@jobloom/core"

/** Antenna's ten status codes (Celery states plus CREATED and CANCELING). */
export const statusCodes = [
  "CANCELING",
  "CREATED",
  "FAILURE",
  "PENDING",
  "RECEIVED",
  "RETRY",
  "REVOKED",
  "STARTED",
  "SUCCESS",
  "UNKNOWN"
] as const
/** One of Antenna's status codes. */
export type StatusCode = (typeof statusCodes)[number]

/** A job's Antenna status (DESIGN §3): a queued job that already ran an attempt waits as RETRY. */
export const statusOf = (job: Pick<Job.Job, "status" | "attempt">): StatusCode => {
  switch (job.status) {
    case "CREATED":
      return "CREATED"
    case "QUEUED":
      return job.attempt > 0 ? "RETRY" : "PENDING"
    case "PAUSED":
      // Antenna has no paused state: the job waits, as a pending one does
      return "PENDING"
    case "RUNNING":
    case "PAUSING":
      // a pausing job still runs until its handler is interrupted
      return "STARTED"
    case "CANCELLING":
      return "CANCELING"
    case "SUCCEEDED":
      return "SUCCESS"
    case "FAILED":
    case "TIMED_OUT":
      return "FAILURE"
    case "CANCELLED":
      return "REVOKED"
  }
}

/** The jobloom statuses an Antenna code may stand for (`statusOf` decides PENDING against RETRY). */
export const statusesOf = (code: StatusCode): ReadonlyArray<Job.JobStatus> => {
  switch (code) {
    case "CREATED":
      return ["CREATED"]
    case "PENDING":
      return ["QUEUED", "PAUSED"]
    case "RETRY":
      return ["QUEUED"]
    case "STARTED":
      return ["RUNNING", "PAUSING"]
    case "CANCELING":
      return ["CANCELLING"]
    case "SUCCESS":
      return ["SUCCEEDED"]
    case "FAILURE":
      return ["FAILED", "TIMED_OUT"]
    case "REVOKED":
      return ["CANCELLED"]
    case "RECEIVED":
    case "UNKNOWN":
      return []
  }
}

const stageCodes: Record<Job.StageStatus, StatusCode> = {
  PENDING: "CREATED",
  RUNNING: "STARTED",
  SUCCEEDED: "SUCCESS",
  FAILED: "FAILURE",
  SKIPPED: "REVOKED",
  CANCELLED: "REVOKED"
}

/**
 * A time as Django REST framework writes it (microseconds), in UTC with a `Z`. The seeds' times are naive (the
 * server's local time, no zone): a browser's `new Date(naive)` reads those as the *viewer's* local time, so a naive
 * UTC time would be shown hours off anywhere but in UTC. With the `Z`, every client reads the instant right.
 */
export const formatTime = (iso: string | null): string | null => (iso === null ? null : `${iso.slice(0, -1)}000Z`)

const pad = (n: number) => String(n).padStart(2, "0")

/** `[YYYY-MM-DD HH:MM:SS]` in UTC, as Antenna's job logger writes it. */
const logTime = (iso: string): string => {
  const d = new Date(iso)
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  )
}

const levelNames: Record<Job.LogLevel, string> = { info: "INFO", warn: "WARNING", error: "ERROR" }

/** Log lines (newest first) as Antenna's `logs {stdout, stderr}`: stderr holds the bare messages of error lines. */
export const logsOf = (
  entries: ReadonlyArray<Job.LogEntry>
): { readonly stdout: ReadonlyArray<string>; readonly stderr: ReadonlyArray<string> } => ({
  stdout: entries.map((e) => `[${logTime(e.at)}] ${levelNames[e.level]} ${e.message}`),
  stderr: entries.filter((e) => e.level === "error").map((e) => e.message)
})

/** Where the router is mounted: the absolute URL that `/jobs/…` paths hang from. */
export interface Base {
  /** e.g. `https://host/api/v2` */
  readonly url: string
}

type Nested = Record<string, unknown>

/** The keys each nested object has in the seeds, and where its `details` URL points. */
const nestedShapes = {
  project: { path: "projects", keys: ["id", "name", "details", "user_permissions"] },
  deployment: { path: "deployments", keys: ["id", "name", "details", "user_permissions"] },
  source_image_collection: {
    path: "captures/collections",
    keys: ["id", "name", "details", "method", "user_permissions"]
  },
  source_image_single: { path: "captures", keys: ["id", "details", "event_id", "user_permissions"] },
  pipeline: {
    path: "ml/pipelines",
    keys: [
      "id",
      "details",
      "name",
      "slug",
      "description",
      "version",
      "version_name",
      "created_at",
      "updated_at",
      "user_permissions"
    ]
  }
} as const

/** The relations Antenna nests in a job, by their field names. */
export type Relation = keyof typeof nestedShapes
/** Every relation. */
export const relations = Object.keys(nestedShapes) as ReadonlyArray<Relation>

/** The id of a relation as kept in metadata (an id, or an object with one), or null. */
export const relationId = (value: unknown): unknown => {
  if (value === null || value === undefined) return null
  if (typeof value === "object") return (value as Nested).id ?? null
  return value
}

/** An id as Antenna shows it: integers as numbers (`"18"` → 18), anything else as given. */
const idValue = (id: unknown): unknown => (typeof id === "string" && /^[0-9]{1,15}$/.test(id) ? Number(id) : id)

/** A nested relation with every key of its seed shape: what the host gave, its `details` URL, nulls elsewhere. */
const nested = (base: Base, relation: Relation, value: unknown): Nested | null => {
  const id = relationId(value)
  if (id === null) return null
  const given = typeof value === "object" && value !== null ? (value as Nested) : {}
  const shape = nestedShapes[relation]
  const out: Nested = {}
  for (const key of shape.keys) {
    out[key] =
      key === "id"
        ? idValue(id)
        : key === "details"
          ? (given.details ?? `${base.url}/${shape.path}/${encodeURIComponent(String(id))}/`)
          : key === "user_permissions"
            ? (given.user_permissions ?? [])
            : (given[key] ?? null)
  }
  for (const [key, v] of Object.entries(given)) if (!(key in out)) out[key] = v
  return out
}

/** A field of Antenna's job row that jobloom keeps in params (when the type declares it) or in metadata. */
const field = (job: Job.Job, key: string, fallback: unknown): unknown => {
  const params = job.params
  if (typeof params === "object" && params !== null && key in params) return (params as Nested)[key]
  return key in job.metadata ? job.metadata[key] : fallback
}

/** `finished − started` (or `now − started` while running) in seconds, as a string, as Antenna's `duration`. */
const durationOf = (job: Job.Job, now: number): string | null => {
  if (job.startedAt === null) return null
  const end = job.finishedAt === null ? now : Date.parse(job.finishedAt)
  return String(Math.max(0, end - Date.parse(job.startedAt)) / 1000)
}

/** What a view needs beside the job. */
export interface ViewContext {
  readonly base: Base
  readonly now: number
  /** Job type key → its name (`job_type.name`). */
  readonly typeNames: ReadonlyMap<string, string>
  /** The caller's permissions on this job (`run`, `update`, `delete`). */
  readonly permissions: ReadonlyArray<string>
  /** Newest first; absent in lists (Antenna's list shows its legacy, now empty, log column). */
  readonly logs?: ReadonlyArray<Job.LogEntry>
}

/** The job as Antenna's job serializer writes it, keys in the seeds' order. */
export const jobView = (job: Job.Job, context: ViewContext): Record<string, unknown> => {
  const { base } = context
  const status = statusOf(job)
  const project = job.metadata.project ?? job.owner
  const logs = logsOf(context.logs ?? [])
  return {
    id: job.number,
    details: `${base.url}/jobs/${job.number}/`,
    name: job.name,
    delay: job.type === "delay" ? field(job, "seconds", 0) : field(job, "delay", 0),
    limit: field(job, "limit", null),
    shuffle: field(job, "shuffle", true),
    // never null: the UI reads `project.name` of every job
    project: nested(base, "project", project) ?? { id: null, name: null, details: null, user_permissions: [] },
    deployment: nested(base, "deployment", job.metadata.deployment),
    source_image_collection: nested(base, "source_image_collection", job.metadata.source_image_collection),
    source_image_single: nested(base, "source_image_single", job.metadata.source_image_single),
    pipeline: nested(base, "pipeline", job.metadata.pipeline),
    status,
    created_at: formatTime(job.createdAt),
    updated_at: formatTime(job.updatedAt),
    started_at: formatTime(job.startedAt),
    finished_at: formatTime(job.finishedAt),
    duration: durationOf(job, context.now),
    progress: {
      summary: { status, progress: job.status === "SUCCEEDED" ? 1 : job.progress.summary.progress },
      stages: job.progress.stages.map((stage) => ({
        status: stageCodes[stage.status],
        progress: stage.progress,
        key: stage.key,
        name: stage.name,
        params: stage.params.map((p) => ({ name: p.name, key: p.key, category: p.category, value: p.value }))
      })),
      errors: job.lastError === null ? [] : [job.lastError.message],
      // the legacy log column, which UIs before JobLog rows read (seed 001 shows it filled, as detail does here)
      logs: logs.stdout
    },
    logs,
    job_type: { name: context.typeNames.get(job.type) ?? job.type, key: job.type },
    data_export: job.metadata.data_export ?? null,
    dispatch_mode: "internal",
    // Antenna's own result column is null in the seeds; the jobloom result id (or null) keeps that shape and says
    // where the handler's value is (`GET /results/{id}` of the native API)
    result: job.resultId,
    user_permissions: context.permissions
  }
}
