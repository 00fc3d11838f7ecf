/**
 * The memory store's dependency rules, written once (the SQL stores keep the same rules in triggers): which jobs wait
 * on which, how a dependency's end reaches its dependents, and how a new job counts the dependencies already done.
 *
 * Each edge (dependent, dependency) is counted once: the first end of the dependency marks it done and lowers the
 * dependent's `waitingOn`; a retried dependency that ends again changes nothing (a dependent it failed stays FAILED).
 */
import { dependencyError } from "../../JobDependencies.js"
import type { JobRow, StoreSignal } from "../../JobStore.js"
import { isTerminal, type JobStatus } from "../../Job.js"
import { waitingStatuses } from "../jobFilter.js"

/** The dependency edges of one memory store. */
export class DependencyEdges {
  /** dependency id → (dependent id → whether this edge has been counted). */
  private readonly byDependency = new Map<string, Map<string, boolean>>()

  /** Adds the edges of a new job. */
  link(row: JobRow): void {
    for (const dependency of row.dependsOn ?? []) {
      let edges = this.byDependency.get(dependency)
      if (edges === undefined) this.byDependency.set(dependency, (edges = new Map()))
      edges.set(row.id, false)
    }
  }

  /** The ids of the jobs that depend on a job. */
  dependentsOf(id: string): ReadonlyArray<string> {
    return Array.from(this.byDependency.get(id)?.keys() ?? [])
  }

  /** Marks the edge done; false when it was done already (or is unknown). */
  take(dependency: string, dependent: string): boolean {
    const edges = this.byDependency.get(dependency)
    if (edges === undefined || edges.get(dependent) !== false) return false
    edges.set(dependent, true)
    return true
  }

  /** Drops a deleted job's edges, both ways. */
  drop(row: JobRow): void {
    this.byDependency.delete(row.id)
    for (const dependency of row.dependsOn ?? []) this.byDependency.get(dependency)?.delete(row.id)
  }
}

/** What the rules need of the state: its rows, its write path (which calls back into `ended`) and a signal buffer. */
export interface DependencyHost {
  readonly jobs: ReadonlyMap<string, JobRow>
  readonly edges: DependencyEdges
  /** Writes a status change through the state's write path (callbacks, indexes, and the cascade). */
  readonly write: (prev: JobRow, next: JobRow, now: number) => void
  /** Writes a row without a status change. */
  readonly put: (row: JobRow) => void
  /** Signals to publish with the operation's own. */
  readonly pending: Array<StoreSignal>
}

/**
 * Counts one end of `dependency` (its status `status`; a job deleted before it ended counts as FAILED) for one
 * dependent: `waitingOn` − 1; a `fail` dependent that still waits ends FAILED when the dependency did not succeed;
 * one whose count reaches 0 while QUEUED is claimable (an `Enqueued` signal).
 */
const countEnd = (host: DependencyHost, dependency: string, status: string, dependentId: string, now: number) => {
  if (!host.edges.take(dependency, dependentId)) return
  const prev = host.jobs.get(dependentId)
  if (prev === undefined) return
  const waitingOn = Math.max(0, (prev.waitingOn ?? 0) - 1)
  if (status !== "SUCCEEDED" && prev.dependencyPolicy !== "run" && waitingStatuses.includes(prev.status)) {
    host.write(
      prev,
      {
        ...prev,
        waitingOn,
        status: "FAILED",
        terminalReason: "dependency_failed",
        lastError: dependencyError(dependency, status as JobStatus, now),
        finishedAt: now,
        updatedAt: now
      },
      now
    )
    host.pending.push({ _tag: "Changed", id: prev.id, status: "FAILED", reason: "dependency_failed" })
    return
  }
  host.put({ ...prev, waitingOn, updatedAt: waitingStatuses.includes(prev.status) ? now : prev.updatedAt })
  if (waitingOn === 0 && prev.status === "QUEUED") host.pending.push({ _tag: "Enqueued", queue: prev.queue })
}

/** A job reached a terminal status (or was deleted before it did: `status` FAILED): its dependents count it. */
export const ended = (host: DependencyHost, id: string, status: string, now: number): void => {
  for (const dependent of host.edges.dependentsOf(id)) countEnd(host, id, status, dependent, now)
}

/**
 * A job was just inserted: its edges are added, and the dependencies already terminal (or missing) are counted at
 * once, at the job's creation time.
 */
export const inserted = (host: DependencyHost, row: JobRow): void => {
  const dependsOn = row.dependsOn ?? []
  if (dependsOn.length === 0) return
  host.edges.link(row)
  for (const dependency of dependsOn) {
    const found = host.jobs.get(dependency)
    if (found === undefined) countEnd(host, dependency, "FAILED", row.id, row.createdAt)
    else if (isTerminal(found.status)) countEnd(host, dependency, found.status, row.id, row.createdAt)
  }
}

/** Whether a non-terminal job depends on this one (it may not be bulk-deleted). */
export const isRequired = (host: DependencyHost, id: string): boolean =>
  host.edges.dependentsOf(id).some((dependent) => {
    const row = host.jobs.get(dependent)
    return row !== undefined && !isTerminal(row.status)
  })
