/**
 * The engine's public errors: small tagged values with structured fields. HTTP status mapping lives only in
 * `@jobloom/http`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JobStatus } from "./Job.js"

/** One problem with one field of the input. `path` names the field (`params.images`, `priority`). */
export const Issue = Schema.Struct({ path: Schema.String, message: Schema.String })
/** One problem with one field. */
export type Issue = typeof Issue.Type

/** No job with this id. */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String
}) {
  override get message() {
    return `job ${this.jobId} not found`
  }
}

/** No result with this id, or the job has no result (yet). */
export class ResultNotFound extends Schema.TaggedError<ResultNotFound>()("ResultNotFound", {
  resultId: Schema.NullOr(Schema.String),
  jobId: Schema.NullOr(Schema.String)
}) {
  override get message() {
    return this.resultId !== null ? `result ${this.resultId} not found` : `job ${this.jobId} has no result`
  }
}

/** No job carries this batch id. */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  batchId: Schema.String
}) {
  override get message() {
    return `batch ${this.batchId} not found`
  }
}

/** The action is not allowed from the job's current status. */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  jobId: Schema.String,
  from: JobStatus,
  action: Schema.String
}) {
  override get message() {
    return `cannot ${this.action} job ${this.jobId}: it is ${this.from}`
  }
}

/** A delete of a job that non-terminal jobs depend on, without `force` (HTTP 409). */
export class JobHasDependents extends Schema.TaggedError<JobHasDependents>()("JobHasDependents", {
  jobId: Schema.String,
  /** How many non-terminal jobs depend on it. */
  dependents: Schema.Number
}) {
  override get message() {
    return `cannot delete job ${this.jobId}: ${this.dependents} unfinished job(s) depend on it (force=true deletes it; they then see it as failed)`
  }
}

/** No job type is registered under this key. */
export class UnknownJobType extends Schema.TaggedError<UnknownJobType>()("UnknownJobType", {
  type: Schema.String
}) {
  override get message() {
    return `unknown job type "${this.type}"`
  }
}

/** The params do not match the job type's params Schema. Each issue's path starts with `params`. */
export class InvalidParams extends Schema.TaggedError<InvalidParams>()("InvalidParams", {
  type: Schema.String,
  issues: Schema.Array(Issue)
}) {
  override get message() {
    return `invalid params for job type "${this.type}": ${this.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`
  }
}

/** Any other field of the input is wrong (a negative priority limit, an unparsable time, no filter on bulk delete). */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  issues: Schema.Array(Issue)
}) {
  override get message() {
    return this.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
  }
}

/**
 * The idempotency key is held by a job the caller may not see (keys made global by the host). Says nothing of that
 * job.
 */
export class IdempotencyKeyHeld extends Schema.TaggedError<IdempotencyKeyHeld>()("IdempotencyKeyHeld", {
  idempotencyKey: Schema.String
}) {
  override get message() {
    return "this idempotency key is held by another job"
  }
}

/** No schedule has this key. */
export class ScheduleNotFound extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", {
  key: Schema.String
}) {
  override get message() {
    return `schedule ${this.key} not found`
  }
}

/** A schedule with this key exists already (create only; a put replaces it). */
export class ScheduleExists extends Schema.TaggedError<ScheduleExists>()("ScheduleExists", {
  key: Schema.String
}) {
  override get message() {
    return `schedule ${this.key} exists already`
  }
}
