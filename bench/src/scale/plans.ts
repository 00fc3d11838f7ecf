/**
 * The statements the scale bench explains (`--explain`): the main statement of each read, written as the stores
 * send them (values inlined). For PostgreSQL, each read migration 0009 changed is explained twice: as it was (the old
 * statement, with the new indexes dropped inside a transaction that is rolled back) and as it is.
 */

/** A statement to explain; `without`: indexes dropped (in a rolled-back transaction) first, for the "before" plan. */
export interface Plan {
  readonly name: string
  readonly statement: string
  readonly without?: ReadonlyArray<string>
}

/** PostgreSQL, in schema `schema`. */
export const pgPlans = (schema: string): ReadonlyArray<Plan> => {
  const t = (name: string) => `"${schema}".jobloom_${name}`
  const jobs = t("jobs")
  const page = (where: string) => `SELECT * FROM ${jobs} WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT 21`
  return [
    { name: "first page", statement: page("true") },
    {
      name: "status=FAILED&type=ml, before",
      statement: page(`status = 'FAILED' AND type = 'ml'`),
      without: ["jobs_failed"]
    },
    { name: "status=FAILED&type=ml, after", statement: page(`status = 'FAILED' AND type = 'ml'`) },
    {
      name: "status=TIMED_OUT&type=ml (none), before",
      statement: page(`status = 'TIMED_OUT' AND type = 'ml'`),
      without: ["jobs_failed"]
    },
    {
      name: "status=TIMED_OUT&type=ml (none), after",
      statement: page(`status = 'TIMED_OUT' AND type = 'ml'`)
    },
    { name: "owner=owner-7, before", statement: page(`owner = 'owner-7'`), without: ["jobs_owner"] },
    { name: "owner=owner-7, after", statement: page(`owner = 'owner-7'`) },
    {
      name: "status=active count",
      statement: `SELECT count(*) FROM ${jobs} WHERE status = ANY('{QUEUED,RUNNING,PAUSING,PAUSED,CANCELLING,CREATED}')`
    },
    {
      name: "sort=finishedAt, before (one sort key)",
      statement: `SELECT * FROM ${jobs} ORDER BY COALESCE(finished_at, -1) DESC, id DESC LIMIT 21`
    },
    {
      name: "sort=finishedAt, after (its finished and unfinished parts)",
      statement: `SELECT * FROM (
          (SELECT * FROM ${jobs} WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 21)
          UNION ALL
          (SELECT * FROM ${jobs} WHERE finished_at IS NULL ORDER BY id DESC LIMIT 21)
        ) j ORDER BY COALESCE(finished_at, -1) DESC, id DESC LIMIT 21`
    },
    {
      name: "sort=finishedAt, next page after (cursor in the finished part)",
      statement: `SELECT * FROM (
          (SELECT * FROM ${jobs} WHERE finished_at IS NOT NULL
            AND (finished_at, id) < (${Date.now() - 600_000}::int8, 'x') ORDER BY finished_at DESC, id DESC LIMIT 21)
          UNION ALL
          (SELECT * FROM ${jobs} WHERE finished_at IS NULL AND false ORDER BY id DESC LIMIT 21)
        ) j ORDER BY COALESCE(finished_at, -1) DESC, id DESC LIMIT 21`
    },
    {
      name: "stats?owner=owner-7 (counted)",
      statement: `SELECT type, status, count(*) FROM ${jobs} WHERE owner = 'owner-7' GROUP BY type, status`
    },
    { name: "stats, before (counted)", statement: `SELECT type, status, count(*) FROM ${jobs} GROUP BY type, status` },
    {
      name: "stats, after (counters)",
      statement: `SELECT type, status, sum(n) AS n, count(*) AS shards FROM ${t("counts")}
        WHERE true GROUP BY type, status HAVING sum(n) <> 0`
    },
    { name: "withTotal, before (counted)", statement: `SELECT count(*) FROM ${jobs}` },
    { name: "withTotal, after (counters)", statement: `SELECT COALESCE(sum(n), 0) FROM ${t("counts")} WHERE true` }
  ]
}

/** SQLite (jobloom's default table prefix). */
export const sqlitePlans = (): ReadonlyArray<readonly [string, string]> => {
  const page = (where: string) => `SELECT * FROM jobloom_jobs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT 21`
  return [
    ["first page", page("1 = 1")],
    ["status=FAILED&type=ml", page(`status IN ('FAILED') AND type IN ('ml')`)],
    ["status=TIMED_OUT&type=ml (none)", page(`status IN ('TIMED_OUT') AND type IN ('ml')`)],
    ["owner=owner-7", page(`owner = 'owner-7'`)],
    ["status=active page", page(`status IN ('QUEUED', 'RUNNING', 'PAUSING', 'PAUSED', 'CANCELLING', 'CREATED')`)],
    [
      "sort=finishedAt",
      `SELECT * FROM jobloom_jobs WHERE 1 = 1 ORDER BY coalesce(finished_at, -1) DESC, id DESC LIMIT 21`
    ],
    [
      "stats?owner=owner-7 (counted)",
      `SELECT type, status, count(*) FROM jobloom_jobs WHERE owner = 'owner-7' GROUP BY status, type`
    ],
    ["stats (counters)", `SELECT type, status, sum(n) FROM jobloom_counts GROUP BY type, status HAVING sum(n) <> 0`],
    ["withTotal (counters)", `SELECT coalesce(sum(n), 0) FROM jobloom_counts`],
    ["batch", `SELECT status, count(*) FROM jobloom_jobs WHERE batch_id = 'batch-1' GROUP BY status`]
  ]
}
