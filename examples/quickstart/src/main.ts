/**
 * `pnpm start`: runs the quickstart server until SIGINT or SIGTERM, then shuts down gracefully (the HTTP server
 * closes, running jobs get the grace period to finish and are otherwise released for the next start) and exits 0.
 */
import { runMain } from "./Process.js"
import { main } from "./Quickstart.js"

runMain(main)
