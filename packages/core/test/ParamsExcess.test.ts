import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Jobs, JobType, MemoryJobStore } from "../src/index.js"

const Strict = JobType.make({ key: "strict", params: Schema.Struct({ format: Schema.String }) })
const Open = JobType.make({
  key: "open",
  params: Schema.Struct({ format: Schema.String }).annotations({ parseOptions: { onExcessProperty: "preserve" } })
})
const Keyed = JobType.make({
  key: "keyed",
  params: Schema.Struct({ format: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

const engine = Jobs.layer({ types: [Strict, Open, Keyed] }).pipe(Layer.provideMerge(MemoryJobStore.layer))

describe("params fields a type does not declare", () => {
  it.effect("are refused naming the field, as the published additionalProperties: false says", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const error = yield* Effect.flip(jobs.create({ type: "strict", params: { format: "json", fromat: "csv" } }))
      expect(error._tag).toBe("InvalidParams")
      expect(error._tag === "InvalidParams" ? error.issues.map((i) => i.path) : []).toEqual(["params.fromat"])
      const schema = jobs.types().find((t) => t.key === "strict")?.paramsSchema as { additionalProperties?: unknown }
      expect(schema.additionalProperties).toBe(false)
    }).pipe(Effect.provide(engine))
  )

  it.effect("are kept when the type's Schema allows them (its parse options, or an index signature)", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs.Jobs
      const open = yield* jobs.create({ type: "open", params: { format: "json", extra: 1 } })
      expect(open.job.params).toEqual({ format: "json", extra: 1 })
      const keyed = yield* jobs.create({ type: "keyed", params: { format: "json", level: 3 } })
      expect(keyed.job.params).toEqual({ format: "json", level: 3 })
    }).pipe(Effect.provide(engine))
  )
})
