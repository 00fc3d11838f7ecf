/**
 * jobloom's PostgreSQL store.
 *
 * @since 0.1.0
 */

// first: core checks the installed Effect version before this package builds any Schema
import "@jobloom/core"

/** The PostgreSQL `JobStore`: many workers on many machines against one database. */
export * as PgJobStore from "./PgJobStore.js"
