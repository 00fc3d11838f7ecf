/**
 * `--help` texts, one per command.
 */

const database = `  -d, --database <file|url>  the store: a SQLite file path or a postgres:// URL
                             (default: DATABASE_URL, then JOBLOOM_DB, then ./data/jobloom.db)
      --schema <name>        PostgreSQL schema of the tables (default: JOBLOOM_PG_SCHEMA, then public)
  -h, --help                 this help`

/** The help of each command, keyed by its name (`jobs list` for subcommands). */
export const help: Record<string, string> = {
  main: `jobloom: an embeddable job engine's command line

Usage: jobloom <command> [options]

Commands:
  serve                 the jobs API (with its docs) and a worker, over HTTP
  worker                a worker that runs the job types of a module
  migrate               create or upgrade the store's tables, then exit
  jobs list             list jobs (newest first)
  jobs get <id>         show one job
  jobs cancel <id>      cancel a job
  jobs retry <id>       retry a finished job
  jobs delete <id>      delete a finished job

Run jobloom <command> --help for a command's options. Exit codes: 0 done, 1 failed, 2 bad command line.`,
  serve: `Usage: jobloom serve [options]

Serves the jobs API at /api (docs at /api/docs, OpenAPI at /api/openapi.json) with a worker in the same process,
until SIGINT or SIGTERM (then a graceful shutdown).

Options:
  -p, --port <port>          port to listen on, 0 for a free one (default: PORT, then 3000)
      --host <address>       address to listen on (default: HOST, then every interface)
  -t, --types <module>       a module exporting job types and handlers to register and run (repeatable)
  -c, --concurrency <n>      jobs the worker runs at once (default: JOBLOOM_CONCURRENCY, then 10)
  -q, --queues <a,b>         queues the worker claims from (default: its handlers' queues and default)
      --no-worker            serve the API only; workers run elsewhere
${database}`,
  worker: `Usage: jobloom worker --types <module> [options]

Runs a worker for the job types and handlers a module exports (JobType.make(...) types, Jobloom.handler(...)
handlers, JobType.toLayer(...) layers with their services provided), until SIGINT or SIGTERM.

Options:
  -t, --types <module>       the module (repeatable; required)
  -c, --concurrency <n>      jobs run at once (default: JOBLOOM_CONCURRENCY, then 10)
  -q, --queues <a,b>         queues to claim from (default: the handlers' queues and default)
${database}`,
  migrate: `Usage: jobloom migrate [options]

Creates the store's tables, or upgrades them to this version, then exits.

Options:
${database}`,
  "jobs list": `Usage: jobloom jobs list [options]

Options:
  -s, --status <a,b>         only these statuses (CREATED, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, ...)
      --type <a,b>           only these job types
      --queue <a,b>          only these queues
  -n, --limit <n>            at most this many (1-1000, default 50)
      --json                 the page as JSON ({ items, nextCursor })
${database}`,
  "jobs get": `Usage: jobloom jobs get <id> [options]

Options:
      --json                 the job as JSON
${database}`,
  "jobs cancel": `Usage: jobloom jobs cancel <id> [options]

Cancels a job: a running one is interrupted, a waiting one never runs.

Options:
      --json                 the job as JSON
${database}`,
  "jobs retry": `Usage: jobloom jobs retry <id> [options]

Queues a failed, cancelled or timed-out job again, with a fresh attempt budget.

Options:
      --json                 the job as JSON
${database}`,
  "jobs delete": `Usage: jobloom jobs delete <id> [options]

Deletes a finished job with its logs and result.

Options:
      --force                delete it even when it has not finished (a running job is cancelled first)
      --json                 print {"deleted": "<id>"}
${database}`
}
