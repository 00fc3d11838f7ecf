/**
 * When a schedule fires: pure functions of its spec and an instant, with no clock of their own (the caller passes
 * `now` from Effect's `Clock`), so tests move time with `TestClock` and every process computes the same ticks.
 *
 * Cron expressions are read by croner: five or six fields (seconds first when six), in an IANA time zone, with DST
 * handled as Vixie cron does: a fixed time that falls in a spring-forward gap runs once right after the gap, a fixed
 * time that occurs twice at fall-back runs once (the first time), and stepped or wildcard times follow real time.
 */
import { Cron } from "croner"

/** A schedule's recurrence: a cron expression in a time zone, or a fixed interval from its first tick. */
export type Spec =
  | { readonly _tag: "Cron"; readonly cron: string; readonly timeZone: string }
  | { readonly _tag: "Every"; readonly everyMs: number }

/** The shortest interval: a tick a second is what the ticker can honour. */
export const minEveryMs = 1000

/** At most this many missed ticks are run at once (a larger backfill is refused at definition). */
export const maxBackfill = 1000

const crons = new Map<string, Cron>()

/** A parsed cron expression, cached: parsing is the costly part, and every pass of the ticker asks again. */
const cronOf = (cron: string, timeZone: string): Cron => {
  const key = `${timeZone}\u0000${cron}`
  let parsed = crons.get(key)
  if (parsed === undefined) {
    parsed = new Cron(cron, { timezone: timeZone, mode: "5-or-6-parts" })
    if (crons.size > 1000) crons.clear()
    crons.set(key, parsed)
  }
  return parsed
}

/** Why a time zone is not valid, or undefined when it is an IANA zone the runtime knows. */
export const checkTimeZone = (timeZone: string): string | undefined => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone })
    return undefined
  } catch {
    return `unknown time zone "${timeZone}" (an IANA name such as Europe/Berlin)`
  }
}

/** Why a cron expression is not valid (five or six fields), or undefined when it is. */
export const checkCron = (cron: string): string | undefined => {
  try {
    const parsed = new Cron(cron, { timezone: "UTC", mode: "5-or-6-parts" })
    // a valid expression that never matches (February 30th) would leave the schedule without a next tick
    if (parsed.nextRun(new Date(0)) === null) return "never matches a date"
    return undefined
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error)
    return `must be a cron expression of five or six fields: ${message}`
  }
}

/** The first tick strictly after `instant` (epoch ms), or null when the spec has none. */
export const nextAfter = (spec: Spec, instant: number): number | null => {
  if (spec._tag === "Every") return instant + spec.everyMs
  const next = cronOf(spec.cron, spec.timeZone).nextRun(new Date(instant))
  return next === null ? null : next.getTime()
}

/** The ticks to fire now and the schedule's next tick after them. */
export interface Due {
  /** Ascending; empty when nothing is due yet. */
  readonly ticks: ReadonlyArray<number>
  /** The first tick after `now` (null when the spec has none: the schedule then stays at its last tick). */
  readonly next: number | null
}

/**
 * The ticks due at `now` of a schedule whose next tick is `from`: every tick in [from, now], of which only the latest
 * and the `backfill` before it are fired (0: missed ticks are skipped, the latest still runs). Never enumerates the
 * skipped ones: a second-level cron after a week offline costs as much as one tick.
 */
export const due = (spec: Spec, from: number, now: number, backfill: number): Due => {
  if (from > now) return { ticks: [], next: from }
  if (spec._tag === "Every") {
    const last = Math.floor((now - from) / spec.everyMs)
    const first = Math.max(0, last - backfill)
    const ticks: Array<number> = []
    for (let k = first; k <= last; k++) ticks.push(from + k * spec.everyMs)
    return { ticks, next: from + (last + 1) * spec.everyMs }
  }
  const cron = cronOf(spec.cron, spec.timeZone)
  // croner's previousRuns looks strictly before its reference (to the second): one millisecond on includes `now`
  const recent = cron
    .previousRuns(backfill + 1, new Date(now + 1))
    .map((date) => date.getTime())
    .filter((tick) => tick >= from && tick <= now)
    .reverse()
  const next = cron.nextRun(new Date(now))
  // `from` is always a tick of this spec, so `recent` holds it at least; an empty answer would be croner's bug
  return { ticks: recent.length === 0 ? [from] : recent, next: next === null ? null : next.getTime() }
}
