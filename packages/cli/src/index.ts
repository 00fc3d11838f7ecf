/**
 * The `jobloom` command line, callable from code: `main(["jobs", "list"])` resolves with the exit code.
 *
 * @since 0.1.0
 */

/** Runs a command line (without `node` and the script); resolves with the exit code. */
export { main } from "./main.js"

/** How a command picks its store from `--database`, `DATABASE_URL` and `JOBLOOM_DB`. */
export * as Database from "./database.js"
