/**
 * Settlements: a worker's batch of ended attempts in one round trip, through the `settle` function of migration 1,
 * which applies any mix of settlements guarded by lease owner and token, inserts their results and callbacks, appends
 * the batch's log lines first, and announces the queues that gained a job or a free slot, all in one transaction.
 *
 * No batching here: the worker's settler is the process's one group commit, and hands each call a whole batch. A
 * second batcher in the store would only add a queue hop and a fiber to every settle.
 */
import type { Job, JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Limited } from "./claim.js"
import type { Row } from "./rows.js"
import type { Shared } from "./shared.js"
import type { Logs } from "./logs.js"
import { capOf } from "./logs.js"

/**
 * The settlements as the function's JSON rows. A field that does not apply is left out (undefined), not sent as
 * null: json_to_recordset reads a missing key as NULL, and a Complete, the usual settlement, travels as five keys
 * rather than eleven.
 */
const toInput = (workerId: string, now: number, settlements: ReadonlyArray<JobStore.Settlement>) =>
  settlements.map((s) => ({
    worker_id: workerId,
    token: s.token,
    at: now,
    kind: s._tag,
    id: s.id,
    progress: s.progress ?? undefined,
    run_at: s._tag === "Retry" ? s.runAt : undefined,
    last_error: s._tag === "Retry" || s._tag === "Fail" ? (s.lastError ?? undefined) : undefined,
    fail_status: s._tag === "Fail" ? s.status : undefined,
    reason: s._tag === "Fail" ? s.reason : undefined,
    result_id: s._tag === "Complete" ? (s.result?.id ?? undefined) : undefined,
    result_value: s._tag === "Complete" ? (s.result?.value ?? undefined) : undefined
  }))

/**
 * The settlements in rounds: each job at most once per round, its later settlements in later rounds. In one
 * statement the first write of a row is not visible to the second, and Postgres would apply only one of them, of its
 * choosing; in order, each a statement later, every one applies as if alone. Almost always one round.
 */
const roundsOf = (settlements: ReadonlyArray<JobStore.Settlement>): Array<Array<number>> => {
  const rounds: Array<Array<number>> = []
  const seen = new Map<string, number>()
  settlements.forEach((settlement, index) => {
    const round = seen.get(settlement.id) ?? 0
    seen.set(settlement.id, round + 1)
    ;(rounds[round] ??= []).push(index)
  })
  return rounds
}

/** The settle of one store. */
export const make = ({ asyncCommitNow, fn, sql }: Shared, limited: Limited, appendLogs: Logs["append"]) => {
  /** One call of the settle function; `lines` (JSON, or null) are appended before the settlements apply. */
  const statement = (input: ReadonlyArray<unknown>, asyncCommit: boolean, lines: string | null, cap: number) =>
    sql<Row>`SELECT * FROM ${fn("settle")}(
      ${JSON.stringify(input)}::json, ${asyncCommit}::boolean,
      ${Array.from(limited.types)}::text[], ${Array.from(limited.queues)}::text[], ${lines}::json,
      ${cap}::int4
    )`

  /** `JobStore.settle`: one statement per round (see {@link roundsOf}), the log lines with the first. */
  return (options: Parameters<JobStore.JobStore.Service["settle"]>[0]) =>
    Effect.gen(function* () {
      const logs = options.logs
      if (options.settlements.length === 0) {
        if (logs !== undefined) yield* appendLogs(logs)
        return []
      }
      // a worker write: asynchronous commit, unless inside a caller's transaction or made durable
      const asyncCommit = yield* asyncCommitNow
      const input = toInput(options.workerId, options.now, options.settlements)
      const answer: Array<Job.JobStatus | undefined> = new Array(input.length).fill(undefined)
      for (const [round, indexes] of roundsOf(options.settlements).entries()) {
        const withLines = round === 0 && logs !== undefined && logs.entries.length > 0
        const applied = yield* statement(
          indexes.map((i) => input[i]),
          asyncCommit,
          withLines ? JSON.stringify(logs.entries) : null,
          withLines ? capOf(logs.cap) : 0
        )
        const byId = new Map(applied.map((r) => [r.id as string, r.status as Job.JobStatus] as const))
        for (const i of indexes) answer[i] = byId.get(options.settlements[i].id)
      }
      const changes: Array<JobStore.StatusChange> = []
      options.settlements.forEach(({ id }, i) => {
        const status = answer[i]
        if (status !== undefined) changes.push({ id, status })
      })
      return changes
    })
}
