/**
 * jobloom's SQLite store: the embedded default.
 *
 * @since 0.1.0
 */

/** The SQLite `JobStore`. */
export * as SqliteJobStore from "./SqliteJobStore.js"
