/**
 * Migration 10: the drain's triggers, cheaper (issue 22). Forward-only; works on a database with data.
 *
 * Dependencies: migration 7 counted ends with a statement-level trigger whose transition tables captured every row of
 * every update (claims, settles, heartbeats) and called `count_ends` with all the ids a settle ended, though almost no
 * job has dependents. Now a job carries `has_dependents`, set (by a trigger on the edges' table) when an edge that is
 * not yet counted names it, and a row-level trigger fires only for a job with that flag whose status becomes terminal:
 * its WHEN is false for every other row, which costs an update nothing. A job nobody depends on pays nothing.
 *
 * The race of a dependency ending while a dependent is inserted: the insert locks the dependencies FOR NO KEY UPDATE
 * (see `insert.ts`), reads their statuses, then inserts the edges, whose trigger sets the flag, in its transaction.
 * An ending write that comes first commits first, and the insert reads it ended (counted at insert, edge done). One
 * that comes later waits for the insert's commit, and updates the row version the insert left: its OLD has the flag,
 * and `count_ends` (a new snapshot) sees the edges. The delete trigger of migration 7 (statement-level: deletes are
 * rare) stays as it is.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Names } from "../internal/names.js"

const quoted = (name: string) =>
  name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".")

/** Builds the migration for one store's names. */
export const make = (names: Names) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // a constant default: catalog-only, no table rewrite
    yield* sql`ALTER TABLE ${sql(names.jobs)} ADD COLUMN has_dependents boolean NOT NULL DEFAULT false`
    yield* sql.unsafe(functions(names))
    // under the triggers' locks (held to the end of the migration's transaction, so no edge is inserted meanwhile):
    // the jobs that edges not yet counted name
    yield* sql`UPDATE ${sql(names.jobs)} SET has_dependents = true
      WHERE id IN (SELECT depends_on FROM ${sql(names.dependencies)} WHERE NOT done) AND NOT has_dependents`
  })

const functions = (names: Names): string => {
  const q = quoted
  const jobs = q(names.jobs)
  const dependencies = q(names.dependencies)
  const fn = (name: string) => q(`${names.schema}.${names.prefix}${name}`)
  const terminal = `('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`
  return `
DROP TRIGGER ${q(names.index("jobs_ended"))} ON ${jobs};

-- A job with dependents ended: count its end for them (see count_ends, migration 7; its UPDATE of the dependents
-- fires this trigger in turn for those that have dependents of their own: the cascade down a chain).
CREATE FUNCTION ${fn("job_ended")}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
  PERFORM ${fn("count_ends")}(ARRAY[NEW.id], ARRAY[NEW.status], ARRAY[NEW.updated_at]);
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ${q(names.index("jobs_ended"))} AFTER UPDATE ON ${jobs}
  FOR EACH ROW WHEN (OLD.has_dependents AND OLD.status NOT IN ${terminal} AND NEW.status IN ${terminal})
  EXECUTE FUNCTION ${fn("job_ended")}();

-- Edges inserted: the jobs they wait on (not yet counted) have dependents from now on. The inserting transaction
-- holds those rows locked (insert.ts), so this UPDATE waits on no one.
CREATE FUNCTION ${fn("edges_inserted")}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
  UPDATE ${jobs} SET has_dependents = true
  WHERE id IN (SELECT depends_on FROM new_edges WHERE NOT done) AND NOT has_dependents;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ${q(names.index("dependencies_inserted"))} AFTER INSERT ON ${dependencies}
  REFERENCING NEW TABLE AS new_edges
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn("edges_inserted")}();
`
}
