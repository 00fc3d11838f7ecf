/**
 * jobloom's PostgreSQL store.
 *
 * @since 0.1.0
 */

/** The PostgreSQL `JobStore`: many workers on many machines against one database. */
export * as PgJobStore from "./PgJobStore.js"
