/**
 * A caller's scope: the jobs one caller may see at all. The HTTP router asks the host for it once per request
 * (`JobsApi.make({ scope })`); the engine applies it on the store side to every collection read and write (list and
 * its total, stats, batches, bulk delete, results by id, idempotency lookups, many-job event streams), and a job
 * outside it is "not found" on every per-job call, so ids never leak.
 *
 * @since 0.1.0
 */
import type { JobFilter } from "./JobStore.js"

/**
 * The jobs a caller may see. `owners` lists the owners whose jobs are visible (`null` stands for jobs without an
 * owner); absent, every owner is visible. An empty list sees nothing.
 */
export interface JobScope {
  readonly owners?: ReadonlyArray<string | null>
}

/** The scope that sees every job. */
export const all: JobScope = {}

/** Whether a job (or row) is inside the scope; an absent scope holds every job. */
export const contains = (scope: JobScope | undefined, job: { readonly owner: string | null }): boolean =>
  scope?.owners === undefined || scope.owners.includes(job.owner)

/** The store filter fields of a scope, to be merged (AND) into any other filter. */
export const toFilter = (scope: JobScope | undefined): Pick<JobFilter, "owners"> =>
  scope?.owners === undefined ? {} : { owners: scope.owners }

/**
 * The owner a new job gets under the scope: the given one when it is inside, the only owner of a one-owner scope
 * when none is given. `undefined` when the scope cannot hold the job (the caller may not create it).
 */
export const ownerFor = (
  scope: JobScope | undefined,
  given: string | null | undefined
): { readonly owner: string | null } | undefined => {
  if (scope?.owners === undefined) return { owner: given ?? null }
  if (given === undefined) return scope.owners.length === 1 ? { owner: scope.owners[0] ?? null } : undefined
  return scope.owners.includes(given) ? { owner: given } : undefined
}
