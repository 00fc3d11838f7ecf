/**
 * The named items of one attempt, in memory: read from the store on the first item call, then changed in place. The
 * worker's flusher writes the changed ones in batches (`drain`), and every change sets the attempt's
 * `progress.items` counters from the items themselves, so the counters always agree with them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ItemCounts } from "../Job.js"
import type { ItemRow, JobStoreError } from "../JobStore.js"
import type * as JobType from "../JobType.js"

interface MutableItem {
  readonly key: string
  readonly position: number
  status: ItemRow["status"]
  readonly input: string | null
  output: string | null
  error: string | null
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
}

/** What the items of an attempt need from the worker. */
export interface ItemsHost {
  /** Every item of the job, in order. */
  readonly load: (jobId: string) => Effect.Effect<ReadonlyArray<ItemRow>, JobStoreError>
  /** Items changed: the flusher should write them. */
  readonly changed: (items: AttemptItems) => void
}

const parseInput = (text: string | null): unknown => {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const toJson = (value: unknown): string | null => {
  if (value === undefined) return null
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return null
  }
}

/** The items of one attempt. */
export class AttemptItems {
  private items: Map<string, MutableItem> | undefined = undefined
  private loading: Effect.Effect<Map<string, MutableItem>, JobStoreError> | undefined = undefined
  private readonly dirty = new Set<MutableItem>()
  private nextPosition = 0
  private completed = 0
  private failed = 0

  constructor(
    readonly jobId: string,
    private readonly type: JobType.Any | undefined,
    private readonly host: ItemsHost,
    /** Sets the attempt's counters (and marks its progress dirty). */
    private readonly report: (counts: { total: number; completed: number; failed: number }) => void
  ) {}

  /** The loaded items; the first call reads them from the store. */
  private loaded(): Effect.Effect<Map<string, MutableItem>, JobStoreError> {
    if (this.items !== undefined) return Effect.succeed(this.items)
    if (this.loading === undefined) {
      this.loading = Effect.map(this.host.load(this.jobId), (rows) => {
        // a concurrent first call may have loaded them meanwhile
        if (this.items !== undefined) return this.items
        const items = new Map<string, MutableItem>()
        for (const row of rows) {
          items.set(row.key, { ...row })
          this.nextPosition = Math.max(this.nextPosition, row.position + 1)
          if (row.status === "SUCCEEDED") this.completed++
          else if (row.status === "FAILED") this.failed++
        }
        this.items = items
        return items
      }).pipe(
        Effect.tapError(() =>
          Effect.sync(() => {
            this.loading = undefined
          })
        )
      )
    }
    return this.loading
  }

  private touch(item: MutableItem, now: number): void {
    item.updatedAt = now
    this.dirty.add(item)
    this.report(this.counts())
    this.host.changed(this)
  }

  private set(item: MutableItem, status: MutableItem["status"]): void {
    if (item.status === "SUCCEEDED") this.completed--
    else if (item.status === "FAILED") this.failed--
    item.status = status
    if (status === "SUCCEEDED") this.completed++
    else if (status === "FAILED") this.failed++
  }

  private counts(): { total: number; completed: number; failed: number } {
    return { total: this.items?.size ?? 0, completed: this.completed, failed: this.failed }
  }

  private addOne(items: Map<string, MutableItem>, key: string, input: unknown, now: number): MutableItem {
    let item = items.get(key)
    if (item === undefined) {
      item = {
        key,
        position: this.nextPosition++,
        status: "PENDING",
        input: toJson(input),
        output: null,
        error: null,
        startedAt: null,
        finishedAt: null,
        updatedAt: now
      }
      items.set(key, item)
      this.touch(item, now)
    }
    return item
  }

  /** Runs `f` on the loaded items at the current time. */
  private withItems<A>(f: (items: Map<string, MutableItem>, now: number) => A): Effect.Effect<A, JobStoreError> {
    return Effect.flatMap(this.loaded(), (items) => Effect.map(Clock.currentTimeMillis, (now) => f(items, now)))
  }

  readonly pending: Effect.Effect<ReadonlyArray<JobType.ItemInfo>, JobStoreError> = Effect.map(
    Effect.suspend(() => this.loaded()),
    (items) =>
      Array.from(items.values())
        .filter((item) => item.status !== "SUCCEEDED")
        .sort((a, b) => a.position - b.position || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((item) => ({ key: item.key, status: item.status, input: parseInput(item.input), error: item.error }))
  )

  readonly allCounts: Effect.Effect<ItemCounts, JobStoreError> = Effect.map(
    Effect.suspend(() => this.loaded()),
    () => {
      const { completed, failed, total } = this.counts()
      return { total, pending: total - completed - failed, completed, failed }
    }
  )

  add(list: ReadonlyArray<{ readonly key: string; readonly input?: unknown }>): Effect.Effect<void, JobStoreError> {
    return this.withItems((items, now) => {
      for (const { input, key } of list) this.addOne(items, key, input, now)
    })
  }

  start(key: string): Effect.Effect<void, JobStoreError> {
    return this.withItems((items, now) => {
      const item = this.addOne(items, key, undefined, now)
      this.set(item, "RUNNING")
      item.startedAt = now
      item.finishedAt = null
      item.error = null
      item.output = null
      this.touch(item, now)
    })
  }

  complete(key: string, output: unknown): Effect.Effect<void, JobStoreError> {
    return this.withItems((items, now) => {
      const item = this.addOne(items, key, undefined, now)
      const encoded = this.encode(output)
      if (Either.isLeft(encoded)) {
        this.set(item, "FAILED")
        item.error = encoded.left
        item.output = null
      } else {
        this.set(item, "SUCCEEDED")
        item.output = encoded.right
        item.error = null
      }
      item.startedAt ??= now
      item.finishedAt = now
      this.touch(item, now)
    })
  }

  fail(key: string, error: string): Effect.Effect<void, JobStoreError> {
    return this.withItems((items, now) => {
      const item = this.addOne(items, key, undefined, now)
      this.set(item, "FAILED")
      item.error = error
      item.output = null
      item.startedAt ??= now
      item.finishedAt = now
      this.touch(item, now)
    })
  }

  private encode(output: unknown): Either.Either<string | null, string> {
    const schema = this.type?.itemOutput ?? null
    let encoded: unknown = output
    if (schema !== null) {
      const result = Schema.encodeUnknownEither(schema as Schema.Schema<unknown, unknown, never>)(output)
      if (Either.isLeft(result)) {
        return Either.left(
          `output does not match the item output of job type "${this.type?.key}": ` +
            ParseResult.TreeFormatter.formatErrorSync(result.left)
        )
      }
      encoded = result.right
    }
    if (encoded === undefined) return Either.right(null)
    const json = toJson(encoded)
    return json === null ? Either.left("output is not JSON-serializable") : Either.right(json)
  }

  /** The changed items as rows, forgetting that they changed. */
  drain(): Array<ItemRow> {
    const rows: Array<ItemRow> = []
    for (const item of this.dirty) rows.push({ jobId: this.jobId, ...item })
    this.dirty.clear()
    return rows
  }
}
