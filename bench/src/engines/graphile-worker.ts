/**
 * graphile-worker driver. `c10` is its default worker at concurrency 10; `best` adds its local queue and batched
 * completes (the settings its docs recommend for throughput), with the local queue size measured fastest here.
 */
import { Logger, makeWorkerUtils, run } from "graphile-worker"
import type { Payload, Setting } from "../protocol.js"
import pg from "pg"
import { analyzeSchema, serve } from "../protocol.js"
import { instrumentPg } from "../sqlprofile.js"

instrumentPg(pg)

/** Only warnings and errors, on stderr: per-job info lines would measure the console, not the queue. */
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") process.stderr.write(`[graphile-worker] ${level}: ${message}\n`)
})

const settings: Record<Setting | "latency", GraphileConfig.WorkerOptions> = {
  c10: { concurrentJobs: 10 },
  // measured here (N = 20,000): local queue 100 → ~5k jobs/s, 500 → 6–12k, 2,000 → 6.5–12k with more memory
  best: { concurrentJobs: 10, localQueue: { size: 500 }, completeJobBatchDelay: 0 },
  latency: { concurrentJobs: 10 }
}

// tuning aid: BENCH_BEST='{"...": ...}' merges into the best setting
if (process.env.BENCH_BEST) Object.assign(settings.best, JSON.parse(process.env.BENCH_BEST))

serve({
  open: async (target) => {
    const utils = await makeWorkerUtils({ connectionString: target.databaseUrl, schema: target.schema, logger })
    // migrates to the latest schema (creates it in the empty target)
    await utils.migrate()
    const table = `"${target.schema}"._private_jobs`
    return {
      enqueueMany: async (payloads) => {
        await utils.addJobs(payloads.map((payload) => ({ identifier: "noop", payload })))
      },
      enqueue: async (payload) => {
        await utils.addJob("noop", payload)
      },
      analyze: () =>
        utils.withPgClient((client) =>
          analyzeSchema((text, values) => client.query(text, values as Array<unknown>), target.schema)
        ),
      // completed jobs are deleted: whatever is left is unsettled
      pending: () =>
        utils.withPgClient(async (client) =>
          Number((await client.query(`select count(*) as n from ${table}`)).rows[0].n)
        ),
      startWorker: async (setting, onJob) => {
        const runner = await run({
          noHandleSignals: true,
          taskList: {
            noop: async (payload) => {
              onJob(payload as Payload)
            }
          },
          preset: {
            worker: {
              connectionString: target.databaseUrl,
              schema: target.schema,
              logger,
              ...settings[setting]
            }
          }
        })
        return { stop: () => runner.stop() }
      },
      close: async () => {
        await utils.release()
      }
    }
  }
})
