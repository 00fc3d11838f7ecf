import { describe, expect, it } from "@effect/vitest"
import * as Ticks from "../src/internal/ticks.js"

const at = (iso: string) => Date.parse(iso)
const iso = (millis: number | null) => (millis === null ? null : new Date(millis).toISOString())

/** The next `n` ticks strictly after `from`, as ISO strings. */
const nextTicks = (spec: Ticks.Spec, from: string, n: number): Array<string | null> => {
  const out: Array<string | null> = []
  let instant = at(from)
  for (let i = 0; i < n; i++) {
    const next = Ticks.nextAfter(spec, instant)
    out.push(iso(next))
    if (next === null) break
    instant = next
  }
  return out
}

const cron = (expression: string, timeZone = "UTC"): Ticks.Spec => ({ _tag: "Cron", cron: expression, timeZone })

describe("schedule ticks", () => {
  it("runs a fixed time that falls in the spring-forward gap once, right after the gap (Europe/Berlin)", () => {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day
    expect(nextTicks(cron("30 2 * * *", "Europe/Berlin"), "2026-03-28T00:00:00Z", 3)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z"
    ])
  })

  it("runs a fixed time that occurs twice at fall-back once, the first time (Europe/Berlin)", () => {
    expect(nextTicks(cron("30 2 * * *", "Europe/Berlin"), "2026-10-24T12:00:00Z", 2)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z"
    ])
  })

  it("keeps a stepped schedule in real time through fall-back: the repeated hour runs twice", () => {
    // every 30 minutes from 00:00Z (02:00 CEST) to 02:00Z (03:00 CET): the local 02:xx hour happens twice
    expect(nextTicks(cron("*/30 * * * *", "Europe/Berlin"), "2026-10-24T23:59:00Z", 5)).toEqual([
      "2026-10-25T00:00:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:30:00.000Z",
      "2026-10-25T02:00:00.000Z"
    ])
  })

  it("follows America/New_York across its own DST dates (local 09:00 stays 09:00)", () => {
    // spring forward 2026-03-08, fall back 2026-11-01
    expect(nextTicks(cron("0 9 * * *", "America/New_York"), "2026-03-07T00:00:00Z", 2)).toEqual([
      "2026-03-07T14:00:00.000Z",
      "2026-03-08T13:00:00.000Z"
    ])
    expect(nextTicks(cron("0 9 * * *", "America/New_York"), "2026-10-31T00:00:00Z", 2)).toEqual([
      "2026-10-31T13:00:00.000Z",
      "2026-11-01T14:00:00.000Z"
    ])
    expect(nextTicks(cron("30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 2)).toEqual([
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:30:00.000Z"
    ])
  })

  it("handles month ends: the 31st skips short months, L is each month's last day", () => {
    expect(nextTicks(cron("0 0 31 * *"), "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-31T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
      "2026-05-31T00:00:00.000Z"
    ])
    expect(nextTicks(cron("0 0 L * *", "Europe/Berlin"), "2028-01-31T00:00:00Z", 2)).toEqual([
      // 2028 is a leap year: February's last day is the 29th
      "2028-02-28T23:00:00.000Z",
      "2028-03-30T22:00:00.000Z"
    ])
  })

  it("reads six fields as seconds first", () => {
    expect(nextTicks(cron("*/15 * * * * *"), "2026-01-01T00:00:00.500Z", 3)).toEqual([
      "2026-01-01T00:00:15.000Z",
      "2026-01-01T00:00:30.000Z",
      "2026-01-01T00:00:45.000Z"
    ])
  })

  it("steps an interval schedule from its previous tick", () => {
    expect(nextTicks({ _tag: "Every", everyMs: 90_000 }, "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-01T00:01:30.000Z",
      "2026-01-01T00:03:00.000Z"
    ])
  })

  it("fires only the latest due tick when missed ticks are skipped, and the backfill before it otherwise", () => {
    const hourly = cron("0 * * * *")
    const from = at("2026-01-01T01:00:00Z")
    const now = at("2026-01-01T05:30:00Z")
    expect(Ticks.due(hourly, from, now, 0).ticks.map(iso)).toEqual(["2026-01-01T05:00:00.000Z"])
    expect(Ticks.due(hourly, from, now, 2).ticks.map(iso)).toEqual([
      "2026-01-01T03:00:00.000Z",
      "2026-01-01T04:00:00.000Z",
      "2026-01-01T05:00:00.000Z"
    ])
    // a backfill larger than what was missed runs every due tick, from the first
    expect(Ticks.due(hourly, from, now, 10).ticks).toHaveLength(5)
    expect(iso(Ticks.due(hourly, from, now, 0).next)).toBe("2026-01-01T06:00:00.000Z")
    const every = { _tag: "Every", everyMs: 60_000 } as const
    const due = Ticks.due(every, at("2026-01-01T00:00:00Z"), at("2026-01-01T00:05:10Z"), 1)
    expect(due.ticks.map(iso)).toEqual(["2026-01-01T00:04:00.000Z", "2026-01-01T00:05:00.000Z"])
    expect(iso(due.next)).toBe("2026-01-01T00:06:00.000Z")
  })

  it("fires a tick that falls exactly at now, and nothing before the first tick", () => {
    const hourly = cron("0 * * * *")
    const tick = at("2026-01-01T01:00:00Z")
    expect(Ticks.due(hourly, tick, tick, 0)).toEqual({ ticks: [tick], next: at("2026-01-01T02:00:00Z") })
    expect(Ticks.due(hourly, tick, tick - 1, 0)).toEqual({ ticks: [], next: tick })
  })

  it("names what is wrong with a cron expression or a time zone", () => {
    expect(Ticks.checkCron("0 * * * *")).toBeUndefined()
    expect(Ticks.checkCron("0 0 * * * *")).toBeUndefined()
    expect(Ticks.checkCron("61 * * * *")).toMatch(/minute/)
    expect(Ticks.checkCron("* * * *")).toMatch(/five or six/)
    expect(Ticks.checkCron("0 0 0 * * * 2030")).toMatch(/five or six/)
    expect(Ticks.checkCron("0 0 30 2 *")).toBe("never matches a date")
    expect(Ticks.checkTimeZone("Europe/Berlin")).toBeUndefined()
    expect(Ticks.checkTimeZone("Mars/Olympus")).toMatch(/unknown time zone/)
  })
})
