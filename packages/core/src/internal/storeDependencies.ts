/**
 * The dependency columns of the port's `JobRow` (see `Job.DependencyPolicy` and the rule "Dependencies are released in
 * the same transaction" in `JobStore.ts`), kept in a block of their own. Absent reads as none, `fail`, 0.
 */

/** The dependency columns of a job row. */
export interface DependencyColumns {
  /**
   * The ids of the jobs this job waits on, without duplicates. Written at insert, never changed. Each must exist at
   * insert (core checks; a store treats one missing at insert as failed).
   */
  readonly dependsOn?: ReadonlyArray<string>
  /** What the job does when a dependency ends FAILED, CANCELLED or TIMED_OUT. */
  readonly dependencyPolicy?: "fail" | "run"
  /**
   * How many dependencies are not done: not SUCCEEDED, or with `run` not terminal. Core inserts the number of
   * dependencies; the store counts those already done at insert, and every later end of a dependency, in the same
   * transaction. A QUEUED job with `waitingOn` > 0 is not claimable.
   */
  readonly waitingOn?: number
}
