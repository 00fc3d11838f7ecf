/**
 * The store's wake-ups, in process. SQLite has no NOTIFY, so a store tells the subscribers of its own process
 * directly: every store on one database in this process shares one hub, and a worker wakes at once when a job is
 * inserted through another store instance on the same file. Other processes on the file see new work at their next
 * poll (the store's `crossProcessSignals` is false).
 */
import type { JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Path from "node:path"

type StoreSignal = JobStore.StoreSignal

/** The hubs of this process's databases. */
export interface HubRegistry {
  /** The hub of a database, created on first use: by resolved file name for a shared file, else by client object. */
  readonly hubFor: (key: string | object) => PubSub.PubSub<StoreSignal>
}

/** A registry of its own (the stores that share one hear each other; no others). */
export const makeRegistry = (): HubRegistry => {
  // a file's hub outlives its stores (one small PubSub per file ever opened); a client's goes with the client
  const byFile = new Map<string, PubSub.PubSub<StoreSignal>>()
  const byClient = new WeakMap<object, PubSub.PubSub<StoreSignal>>()
  // sliding: a subscriber that falls behind loses the oldest hints, never memory; workers poll anyway
  const newHub = () => Effect.runSync(PubSub.sliding<StoreSignal>(1024))
  return {
    hubFor: (key) => {
      if (typeof key === "string") {
        let hub = byFile.get(key)
        if (hub === undefined) byFile.set(key, (hub = newHub()))
        return hub
      }
      let hub = byClient.get(key)
      if (hub === undefined) byClient.set(key, (hub = newHub()))
      return hub
    }
  }
}

/**
 * The hub registry of the stores being built. A reference with a default: unless a registry is provided, every
 * store of the process shares the one Effect keeps for this tag, which is what lets two stores on a file, built
 * apart, wake each other; a test or host that wants stores isolated provides a registry of its own.
 */
export class Hubs extends Context.Reference<Hubs>()("@jobloom/store-sqlite/Hubs", { defaultValue: makeRegistry }) {}

/** Whether a file name opens a private database (one per connection), which no other store can share. */
export const isPrivate = (filename: string): boolean => filename === "" || filename === ":memory:"

/**
 * The registry key of a database: its resolved file name, so every store of this process on the file shares a hub;
 * the client itself when the file is private (`:memory:`, one database per connection) or unknown (a host's client
 * that is not a `SqliteClient`).
 */
export const keyOf = (filename: string | undefined, client: object): string | object =>
  filename !== undefined && !isPrivate(filename) ? Path.resolve(filename) : client

/** The signals of one store. */
export interface Signals {
  /** Publishes to every subscriber of the database's hub (nothing when the list is empty). */
  readonly publish: (signals: ReadonlyArray<StoreSignal>) => Effect.Effect<void>
  /** Subscribes (see `JobStore.subscribe`). */
  readonly subscribe: JobStore.JobStore.Service["subscribe"]
}

/** The signals of a store whose database has this hub. */
export const make = (hub: PubSub.PubSub<StoreSignal>): Signals => ({
  publish: (signals) => (signals.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(hub, signals))),
  subscribe: PubSub.subscribe(hub)
})

/** One `Enqueued` per distinct queue. */
export const enqueued = (queues: Iterable<string>): Array<StoreSignal> =>
  Array.from(new Set(queues), (queue) => ({ _tag: "Enqueued" as const, queue }))

/** One `Changed` per status change. */
export const changed = (changes: ReadonlyArray<JobStore.StatusChange>): Array<StoreSignal> =>
  changes.map((change) => ({ _tag: "Changed" as const, id: change.id, status: change.status }))
