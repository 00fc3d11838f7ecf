import { afterAll, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqliteJobStore } from "../src/index.js"
import { makeRow, T0 } from "./support.js"

// real files (WAL, as in production), fresh for each run; the schedule conformance tests run in conformance.test.ts
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-sqlite-schedules-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

it.live("two stores on one file (as two processes would be) firing the same ticks create one job per tick", () =>
  Effect.gen(function* () {
    const filename = Path.join(dir, "shared.db")
    const open = Effect.map(Layer.build(SqliteJobStore.layer({ filename })), Context.get(JobStore.JobStore))
    const first = yield* open
    const second = yield* open
    const key = "shared"
    yield* first.putSchedule({
      row: {
        key,
        cron: "* * * * * *",
        timeZone: "UTC",
        everyMs: null,
        backfill: 0,
        template: "{}",
        source: "api",
        paused: false,
        nextRunAt: T0 + 1000,
        lastRunAt: null,
        createdAt: T0,
        updatedAt: T0
      },
      mode: "insert"
    })
    let wins = 0
    for (let tick = 1; tick <= 20; tick++) {
      const fire = (store: JobStore.JobStore.Service) =>
        store.fireSchedule({
          key,
          expectedNextRunAt: T0 + tick * 1000,
          nextRunAt: T0 + (tick + 1) * 1000,
          lastRunAt: T0 + tick * 1000,
          jobs: [{ tick: T0 + tick * 1000, job: makeRow({ queue: "shared", runAt: T0 + tick * 1000 }) }],
          now: T0 + tick * 1000
        })
      const answers = yield* Effect.all([fire(first), fire(second)], { concurrency: "unbounded" })
      wins += answers.filter(Option.isSome).length
    }
    expect(wins).toBe(20)
    const page = yield* first.list({
      filter: { queues: ["shared"] },
      sort: "createdAt",
      order: "asc",
      limit: 100,
      cursor: null,
      withTotal: true
    })
    expect(page.total).toBe(20)
    expect(new Set(page.rows.map((row) => row.runAt)).size).toBe(20)
    expect(page.rows.every((row) => row.scheduleKey === key)).toBe(true)
  }).pipe(Effect.scoped)
)
