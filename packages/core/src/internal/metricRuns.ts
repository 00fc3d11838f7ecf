/**
 * Counts of jobs recorded once per run of equal labels instead of once per job: the rows of one claim, one settle or
 * one `createMany` mostly share their type, queue and status, so a batch makes one metric update, not hundreds.
 */

/** Accumulates consecutive jobs of equal (type, queue, key) and records each run with its count. */
export class Runs<K extends string> {
  private type = ""
  private queue = ""
  private key: K | undefined
  private count = 0
  constructor(private readonly record: (type: string, queue: string, key: K, count: number) => void) {}

  /** One more job: a different (type, queue, key) records the run before it. */
  add(type: string, queue: string, key: K): void {
    if (this.count > 0 && (type !== this.type || queue !== this.queue || key !== this.key)) this.flush()
    if (this.count === 0) {
      this.type = type
      this.queue = queue
      this.key = key
    }
    this.count++
  }

  /** Records the run in progress, if any. */
  flush(): void {
    if (this.count > 0) this.record(this.type, this.queue, this.key!, this.count)
    this.count = 0
  }
}
