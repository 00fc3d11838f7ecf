/**
 * Per-input items of a job (Modzy's sources, super.AI's inputs, Antenna's images): each with a key, a status, an
 * output and an error of its own. A job's `progress.items` counters are derived from its items.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Timestamp } from "./Job.js"
import type { ItemRow } from "./JobStore.js"

/** The four statuses of an item. */
export const ItemStatus = Schema.Literal("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
/** The four statuses of an item. */
export type ItemStatus = typeof ItemStatus.Type

/** An item as clients see it. */
export const JobItem = Schema.Struct({
  key: Schema.String,
  status: ItemStatus,
  input: Schema.Unknown,
  output: Schema.Unknown,
  error: Schema.NullOr(Schema.String),
  startedAt: Schema.NullOr(Timestamp),
  finishedAt: Schema.NullOr(Timestamp),
  updatedAt: Timestamp
}).annotations({ identifier: "JobItem" })
/** An item as clients see it. */
export type JobItem = typeof JobItem.Type

/** An item key: 1 to 200 characters. */
export const ItemKey = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

/** An item declared at create, or added to a job later. */
export const NewItem = Schema.Struct({
  key: ItemKey,
  input: Schema.optional(Schema.Unknown)
}).annotations({ identifier: "NewItem" })
/** An item declared at create, or added later. */
export type NewItem = typeof NewItem.Type

/** At most this many items are declared in one call. */
export const maxItemsPerCall = 10_000

/** The items of one create or add call: unique keys, at most {@link maxItemsPerCall}. */
export const NewItems = Schema.Array(NewItem).pipe(
  Schema.maxItems(maxItemsPerCall),
  Schema.filter((items) => {
    const seen = new Set<string>()
    for (let i = 0; i < items.length; i++) {
      if (seen.has(items[i].key)) return { path: [i, "key"], message: `duplicate item key "${items[i].key}"` }
      seen.add(items[i].key)
    }
    return true
  })
)

/** A page of items in position order. */
export interface ItemPage {
  readonly items: ReadonlyArray<JobItem>
  readonly nextCursor: string | null
}

const parse = (text: string | null): unknown => {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const time = (millis: number | null): string | null => (millis === null ? null : new Date(millis).toISOString())

/** Builds the public item from the store's row. Never throws. */
export const fromRow = (row: ItemRow): JobItem => ({
  key: row.key,
  status: row.status,
  input: parse(row.input),
  output: parse(row.output),
  error: row.error,
  startedAt: time(row.startedAt),
  finishedAt: time(row.finishedAt),
  updatedAt: new Date(row.updatedAt).toISOString()
})
