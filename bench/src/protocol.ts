/**
 * The tiny protocol between the orchestrator and an engine's driver process, and the driver side of it.
 *
 * Each engine runs in its own child process (forked with IPC) so that its memory is its own: the orchestrator sends
 * one command at a time and waits for its answer. A driver process is either a client (creates the schema, enqueues,
 * runs ANALYZE) or a worker (drains or measures latency, then exits), so a worker's peak RSS is the worker's alone.
 *
 * Time: every timestamp is `performance.timeOrigin + performance.now()` (milliseconds since the epoch with
 * sub-millisecond resolution), read by the same process that enqueues and handles the latency jobs.
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import v8 from "node:v8"
import * as SqlProfile from "./sqlprofile.js"

/** Where an engine keeps its jobs: a fresh PostgreSQL schema, or a fresh SQLite file. */
export interface Target {
  readonly databaseUrl: string
  readonly schema: string
  readonly sqliteFile: string
}

/** The worker settings a drain runs with. */
export type Setting = "c10" | "best"

/** The commands of the protocol, with their answers. */
export interface Commands {
  /** Connects; a client also creates the engine's tables (migrations) in the empty target. */
  readonly open: {
    readonly args: { readonly target: Target; readonly role: "client" | "worker" }
    readonly result: null
  }
  /** Enqueues `count` no-op jobs in batches of `batch`, each batch in one call. */
  readonly enqueueMany: { readonly args: { readonly count: number; readonly batch: number }; readonly result: Timing }
  /** Enqueues `count` no-op jobs one call at a time, each awaited before the next. */
  readonly enqueueEach: { readonly args: { readonly count: number }; readonly result: Timing }
  /** Runs ANALYZE on the engine's tables. */
  readonly analyze: { readonly args: null; readonly result: null }
  /** Jobs not yet settled (queued or running). */
  readonly pending: { readonly args: null; readonly result: number }
  /** Starts a worker, waits until `count` jobs ran and every job is settled, stops the worker. */
  readonly drain: { readonly args: { readonly count: number; readonly setting: Setting }; readonly result: Drained }
  /**
   * Starts a worker (c10), lets it run the jobs already queued, waits until idle, then enqueues `samples` jobs from
   * this process `spacingMs` apart and answers each job's enqueue-to-handler-start time.
   */
  readonly latency: {
    readonly args: { readonly samples: number; readonly spacingMs: number }
    readonly result: { readonly latenciesMs: ReadonlyArray<number>; readonly rssMb: number }
  }
  /** Closes connections; the process exits after answering. */
  readonly close: { readonly args: null; readonly result: null }
}

/** A command name. */
export type Command = keyof Commands

/** How long a timed operation took. */
export interface Timing {
  readonly ms: number
}

/** The outcome of a drain. */
export interface Drained {
  /** From the first handler start to the moment the store reports no unsettled job. */
  readonly ms: number
  /** From the call that starts the worker to the first handler start (startup and first fetch). */
  readonly startupMs: number
  /** Peak resident set size of this worker process over its life, in MB. */
  readonly rssMb: number
  /** Peak RSS before the worker started (modules loaded, store open), in MB. */
  readonly rssBeforeMb: number
  /** Heap still in use after the drain and a full GC (before the worker stops), in MB: what the worker retains. */
  readonly heapAfterMb: number
  /** CPU time (user + system) this worker process spent over `ms`, in ms: the engine's own cost, whatever the load. */
  readonly cpuMs: number
  /** Where the memory was before the worker started. */
  readonly memoryBefore: Memory
  /**
   * Where the memory was at the highest RSS sampled (every 10 ms, on this process's event loop) while the worker ran:
   * the breakdown of the peak, though its RSS may fall short of `rssMb` when the loop was busy at the true peak.
   */
  readonly memoryAtPeak: Memory
}

/**
 * `process.memoryUsage()` in MB (what of the RSS is V8's heap, reserved and used, and memory held outside it), with
 * the heap's resident MB per generation: `young` (the semi-spaces, sized by the allocation rate), `old` (objects that
 * survived two scavenges, garbage included until a mark-compact) and `large` (objects over V8's page limit, such as
 * long strings, which go to the old generation at once).
 */
export interface Memory {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  readonly young: number
  readonly old: number
  readonly large: number
}

const memory = (): Memory => {
  const m = process.memoryUsage()
  const mb = (bytes: number) => bytes / 2 ** 20
  const space = (...names: ReadonlyArray<string>) =>
    mb(
      v8
        .getHeapSpaceStatistics()
        .filter((s) => names.includes(s.space_name))
        .reduce((n, s) => n + s.physical_space_size, 0)
    )
  return {
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
    young: space("new_space", "new_large_object_space"),
    old: space("old_space"),
    large: space("large_object_space")
  }
}

/** Samples the memory every `everyMs` and keeps the sample of the highest RSS. */
const peakSampler = (everyMs: number) => {
  let peak = memory()
  const timer = setInterval(() => {
    // rss() alone is cheap; the full breakdown only when the RSS is a new high
    if (process.memoryUsage.rss() / 2 ** 20 > peak.rss) peak = memory()
  }, everyMs)
  return {
    stop: (): Memory => {
      clearInterval(timer)
      return peak
    }
  }
}

/** A request on the wire. */
export interface Request {
  readonly id: number
  readonly cmd: Command
  readonly args: unknown
}

/** An answer on the wire. */
export type Response =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }

/** The clock shared by every process (see the module comment). */
export const now = (): number => performance.timeOrigin + performance.now()

/** Peak RSS of this process so far, in MB. */
export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024

/** A running worker of one engine. */
export interface RunningWorker {
  readonly stop: () => Promise<void>
}

/** The payload of a no-op job: `t` is the enqueue time of latency samples, absent elsewhere. */
export interface Payload {
  readonly i: number
  readonly t?: number
}

/** What an engine driver implements; `serve` turns it into a protocol endpoint. */
export interface Engine {
  /** Connects to the target; with `migrate`, creates the engine's tables first. */
  readonly open: (target: Target, migrate: boolean) => Promise<Session>
}

/** One engine connected to one target. */
export interface Session {
  readonly enqueueMany: (payloads: ReadonlyArray<Payload>) => Promise<void>
  readonly enqueue: (payload: Payload) => Promise<void>
  readonly analyze: () => Promise<void>
  readonly pending: () => Promise<number>
  /** Starts a worker calling `onJob` at the start of each handler. */
  readonly startWorker: (setting: Setting | "latency", onJob: (payload: Payload) => void) => Promise<RunningWorker>
  readonly close: () => Promise<void>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `predicate` holds, checking every `everyMs`; rejects after `timeoutMs`. */
export const waitUntil = async (
  predicate: () => boolean | Promise<boolean>,
  options: { readonly everyMs: number; readonly timeoutMs: number; readonly what: string }
): Promise<void> => {
  const deadline = Date.now() + options.timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`)
    await sleep(options.everyMs)
  }
}

const payloads = (from: number, count: number): Array<Payload> =>
  Array.from({ length: count }, (_, k) => ({ i: from + k }))

/** Serves the protocol on this process's IPC channel with `engine`. */
export const serve = (engine: Engine): void => {
  let session: Session | undefined
  let seq = 0
  const need = (): Session => {
    if (session === undefined) throw new Error("not open")
    return session
  }
  const handlers: { readonly [C in Command]: (args: Commands[C]["args"]) => Promise<Commands[C]["result"]> } = {
    open: async ({ target, role }) => {
      session = await engine.open(target, role === "client")
      return null
    },
    enqueueMany: async ({ count, batch }) => {
      const s = need()
      const batches: Array<Array<Payload>> = []
      for (let from = 0; from < count; from += batch) batches.push(payloads(seq + from, Math.min(batch, count - from)))
      seq += count
      const start = now()
      for (const b of batches) await s.enqueueMany(b)
      return { ms: now() - start }
    },
    enqueueEach: async ({ count }) => {
      const s = need()
      const all = payloads(seq, count)
      seq += count
      const start = now()
      for (const p of all) await s.enqueue(p)
      return { ms: now() - start }
    },
    analyze: async () => {
      await need().analyze()
      return null
    },
    pending: () => need().pending(),
    drain: async ({ count, setting }) => {
      const s = need()
      let ran = 0
      let first = 0
      let cpu = process.cpuUsage()
      const rssBeforeMb = peakRssMb()
      const memoryBefore = memory()
      const sampler = peakSampler(10)
      const started = now()
      const worker = await s.startWorker(setting, () => {
        if (ran++ === 0) {
          first = now()
          cpu = process.cpuUsage()
          SqlProfile.reset()
        }
      })
      const timeoutMs = 60_000 + count * 5
      await waitUntil(() => ran >= count, { everyMs: 2, timeoutMs, what: `${count} handler runs (ran ${ran})` })
      await waitUntil(async () => (await s.pending()) === 0, { everyMs: 2, timeoutMs, what: "every job settled" })
      const end = now()
      const spent = process.cpuUsage(cpu)
      const memoryAtPeak = sampler.stop()
      SqlProfile.report(`drain ${setting}`, count)
      // the orchestrator starts drivers with --expose-gc
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      const heapAfterMb = process.memoryUsage().heapUsed / 2 ** 20
      await worker.stop()
      return {
        ms: end - first,
        startupMs: first - started,
        rssMb: peakRssMb(),
        rssBeforeMb,
        heapAfterMb,
        cpuMs: (spent.user + spent.system) / 1000,
        memoryBefore,
        memoryAtPeak
      }
    },
    latency: async ({ samples, spacingMs }) => {
      const s = need()
      const latencies: Array<number> = []
      let warm = 0
      const worker = await s.startWorker("latency", (p) => {
        if (p.t === undefined) warm++
        else latencies.push(now() - p.t)
      })
      // the jobs enqueued one at a time before this run first: they warm the worker up
      await waitUntil(async () => (await s.pending()) === 0, { everyMs: 20, timeoutMs: 120_000, what: "warm-up" })
      await sleep(200)
      SqlProfile.reset()
      const origin = now()
      for (let k = 0; k < samples; k++) {
        const due = origin + k * spacingMs
        const wait = due - now()
        if (wait > 0) await sleep(wait)
        await s.enqueue({ i: seq++, t: now() })
      }
      await waitUntil(() => latencies.length >= samples, {
        everyMs: 5,
        timeoutMs: 60_000,
        what: `${samples} latency samples (got ${latencies.length}, warm-up ${warm})`
      })
      SqlProfile.report("latency", samples)
      await worker.stop()
      return { latenciesMs: latencies, rssMb: peakRssMb() }
    },
    close: async () => {
      await session?.close()
      session = undefined
      return null
    }
  }
  const reply = (response: Response) =>
    new Promise<void>((resolve) => {
      process.send!(response, undefined, undefined, () => resolve())
    })
  process.on("message", (message: Request) => {
    const handler = handlers[message.cmd] as (args: unknown) => Promise<unknown>
    handler(message.args).then(
      async (value) => {
        await reply({ id: message.id, ok: true, value })
        if (message.cmd === "close") process.exit(0)
      },
      (error: unknown) =>
        reply({
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error)
        })
    )
  })
  process.send!({ ready: true })
}

/** Runs ANALYZE on every table of a PostgreSQL schema through `query`. */
export const analyzeSchema = async (
  query: (text: string, values?: ReadonlyArray<unknown>) => Promise<{ rows: ReadonlyArray<Record<string, unknown>> }>,
  schema: string
): Promise<void> => {
  const { rows } = await query("select tablename from pg_tables where schemaname = $1", [schema])
  for (const row of rows) await query(`analyze "${schema}"."${String(row.tablename)}"`)
}
