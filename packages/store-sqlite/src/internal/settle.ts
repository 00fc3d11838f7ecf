/**
 * `JobStore.settle`: how attempts end. The settle ladder (what each settlement writes) is written once, as data, and
 * the two statements that apply it are derived from it: one for a batch of `Complete`s only (the settlement of every
 * attempt that succeeds, kept lean), one for a batch of any tags. Each applies up to `maxBatch` settlements as one
 * `UPDATE … FROM (VALUES …)`, padded to a power of two so a few prepared statements serve every batch size.
 */
import * as Statement from "@effect/sql/Statement"
import type { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Callbacks from "./callbacks.js"
import type { Env } from "./env.js"
import * as Logs from "./logs.js"
import { chunksOf, flatValuesList, maxBatch, powerOfTwoChunks, text, valuesList } from "./rows.js"
import * as Signals from "./signals.js"

type Settlement = JobStore.Settlement
type Tag = Settlement["_tag"]

/** The settle time, as a statement parameter. */
const NOW = "?"

/** Back in the queue, or PAUSED for a PAUSING job (see `Settlement`). */
const queuedOrPaused = "CASE WHEN j.status = 'PAUSING' THEN 'PAUSED' ELSE 'QUEUED' END"

/**
 * The settle ladder: what a settlement writes to each column of a job it holds, by its effective tag. A CANCELLING
 * job's effective tag is `Cancelled` whatever the settlement says, so a late success never overwrites a cancel and
 * a CANCELLING job keeps its result id, run time, error and attempt. A PAUSING job takes its settlement as a RUNNING
 * one does, except that it is PAUSED where a RUNNING one would be QUEUED. A column a tag does not name keeps its value.
 * Values are SQL over the job as it was before the write (`j.*`: SET expressions read the old row) and the
 * settlement's row (`s.*`, see `fields`); `?` is the settle time.
 */
const ladder: { readonly [column: string]: Partial<Record<Tag, string>> } = {
  status: {
    Complete: "'SUCCEEDED'",
    Fail: "s.fail_status",
    // a PAUSING job goes to PAUSED where a RUNNING one would go back to the queue
    Retry: queuedOrPaused,
    Release: queuedOrPaused,
    Cancelled: "'CANCELLED'"
  },
  terminal_reason: { Complete: "NULL", Fail: "s.reason", Cancelled: "'user'" },
  finished_at: { Complete: NOW, Fail: NOW, Cancelled: NOW },
  result_id: { Complete: "s.result_id" },
  run_at: { Retry: "s.run_at" },
  last_error: { Fail: "s.last_error", Retry: "s.last_error" },
  // a graceful shutdown gives the attempt back
  attempt: { Release: "max(0, j.attempt - 1)" },
  // a job back in the queue (or PAUSED) has no worker; a job the settle ends keeps the worker of its last attempt
  // (what its log presents: "attempt N/M started on worker W"). Held means a lease token, never the owner alone.
  lease_owner: { Retry: "NULL", Release: "NULL" }
}

/**
 * What a batch with a checkpoint in it writes besides: each settlement's checkpoint when given. A statement of its
 * own shape, so the batches of jobs that save none (most) carry no checkpoint column and write none.
 */
const withCheckpoint = "checkpoint = coalesce(s.checkpoint, j.checkpoint)"

/**
 * What every settlement writes, whatever its tag: the progress when given, the lease's expiry and token cleared (the
 * ladder says who keeps `lease_owner`).
 */
const always =
  "progress = coalesce(s.progress, j.progress), lease_expires_at = NULL, " + `lease_token = NULL, updated_at = ${NOW}`

/** A column of the settlement's row (`s`) and how it is read from a settlement. */
type Field = readonly [column: string, read: (s: Settlement) => unknown]

/** The settlement's row (`s`): its columns in `VALUES` order; a statement takes those its SET list reads. */
const fields: ReadonlyArray<Field> = [
  ["id", (s) => s.id],
  ["token", (s) => s.token],
  ["tag", (s) => s._tag],
  ["progress", (s) => s.progress],
  ["checkpoint", (s) => s.checkpoint ?? null],
  ["result_id", (s) => (s._tag === "Complete" ? (s.result?.id ?? null) : null)],
  ["run_at", (s) => (s._tag === "Retry" ? s.runAt : null)],
  ["last_error", (s) => (s._tag === "Retry" || s._tag === "Fail" ? s.lastError : null)],
  ["fail_status", (s) => (s._tag === "Fail" ? s.status : null)],
  ["reason", (s) => (s._tag === "Fail" ? s.reason : null)]
]

/** The fixed text of a settle statement for batches of some tags: its SET list and the columns of its `s` row. */
interface Shape {
  /** The SET list; every `?` in it is the settle time. */
  readonly set: string
  /** How many `?` the SET list holds. */
  readonly nows: number
  readonly fields: ReadonlyArray<Field>
  /** The select list naming the `VALUES` columns. */
  readonly select: string
}

/**
 * The value of `column` as one expression for settlements of `tags` (the WHERE already holds the row to RUNNING,
 * PAUSING or CANCELLING): the CANCELLING case first, then one branch per distinct value, the last branch as the ELSE when no
 * tag keeps the old value. With a single tag the statement has no tag column and tests none. Undefined when no
 * settlement of these tags changes the column, which the statement then leaves out: SQLite rewrites only the indexes
 * of columns a statement sets (a write to `run_at` would touch the due-jobs index).
 */
const valueOf = (column: string, tags: ReadonlyArray<Tag>): string | undefined => {
  const keep = `j.${column}`
  const of = (tag: Tag) => ladder[column]![tag] ?? keep
  const tagged = tags.length > 1
  const tagIs = (ts: ReadonlyArray<Tag>) =>
    ts.length === 1 ? `s.tag = '${ts[0]}'` : `s.tag IN (${ts.map((t) => `'${t}'`).join(", ")})`
  const cancelled = of("Cancelled")
  const running = tags.filter((tag) => tag !== "Cancelled")
  if (running.every((tag) => of(tag) === cancelled)) return cancelled === keep ? undefined : cancelled
  const branches: Array<readonly [condition: string, value: string]> = []
  let rest = running
  if (cancelled !== keep) {
    // the tags with the cancel's value share its branch
    const same = [
      ...(tags.includes("Cancelled") ? ["Cancelled" as const] : []),
      ...running.filter((t) => of(t) === cancelled)
    ]
    branches.push([`j.status = 'CANCELLING'${tagged && same.length > 0 ? ` OR ${tagIs(same)}` : ""}`, cancelled])
    rest = running.filter((tag) => of(tag) !== cancelled)
  }
  // past a CANCELLING branch the row is RUNNING or PAUSING; without one, a branch must not apply to a CANCELLING row
  const guard = cancelled === keep ? ["j.status <> 'CANCELLING'"] : []
  const groups = new Map<string, Array<Tag>>()
  for (const tag of rest) if (of(tag) !== keep) groups.set(of(tag), [...(groups.get(of(tag)) ?? []), tag])
  const keeps = cancelled === keep || rest.some((tag) => of(tag) === keep)
  const entries = Array.from(groups)
  const last = keeps ? undefined : entries.pop()
  for (const [value, group] of entries) {
    branches.push([[...guard, ...(tagged ? [tagIs(group)] : [])].join(" AND "), value])
  }
  const otherwise = last === undefined ? keep : last[0]
  return `CASE ${branches.map(([condition, value]) => `WHEN ${condition} THEN ${value}`).join(" ")} ELSE ${otherwise} END`
}

/** The statement for settlements of `tags`, derived from the ladder. */
const shapeOf = (tags: ReadonlyArray<Tag>, checkpoints = false): Shape => {
  const sets = Object.keys(ladder).flatMap((column) => {
    const value = valueOf(column, tags)
    return value === undefined ? [] : [`${column} = ${value}`]
  })
  const set = [...sets, ...(checkpoints ? [withCheckpoint] : []), always].join(", ")
  const used = fields.filter(
    ([column]) =>
      column === "id" ||
      column === "token" ||
      column === "progress" ||
      (column === "tag" ? tags.length > 1 : new RegExp(`\\bs\\.${column}\\b`).test(set))
  )
  return {
    set,
    nows: set.split(NOW).length - 1,
    fields: used,
    select: used.map(([column], i) => `column${i + 1} AS ${column}`).join(", ")
  }
}

/**
 * The statement of a batch of `Complete`s only: four parameters a row instead of nine, and no write to the columns
 * only a retry, failure or release changes.
 */
const completeShape = shapeOf(["Complete"])
/** The same, for a batch of `Complete`s of which some carry a checkpoint. */
const completeCheckpointShape = shapeOf(["Complete"], true)
/** The statement of a batch of any tags. */
const anyShape = shapeOf(["Complete", "Fail", "Retry", "Release", "Cancelled"])
/** The same, for a batch of which some carry a checkpoint. */
const anyCheckpointShape = shapeOf(["Complete", "Fail", "Retry", "Release", "Cancelled"], true)

/** Applies up to `maxBatch` settlements with one statement; returns `[id, status, queue if QUEUED, callback_url]`. */
const settleChunk = (
  { jobs, sql }: Env,
  shape: Shape,
  workerId: string,
  now: number,
  settlements: ReadonlyArray<Settlement>
) => {
  const params: Array<unknown> = []
  for (const s of settlements) for (const [, read] of shape.fields) params.push(read(s))
  // RETURNING reads the row as written: the queue only of a row put back in its queue (its one use), so the
  // common settle returns one string fewer per row
  return sql`UPDATE ${jobs} AS j SET ${Statement.unsafeFragment(shape.set, Array(shape.nows).fill(now))}
    FROM (SELECT ${sql.literal(shape.select)} FROM (${flatValuesList(params, shape.fields.length, { pad: true })})) AS s
    WHERE j.id = s.id AND j.lease_token = s.token AND j.lease_owner = ${workerId}
      AND +j.status IN ('RUNNING', 'PAUSING', 'CANCELLING')
    RETURNING id, status, CASE WHEN status = 'QUEUED' THEN queue END, callback_url`.values
}

/**
 * The settlements by lease owner (a batch of the process's settler mixes workers), each job at most once per owner:
 * a second settlement of the same claim would find its lease already cleared, so only the first counts. Settlements
 * of one job by different claims can stay apart: at most one claim holds the job, so at most one of them applies.
 */
const byOwner = (options: Parameters<JobStore.JobStore.Service["settle"]>[0]) => {
  const owners = new Map<string, { readonly seen: Set<string>; readonly settlements: Array<Settlement> }>()
  for (const settlement of options.settlements) {
    const owner = settlement.workerId ?? options.workerId
    let group = owners.get(owner)
    if (group === undefined) owners.set(owner, (group = { seen: new Set(), settlements: [] }))
    if (group.seen.has(settlement.id)) continue
    group.seen.add(settlement.id)
    group.settlements.push(settlement)
  }
  return Array.from(owners, ([owner, group]) => [owner, group.settlements] as const)
}

/** `JobStore.settle`: the settlements, then their log lines, results and callbacks, in one write transaction. */
export const settle = (env: Env): JobStore.JobStore.Service["settle"] => {
  const { results, run, sql, writeTransaction } = env
  const appendLogs = Logs.appendLogs(env)
  return (options) => {
    const owners = byOwner(options)
    const lines = options.logs?.entries ?? []
    if (owners.length === 0) return lines.length > 0 ? Effect.as(appendLogs(options.logs!), []) : Effect.succeed([])
    return run(
      writeTransaction(
        Effect.gen(function* () {
          /** Each settlement that applied, with its row as written. */
          const applied = new Map<Settlement, ReadonlyArray<unknown>>()
          for (const [owner, settlements] of owners) {
            for (const chunk of chunksOf(settlements, maxBatch)) {
              const completes = chunk.every((s) => s._tag === "Complete")
              const checkpoints = chunk.some((s) => s.checkpoint !== undefined && s.checkpoint !== null)
              const shape = checkpoints
                ? completes
                  ? completeCheckpointShape
                  : anyCheckpointShape
                : completes
                  ? completeShape
                  : anyShape
              const byId = new Map(chunk.map((s) => [s.id, s]))
              for (const row of yield* settleChunk(env, shape, owner, options.now, chunk)) {
                applied.set(byId.get(text(row[0]))!, row)
              }
            }
          }
          // The lines go in after the settlements, in the same transaction: nobody can tell the order apart (a
          // settlement neither adds nor deletes jobs), and a job just settled is known to exist, so its lines
          // skip the existence check (a line of the settled claim also skips its lease check: the settlement
          // just cleared the lease it was guarded by).
          if (lines.length > 0) {
            const settled = new Map(Array.from(applied.keys(), (s) => [s.id, s.token]))
            yield* Logs.appendLines(env, lines, options.logs!.cap, settled)
          }
          // a result is stored only for a job that did succeed (not one a cancel overtook)
          const stored = Array.from(applied).flatMap(([settlement, [, status]]) =>
            settlement._tag === "Complete" && settlement.result !== null && status === "SUCCEEDED"
              ? [[settlement.result.id, settlement.id, settlement.result.value]]
              : []
          )
          for (const chunk of powerOfTwoChunks(stored, maxBatch)) {
            yield* sql`INSERT INTO ${results} (id, job_id, value, created_at)
              SELECT column1, column2, column3, ${options.now} FROM (${valuesList(chunk, 3, { pad: false })})`
          }
          yield* Callbacks.record(env, Callbacks.owing(Array.from(applied.values()), 3), options.now)
          return applied
        })
      )
    ).pipe(
      Effect.flatMap((applied) => {
        // answered in settlement order, as the memory store does
        const changes: Array<JobStore.StatusChange> = []
        const queues: Array<string> = []
        for (const s of options.settlements) {
          const row = applied.get(s)
          if (row === undefined) continue
          applied.delete(s) // the same object given twice is one settlement
          changes.push({ id: s.id, status: text(row[1]) as JobStore.StatusChange["status"] })
          if (row[1] === "QUEUED") queues.push(text(row[2]))
        }
        return Effect.as(env.signals.publish(Signals.enqueued(queues)), changes)
      })
    )
  }
}
