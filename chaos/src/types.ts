/** The job type of the chaos suite: sleeps `ms`, and its executions are recorded by the worker process. */
import { JobType } from "@jobloom/core"
import * as Schema from "effect/Schema"

/** A job that sleeps `ms` milliseconds; many attempts, so kills never exhaust them. */
export const Chaos = JobType.make({
  key: "chaos",
  params: Schema.Struct({ ms: Schema.Number }),
  retry: { maxAttempts: 25 }
})
