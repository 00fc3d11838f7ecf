/**
 * The in-memory store: the port's operations over one `MemoryState`, each in a module of its group under
 * `memoryStore/` (insert, reads, update, claim, settle, logs, maintenance, callbacks, items). The rules they share
 * live once: matching and order in `order.ts`, the settle ladder in `ladder.ts`, the write path in `state.ts`.
 */
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type { JobStore } from "../JobStore.js"
import { claimCallbacks, settleCallback } from "./memoryStore/callbacks.js"
import { claim, heartbeat, saveProgress } from "./memoryStore/claim.js"
import { insert } from "./memoryStore/insert.js"
import { appendLogs, readLogs } from "./memoryStore/logs.js"
import { expire, rescue } from "./memoryStore/maintenance.js"
import { get, getResult, list, stats, statuses } from "./memoryStore/reads.js"
import { settle } from "./memoryStore/settle.js"
import * as MemoryState from "./memoryStore/state.js"
import * as MemorySchedules from "./memorySchedules.js"
import { deleteMany, deleteOne, update } from "./memoryStore/update.js"

/** Builds a store over a fresh, empty state. */
export const make: Effect.Effect<JobStore.Service> = Effect.map(MemoryState.make, (state): JobStore.Service => {
  const base = {
    crossProcessSignals: false,
    insert: insert(state),
    get: get(state),
    list: list(state),
    update: update(state),
    claim: claim(state),
    heartbeat: heartbeat(state),
    statuses: statuses(state),
    settle: settle(state),
    saveProgress: saveProgress(state),
    appendLogs: appendLogs(state),
    logs: readLogs(state),
    getResult: getResult(state),
    stats: stats(state),
    delete: deleteOne(state),
    deleteMany: deleteMany(state),
    rescue: rescue(state),
    expire: expire(state),
    claimCallbacks: claimCallbacks(state),
    settleCallback: settleCallback(state),
    ...state.items.port,
    subscribe: PubSub.subscribe(state.pubsub)
  }
  // schedules and the pruner keep state of their own and reach jobs through the operations above
  return { ...base, ...MemorySchedules.make(base) }
})
