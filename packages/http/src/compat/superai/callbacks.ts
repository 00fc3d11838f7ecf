/**
 * super.AI's callbacks: per job `{ id, uuid, state, action: "RESOLVED" }` to the job's `callbackUrl` when it becomes
 * COMPLETED, FAILED, CANCELED, EXPIRED or SUSPENDED, and per batch `{ version: "2", entityType: "batch", entityId,
 * state, appId }` to the router's batch URL once every job of the batch has finished. Sent by the process whose
 * engine saw the change (its event stream), with a few retries; not durable like the engine's own callbacks.
 */
import type { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { checkPublic } from "./address.js"
import { metaOf, statusOf } from "./view.js"

/** Sends one callback body; the host may replace it (an SSRF-safe client, signing). */
export type Deliver = (url: string, body: unknown) => Promise<void>

/** POSTs JSON to public addresses only (`address.ts`), never following redirects; a non-2xx answer is a failure. */
export const post: Deliver = async (url, body) => {
  await checkPublic(url)
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    redirect: "manual",
    signal: AbortSignal.timeout(10_000)
  })
  if (response.status < 200 || response.status >= 300) throw new Error(`callback answered ${response.status}`)
}

/** Options of {@link run}. */
export interface Options {
  readonly deliver: Deliver
  /** Where batch callbacks go; none when absent. */
  readonly batchUrl: string | undefined
}

const notified = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "PAUSED"])

/** Follows the engine's events and sends super.AI's callbacks; runs until interrupted. */
export const run = (jobs: Jobs.Jobs.Service, options: Options): Effect.Effect<void> =>
  Effect.gen(function* () {
    const batchesSent = new Set<string>()
    const send = (url: string, body: unknown) =>
      Effect.tryPromise(() => options.deliver(url, body)).pipe(
        Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(3)))),
        Effect.catchAll((error) => Effect.logWarning(`jobloom superai: callback to ${url} failed`, error))
      )
    const onStatus = (jobId: string, status: string) =>
      Effect.gen(function* () {
        if (!notified.has(status)) return
        const job = yield* Effect.option(jobs.get(jobId))
        if (job._tag === "None" || job.value.owner === null || job.value.status !== status) return
        const meta = metaOf(job.value)
        if (!("_superai" in job.value.metadata)) return
        if (meta.callbackUrl !== null) {
          yield* send(meta.callbackUrl, {
            id: job.value.id,
            uuid: job.value.id,
            state: statusOf(job.value),
            action: "RESOLVED"
          })
        }
        const batchId = job.value.batchId
        if (options.batchUrl === undefined || batchId === null || status === "PAUSED" || batchesSent.has(batchId))
          return
        const batch = yield* Effect.option(jobs.batch(batchId))
        if (batch._tag === "None" || batch.value.state === "RUNNING" || batchesSent.has(batchId)) return
        batchesSent.add(batchId)
        yield* send(options.batchUrl, {
          version: "2",
          entityType: "batch",
          entityId: batchId,
          state: batch.value.state,
          appId: job.value.owner
        })
      })
    yield* Stream.runForEach(jobs.events(), (event) =>
      event._tag === "status" ? Effect.forkDaemon(onStatus(event.jobId, event.status)) : Effect.void
    )
  })
