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

/** Remote workers over HTTP: claim, heartbeat, report and settle (`app.route("/api", workersApi({ runtime }))`). */
export * as WorkersApi from "./WorkersApi.js"

/** Builds the worker routes' sub-app (the same as `WorkersApi.make`). */
export { workersApi } from "./WorkersApi.js"

/** Antenna's job API (`/api/v2/jobs/…`) over the engine: `app.route("/api/v2", antennaApi({ runtime }))`. */
export * as AntennaApi from "./compat/antenna/AntennaApi.js"

/** Builds the Antenna sub-app (the same as `AntennaApi.make`). */
export { antennaApi } from "./compat/antenna/AntennaApi.js"

/** MCRIT's job queue API (`/jobs`, `/results`) over the engine: `app.route("/mcrit", mcritApi({ runtime }))`. */
export * as McritApi from "./compat/mcrit/McritApi.js"

/** Builds the MCRIT sub-app (the same as `McritApi.make`). */
export { mcritApi } from "./compat/mcrit/McritApi.js"

/** Modzy's job API (`/jobs`, `/jobs/history`, `/results`, `/models`) over the engine, per-source items. */
export * as ModzyApi from "./compat/modzy/ModzyApi.js"

/** Builds the Modzy sub-app (the same as `ModzyApi.make`): `app.route("/modzy/api", modzyApi({ runtime }))`. */
export { modzyApi } from "./compat/modzy/ModzyApi.js"

/** super.AI's job API (`/apps/{appId}/jobs`, `/jobs/{id}`, batches, bulk download) over the engine. */
export * as SuperaiApi from "./compat/superai/SuperaiApi.js"

/** Builds the super.AI sub-app (the same as `SuperaiApi.make`): `app.route("/superai/v1", superaiApi(...))`. */
export { superaiApi } from "./compat/superai/SuperaiApi.js"
