/**
 * pg-boss driver. Its default worker fetches one job and then waits out its 2 s polling interval, which is no
 * comparison; every setting here uses LISTEN/NOTIFY (`useListenNotify`, queue `notify`) and fetches in batches that
 * re-fetch at once while full (`burstWhenBatchFull`). `c10` keeps 10 jobs in flight (one batch of 10); `best` is the
 * batch size and local concurrency measured fastest here.
 */
import { PgBoss } from "pg-boss"
import type { WorkOptions } from "pg-boss"
import type { Payload, Setting } from "../protocol.js"
import pg from "pg"
import { analyzeSchema, serve } from "../protocol.js"
import { instrumentPg } from "../sqlprofile.js"

instrumentPg(pg)

const queue = "noop"

const settings: Record<Setting | "latency", WorkOptions> = {
  c10: { batchSize: 10, localConcurrency: 1, burstWhenBatchFull: true },
  // measured here (N = 20,000; batch × local concurrency): 100×2 → 3.8–4.2k jobs/s, 250×2 → 3.9–6.5k,
  // 500×1 → 4.0–4.7k, 100×4 → 4.4–6.1k
  best: { batchSize: 100, localConcurrency: 4, burstWhenBatchFull: true },
  latency: { batchSize: 10, localConcurrency: 1, burstWhenBatchFull: true }
}

// tuning aid: BENCH_BEST='{"...": ...}' merges into the best setting
if (process.env.BENCH_BEST) Object.assign(settings.best, JSON.parse(process.env.BENCH_BEST))

serve({
  open: async (target, migrate) => {
    const boss = new PgBoss({
      connectionString: target.databaseUrl,
      schema: target.schema,
      migrate,
      // the client only enqueues; the worker process runs pg-boss as a service would
      ...(migrate ? { supervise: false, schedule: false } : {}),
      useListenNotify: !migrate
    })
    boss.on("error", (error: unknown) => process.stderr.write(`[pg-boss] error: ${String(error)}\n`))
    await boss.start()
    if (migrate) await boss.createQueue(queue, { notify: true })
    const db = boss.getDb()
    const query = async (text: string, values?: ReadonlyArray<unknown>) => {
      const rows = (await db.executeSql(text, values as Array<unknown>)) as unknown as {
        rows: ReadonlyArray<Record<string, unknown>>
      }
      return rows
    }
    return {
      enqueueMany: async (payloads) => {
        await boss.insert(
          queue,
          payloads.map((data) => ({ data }))
        )
      },
      enqueue: async (payload) => {
        await boss.send(queue, payload)
      },
      analyze: () => analyzeSchema(query, target.schema),
      pending: async () =>
        Number(
          (
            await query(
              `select count(*) as n from "${target.schema}".job where name = $1 and state in ('created', 'retry', 'active')`,
              [queue]
            )
          ).rows[0]!.n
        ),
      startWorker: async (setting, onJob) => {
        const id = await boss.work<Payload>(queue, settings[setting], async (jobs) => {
          for (const job of jobs) onJob(job.data)
        })
        return { stop: () => boss.offWork(queue, { id, wait: true }) }
      },
      close: () => boss.stop({ graceful: true, close: true, timeout: 5_000 })
    }
  }
})
