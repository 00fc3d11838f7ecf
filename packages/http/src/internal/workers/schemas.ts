/**
 * The bodies and answers of the worker routes (`WorkersApi`). Every call about a claimed job carries the claim's
 * `token`; the job's id is in the path.
 */
import { Job, RemoteWorker } from "@jobloom/core"
import * as Schema from "effect/Schema"

const Text = (max: number) => Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max))
const Count = Schema.Int.pipe(Schema.nonNegative())
const Token = Text(200).annotations({ description: "the token of the claim that holds the job" })

/** `POST /workers/claim`. */
export const ClaimBody = Schema.Struct({
  workerId: Text(200).annotations({ description: "names the worker in leases (`remote:<workerId>`) and logs" }),
  types: Schema.Array(Text(200)).pipe(Schema.minItems(1), Schema.maxItems(100)).annotations({
    description:
      "the job types the worker serves (registered in the API process; a definition without handler suffices)"
  }),
  queues: Schema.optional(
    Schema.Array(Text(200)).pipe(Schema.minItems(1), Schema.maxItems(100)).annotations({
      description: "queues to claim from; default: the queues of `types`"
    })
  ),
  limit: Schema.optional(
    Schema.Int.pipe(Schema.between(1, RemoteWorker.maxClaimLimit)).annotations({
      description: "jobs at most; default 1"
    })
  ),
  waitMs: Schema.optional(
    Schema.Int.pipe(Schema.between(0, RemoteWorker.maxWaitMs)).annotations({
      description: "long-poll: wait up to this long for a job when none is due; default 0"
    })
  )
}).annotations({ identifier: "ClaimRequest" })

/** One claimed job. */
export const Claimed = Schema.Struct({
  job: Job.Job,
  token: Token,
  leaseExpiresAt: Schema.String.annotations({ description: "renew with a heartbeat before then" }),
  heartbeatMs: Schema.Int.annotations({ description: "how often to heartbeat (a third of the lease)" })
}).annotations({ identifier: "ClaimedJob" })

/** The answer to a claim: empty when no job was due within the wait. */
export const ClaimAnswer = Schema.Struct({ jobs: Schema.Array(Claimed) }).annotations({ identifier: "ClaimAnswer" })

/** `POST /workers/jobs/{id}/heartbeat`. */
export const HeartbeatBody = Schema.Struct({ token: Token }).annotations({ identifier: "HeartbeatRequest" })

/** The answer to a heartbeat. */
export const HeartbeatAnswer = Schema.Struct({
  status: Job.JobStatus,
  stop: Schema.NullOr(Schema.Literal("cancel", "pause", "timeout", "deadline")).annotations({
    description:
      "null: keep going. `cancel`: stop and settle (either settle route; the job becomes CANCELLED). " +
      "`pause`: stop, report a last `checkpoint` with `progress` if there is one, then settle with `fail` (the job " +
      "becomes PAUSED and the attempt is given back; a `succeed` instead stands: SUCCEEDED). " +
      "`timeout`/`deadline`: the attempt is already settled; stop"
  }),
  leaseExpiresAt: Schema.NullOr(Schema.String)
}).annotations({ identifier: "HeartbeatAnswer" })

/** `POST /workers/jobs/{id}/progress`. */
export const ProgressBody = Schema.Struct({
  token: Token,
  stages: Schema.optional(
    Schema.Array(
      Schema.Struct({
        key: Text(200),
        status: Schema.optional(Job.StageStatus),
        progress: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
        params: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
      })
    ).pipe(Schema.maxItems(100))
  ),
  items: Schema.optional(
    Schema.Struct({
      total: Schema.optional(Count),
      completed: Schema.optional(Count),
      failed: Schema.optional(Count)
    }).annotations({ description: "bare item counters (absolute values), for jobs whose items have no names" })
  ),
  checkpoint: Schema.optional(
    Schema.Unknown.annotations({
      description:
        "a checkpoint to save (any JSON value, in the encoded form of the type's checkpoint Schema, which checks it: " +
        "a refused one is a 400 naming `checkpoint`): stored with " +
        "the job (coalesced, and written with the settle) and handed to the next attempt as the claimed job's " +
        "`checkpoint` after a pause, a failure or a crash"
    })
  )
}).annotations({ identifier: "ProgressReport" })

/** `POST /workers/jobs/{id}/items`. */
export const ItemsBody = Schema.Struct({
  token: Token,
  items: Schema.Array(
    Schema.Struct({
      key: Text(500),
      status: Schema.Literal("PENDING", "RUNNING", "SUCCEEDED", "FAILED"),
      input: Schema.optional(Schema.Unknown),
      output: Schema.optional(Schema.Unknown),
      error: Schema.optional(Schema.String.pipe(Schema.maxLength(10_000)))
    })
  ).pipe(Schema.minItems(1), Schema.maxItems(1000))
}).annotations({ identifier: "ItemsReport" })

/** `POST /workers/jobs/{id}/logs`. */
export const LogsBody = Schema.Struct({
  token: Token,
  lines: Schema.Array(
    Schema.Struct({ level: Job.LogLevel, message: Schema.String.pipe(Schema.maxLength(10_000)) })
  ).pipe(Schema.minItems(1), Schema.maxItems(1000))
}).annotations({ identifier: "LogLines" })

/** `POST /workers/jobs/{id}/succeed`. */
export const SucceedBody = Schema.Struct({
  token: Token,
  result: Schema.optional(Schema.Unknown.annotations({ description: "checked by the job type's result Schema" }))
}).annotations({ identifier: "SucceedRequest" })

/** `POST /workers/jobs/{id}/fail`. */
export const FailBody = Schema.Struct({
  token: Token,
  message: Text(10_000),
  retryable: Schema.optional(Schema.Boolean.annotations({ description: "default true: retried with backoff" })),
  terminalReason: Schema.optional(Schema.Literal("error", "threshold"))
}).annotations({ identifier: "FailRequest" })

/** The job's status after a settle. */
export const Settled = Schema.Struct({ status: Job.JobStatus }).annotations({ identifier: "Settled" })
