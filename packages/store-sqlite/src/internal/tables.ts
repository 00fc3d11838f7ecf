/**
 * The names of jobloom's tables and indexes under a table prefix, so a host database can hold jobloom beside its own
 * tables (and even two jobloom instances side by side).
 */

/** Every name the schema uses, already prefixed. */
export interface Tables {
  readonly prefix: string
  readonly jobs: string
  readonly logs: string
  readonly results: string
  readonly callbacks: string
  /** Named counters (one row each): `jobs` is the last job number handed out. */
  readonly counters: string
  /** Job counts by (type, queue, status), kept by triggers (migration 7). */
  readonly counts: string
  readonly items: string
  /** Dependency edges: (dependent, dependency, counted). */
  readonly dependencies: string
  /** Signals the dependency triggers leave for the store to publish. */
  readonly dependencySignals: string
  /** jobloom's own migrations table: never the host's default one. */
  readonly migrations: string
}

/** The names under `prefix`. */
export const make = (prefix: string): Tables => ({
  prefix,
  jobs: `${prefix}jobs`,
  logs: `${prefix}logs`,
  results: `${prefix}results`,
  callbacks: `${prefix}callbacks`,
  counters: `${prefix}counters`,
  counts: `${prefix}counts`,
  items: `${prefix}items`,
  dependencies: `${prefix}dependencies`,
  dependencySignals: `${prefix}dependency_signals`,
  migrations: `${prefix}migrations`
})
