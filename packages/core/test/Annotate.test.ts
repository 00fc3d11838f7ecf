import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { engine } from "./WorkerSupport.js"

describe("annotate", () => {
  it.effect("sets tags and metadata of a finished job without changing its status, and names bad fields", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const { job } = yield* jobs.create({ type: "delay", params: { seconds: 0 }, tags: ["a"], metadata: { x: 1 } })
      yield* jobs.cancel(job.id)
      const tagged = yield* jobs.annotate(job.id, { tags: ["a", "b"] })
      expect(tagged).toMatchObject({ status: "CANCELLED", tags: ["a", "b"], metadata: { x: 1 } })
      const noted = yield* jobs.annotate(job.id, { metadata: { x: 2 } })
      expect(noted).toMatchObject({ status: "CANCELLED", tags: ["a", "b"], metadata: { x: 2 } })
      const bad = yield* Effect.flip(jobs.annotate(job.id, { tags: [""] }))
      expect(bad._tag).toBe("InvalidInput")
      const missing = yield* Effect.flip(jobs.annotate("01900000-0000-7000-8000-000000000000", { tags: [] }))
      expect(missing._tag).toBe("JobNotFound")
    }).pipe(Effect.provide(engine([])))
  )
})
