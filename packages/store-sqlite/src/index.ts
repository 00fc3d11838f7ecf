/**
 * jobloom's SQLite store: the embedded default.
 *
 * @since 0.1.0
 */

// first: core checks the installed Effect version before this package builds any Schema
import "@jobloom/core"

/** The SQLite `JobStore`. */
export * as SqliteJobStore from "./SqliteJobStore.js"
