/**
 * jobloom over HTTP: a Hono sub-app with the REST surface, OpenAPI document, problem+json errors and live updates.
 *
 * @since 0.1.0
 */

/** The REST sub-app: `app.route("/api/v1", JobsApi.make({ runtime }))`. */
export * as JobsApi from "./JobsApi.js"

/** Errors as `application/problem+json`, mapped from the engine's tagged errors. */
export * as Problem from "./Problem.js"

/** Builds the REST sub-app (the same as `JobsApi.make`). */
export { jobsApi } from "./JobsApi.js"

/** Modzy's job API (`/jobs`, `/jobs/history`, `/results`, `/models`) over the engine, per-source items. */
export * as ModzyApi from "./compat/modzy/ModzyApi.js"

/** Builds the Modzy sub-app (the same as `ModzyApi.make`): `app.route("/modzy/api", modzyApi({ runtime }))`. */
export { modzyApi } from "./compat/modzy/ModzyApi.js"
