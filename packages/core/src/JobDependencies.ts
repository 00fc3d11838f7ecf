/**
 * The dependency rules a store applies when it inserts a job (DESIGN §2, `JobStore` "Dependencies are released in
 * the same transaction"), written once for the SQL stores: given the statuses of a new job's dependencies, read in
 * the insert's transaction (under a lock that keeps them from ending meanwhile), the row to insert and which edges
 * are counted already. Later ends are counted by each store's triggers (the memory store: `memoryStore/dependencies`).
 *
 * @since 0.1.0
 */
import { isTerminal, type JobStatus } from "./Job.js"
import type { NewJobRow } from "./JobStore.js"

/** The statuses that count as a failed dependency (a missing dependency counts as FAILED). */
export const failedStatuses: ReadonlyArray<JobStatus> = ["FAILED", "CANCELLED", "TIMED_OUT"]

/** The `lastError` (JSON text) of a job failed by its dependency. */
export const dependencyError = (dependency: string, status: JobStatus, now: number): string =>
  JSON.stringify({
    message: `dependency ${dependency} ended ${status}`,
    tag: "DependencyFailed",
    at: new Date(now).toISOString()
  })

/** A new job as inserted, and its edges: `done` when the dependency had already ended. */
export interface AtInsert {
  readonly row: NewJobRow
  readonly edges: ReadonlyArray<{ readonly dependsOn: string; readonly done: boolean }>
}

/**
 * Counts the dependencies of a new job that already ended (`statusOf` answers undefined for a missing one, which
 * counts as FAILED), at its creation time: `waitingOn` drops by each; a `fail` job with a failed one is inserted
 * FAILED (`dependency_failed`, `lastError` naming the first such dependency, `finishedAt` = `createdAt`).
 */
export const atInsert = (row: NewJobRow, statusOf: (id: string) => JobStatus | undefined): AtInsert => {
  const dependsOn = row.dependsOn ?? []
  if (dependsOn.length === 0) return { row, edges: [] }
  let waitingOn = row.waitingOn ?? dependsOn.length
  let failed: { readonly id: string; readonly status: JobStatus } | undefined
  const edges = dependsOn.map((id) => {
    const status = statusOf(id) ?? "FAILED"
    const done = isTerminal(status)
    if (done) waitingOn = Math.max(0, waitingOn - 1)
    if (done && status !== "SUCCEEDED" && failed === undefined) failed = { id, status }
    return { dependsOn: id, done }
  })
  const fails =
    failed !== undefined &&
    row.dependencyPolicy !== "run" &&
    (row.status === "CREATED" || row.status === "QUEUED" || row.status === "PAUSED")
  return {
    row: fails
      ? {
          ...row,
          waitingOn,
          status: "FAILED",
          terminalReason: "dependency_failed",
          lastError: dependencyError(failed!.id, failed!.status, row.createdAt),
          finishedAt: row.createdAt
        }
      : { ...row, waitingOn },
    edges
  }
}
