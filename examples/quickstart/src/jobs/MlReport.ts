/**
 * The `ml_report` job type: a job that depends on `ml` jobs (`dependsOn`) and sums what they found. It is not claimed
 * before its dependencies SUCCEEDED (with the default `dependencyPolicy: "fail"`, a failed one fails it with
 * `terminalReason: "dependency_failed"` instead), so when it runs its dependencies are done and `awaitJobs` hands
 * their results back at once.
 */
import { JobType } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** What an `ml_report` job sums. */
export const MlReportResult = Schema.Struct({
  jobs: Schema.Int,
  captures: Schema.Int,
  detections: Schema.Int,
  classifications: Schema.Int
}).annotations({ identifier: "MlReportResult" })

/** The `ml_report` job type definition. */
export const MlReport = JobType.make({
  key: "ml_report",
  name: "ML report",
  description: "Sums the results of the ml jobs it depends on (create it with dependsOn: [their ids])",
  result: MlReportResult,
  retry: { maxAttempts: 1 }
})

const count = (value: unknown, key: string): number => {
  const n = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined
  return typeof n === "number" ? n : 0
}

/** The `ml_report` handler as a layer. */
export const layer: Layer.Layer<never, never, JobType.JobRegistry> = JobType.toLayer(MlReport, (_, context) =>
  Effect.gen(function* () {
    const finished = yield* context.awaitJobs(context.job.dependsOn)
    const report = { jobs: finished.length, captures: 0, detections: 0, classifications: 0 }
    for (const { result } of finished) {
      report.captures += count(result?.value, "captures")
      report.detections += count(result?.value, "detections")
      report.classifications += count(result?.value, "classifications")
    }
    yield* context.log.info(`${report.detections} detections in ${report.jobs} ml jobs`)
    return report
  })
)
