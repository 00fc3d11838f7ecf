/**
 * One drain of the scale bench: `n` new no-op jobs enqueued in batches, then drained by one worker at the bench's
 * best setting. Besides the rate, it times the worker's claim and settle calls from the client side (the store
 * wrapped in a layer that times each call: round trip, pool wait and statement), for servers without
 * `pg_stat_statements` (it needs `shared_preload_libraries`, so a restart).
 */
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeEngine } from "../jobloom.js"
import { percentile } from "../stats.js"
import type { History } from "./history.js"

/** What one drain measured. */
export interface Drained {
  /** Jobs per second, from the worker's start to the last settle. */
  readonly rate: number
  /** Client-side time per job in claim and settle calls (call time summed over calls, divided by jobs). */
  readonly claimPerJob: number
  readonly settlePerJob: number
  /** Median time of one claim call and one settle call. */
  readonly claimP50: number
  readonly settleP50: number
}

interface Calls {
  readonly times: Array<number>
  jobs: number
}

/** The store of `history`, its claim and settle timed into `claims` and `settles`. */
const timed = (history: History, claims: Calls, settles: Calls) => (migrate: boolean) =>
  Layer.effect(
    JobStore.JobStore,
    Effect.map(JobStore.JobStore, (store) => {
      const time = <A, E>(calls: Calls, jobs: (a: A) => number, effect: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          const started = performance.now()
          return Effect.tap(effect, (a) =>
            Effect.sync(() => {
              calls.times.push(performance.now() - started)
              calls.jobs += jobs(a)
            })
          )
        })
      return {
        ...store,
        claim: (options) => time(claims, (rows) => rows.length, store.claim(options)),
        settle: (options) => time(settles, () => options.settlements.length, store.settle(options))
      } satisfies JobStore.JobStore.Service
    })
  ).pipe(Layer.provide(history.layer(migrate)))

/** Enqueues and drains `n` jobs. */
export const drain = async (history: History, n: number): Promise<Drained> => {
  const claims: Calls = { times: [], jobs: 0 }
  const settles: Calls = { times: [], jobs: 0 }
  const engine = makeEngine({
    store: (_target, migrate) => timed(history, claims, settles)(migrate),
    analyze: async () => {}
  })
  const open = await engine.open(history.target, false)
  try {
    for (let i = 0; i < n; i += 1000)
      await open.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ i: i + k })))
    let seen = 0
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))
    const started = performance.now()
    const worker = await open.startWorker("best", () => {
      if (++seen === n) done()
    })
    await finished
    // the last handlers started; wait for their settles
    while ((await open.pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const seconds = (performance.now() - started) / 1000
    await worker.stop()
    const sum = (times: ReadonlyArray<number>) => times.reduce((a, b) => a + b, 0)
    return {
      rate: n / seconds,
      // claims that found nothing count in the time, not in the jobs: an idle poll is part of the cost
      claimPerJob: (sum(claims.times) * 1000) / Math.max(1, claims.jobs),
      settlePerJob: (sum(settles.times) * 1000) / Math.max(1, settles.jobs),
      claimP50: percentile(claims.times, 50),
      settleP50: percentile(settles.times, 50)
    }
  } finally {
    await open.close()
  }
}
