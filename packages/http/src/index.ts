/**
 * jobloom over HTTP: a Hono sub-app with the REST surface, OpenAPI document, problem+json errors and live updates.
 *
 * @since 0.1.0
 */

// first: core checks the installed Effect version before this package builds any Schema
import "@jobloom/core"

/** The REST sub-app: `app.route("/api/v1", JobsApi.make({ runtime }))`. */
export * as JobsApi from "./JobsApi.js"

/** The dashboard page, served at `{prefix}/dashboard` by the REST sub-app or on a path of its own. */
export * as Dashboard from "./dashboard/Dashboard.js"

/** Errors as `application/problem+json`, mapped from the engine's tagged errors. */
export * as Problem from "./Problem.js"

/** Builds the REST sub-app (the same as `JobsApi.make`). */
export { jobsApi } from "./JobsApi.js"
