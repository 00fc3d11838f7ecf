/**
 * Claims: one round trip through the `claim` function of migration 1, limits or not. The function takes due rows off
 * the partial due index with `FOR NO KEY UPDATE SKIP LOCKED` (the weakest lock that excludes other claimers; SKIP
 * LOCKED lets claimers pass each other instead of queueing on the same rows) and counts limited types and queues
 * under transaction-scoped advisory locks; its comments say why its plan is forced generic.
 */
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Row } from "./rows.js"
import { toJobRow } from "./rows.js"
import type { Shared } from "./shared.js"

/**
 * The limited types and queues this process has claimed under. A settlement of such a job frees a slot that idle
 * workers of every process should hear of (the settle function announces it), or they would wait for a poll.
 */
export interface Limited {
  readonly types: Set<string>
  readonly queues: Set<string>
}

/** No limited type or queue seen yet. */
export const makeLimited = (): Limited => ({ types: new Set(), queues: new Set() })

// UPDATE … RETURNING has no order: the port's is priority desc, then run_at, then id
const claimOrder = (a: JobStore.JobRow, b: JobStore.JobRow) =>
  b.priority - a.priority || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The claim of one store. */
export const make =
  ({ asyncCommitNow, fn, sql }: Shared, limited: Limited) =>
  /** `JobStore.claim`. */
  (options: JobStore.ClaimOptions) =>
    Effect.gen(function* () {
      if (options.limit <= 0 || options.queues.length === 0 || options.types?.length === 0) return []
      for (const type of Object.keys(options.typeLimits)) limited.types.add(type)
      for (const queue of Object.keys(options.queueLimits)) limited.queues.add(queue)
      const asyncCommit = yield* asyncCommitNow
      const rows = yield* sql<Row>`SELECT * FROM ${fn("claim")}(
        ${options.workerId}::text, ${options.token}::text, ${options.now}::int8, ${options.leaseMs}::int8,
        ${options.limit}::int4, ${options.queues}::text[], ${options.types ?? null}::text[],
        ${JSON.stringify(options.typeLimits)}::json,
        ${JSON.stringify(options.queueLimits)}::json, ${asyncCommit}::boolean
      )`
      return rows.map(toJobRow).sort(claimOrder)
    })
