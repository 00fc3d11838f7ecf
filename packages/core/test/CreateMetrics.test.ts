/**
 * `createMany` counts the jobs it created per type and queue (one metric update per run of equal labels), and not
 * the jobs whose idempotency key another job held.
 */
import { describe, expect, it } from "@effect/vitest"
import { JobMetrics, Jobs, JobType, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"

const A = JobType.make({ key: "metered-a" })
const B = JobType.make({ key: "metered-b" })
const TestLayer = Jobs.layer({ types: [A, B] }).pipe(Layer.provideMerge(MemoryJobStore.layer))

const created = (type: string, queue: string) =>
  Metric.value(
    Metric.taggedWithLabels(JobMetrics.jobsCreated, [MetricLabel.make("type", type), MetricLabel.make("queue", queue)])
  ).pipe(Effect.map((state) => state.count))

describe("createMany metrics", () => {
  it.effect("counts the created jobs of each type and queue", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const q1 = `q1-${Math.random().toString(36).slice(2, 8)}`
      const q2 = `q2-${Math.random().toString(36).slice(2, 8)}`
      yield* jobs.create({ type: "metered-a", queue: q1, idempotencyKey: "held" })
      yield* jobs.createMany([
        { type: "metered-a", queue: q1 },
        { type: "metered-a", queue: q1, idempotencyKey: "held" },
        { type: "metered-b", queue: q1 },
        { type: "metered-a", queue: q2 },
        { type: "metered-a", queue: q1 },
        { type: "metered-a", queue: q1 }
      ])
      expect(yield* created("metered-a", q1), "the held key's job is not counted").toBe(1 + 3)
      expect(yield* created("metered-b", q1)).toBe(1)
      expect(yield* created("metered-a", q2)).toBe(1)
    }).pipe(Effect.provide(TestLayer))
  )
})
