/**
 * The create path's dependency rules: a new job's `dependsOn` names existing jobs inside the caller's scope, each
 * once. The store counts the dependencies already done at insert and releases the job later (see `JobStore`).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Issue } from "../../JobError.js"
import * as JobScope from "../../JobScope.js"
import type { JobStore, JobStoreError, NewJobRow } from "../../JobStore.js"
import { join } from "./query.js"

/** The dependency fields of a new row: duplicates collapse (first place kept); every one is still to be done. */
export const fields = (
  dependsOn: ReadonlyArray<string> | undefined,
  policy: "fail" | "run" | undefined
): Pick<NewJobRow, "dependsOn" | "dependencyPolicy" | "waitingOn"> => {
  const unique = Array.from(new Set(dependsOn ?? []))
  return { dependsOn: unique, dependencyPolicy: policy ?? "fail", waitingOn: unique.length }
}

/**
 * The issues of the rows' dependencies: each must be an existing job inside `scope` (one outside is as unknown as a
 * missing one). `inputs[i]` is what the caller sent for `rows[i]` (for the index in the issue's path), `prefixes[i]`
 * the path of that job in the request. Each distinct id is read once.
 */
export const check = (
  store: JobStore.Service,
  scope: JobScope.JobScope | undefined,
  entries: ReadonlyArray<{ readonly prefix: string; readonly sent: ReadonlyArray<string> | undefined }>
): Effect.Effect<ReadonlyArray<Issue>, JobStoreError> =>
  Effect.gen(function* () {
    const ids = new Set(entries.flatMap((entry) => entry.sent ?? []))
    if (ids.size === 0) return []
    const known = new Set<string>()
    yield* Effect.forEach(
      ids,
      (id) =>
        Effect.map(store.get({ id }), (row) => {
          if (Option.isSome(row) && JobScope.contains(scope, row.value)) known.add(id)
        }),
      { concurrency: 16, discard: true }
    )
    const issues: Array<Issue> = []
    for (const { prefix, sent } of entries) {
      ;(sent ?? []).forEach((id, index) => {
        if (!known.has(id)) issues.push({ path: `${join(prefix, "dependsOn")}[${index}]`, message: "no such job" })
      })
    }
    return issues
  })
