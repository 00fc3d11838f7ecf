/**
 * jobloom over HTTP: a Hono sub-app with the REST surface, OpenAPI document, problem+json errors and live updates.
 * Each module is a namespace with a `make`: `app.route("/api/v1", JobsApi.make({ runtime }))`.
 *
 * @since 0.1.0
 */

// first: core checks the installed Effect version before this package builds any Schema
import "@jobloom/core"

/** The REST sub-app with its docs and dashboard: `app.route("/api/v1", JobsApi.make({ runtime }))`. */
export * as JobsApi from "./JobsApi.js"

/** The dashboard page, served at `{prefix}/dashboard` by the REST sub-app or on a path of its own. */
export * as Dashboard from "./dashboard/Dashboard.js"

/** Errors as `application/problem+json`, mapped from the engine's tagged errors. */
export * as Problem from "./Problem.js"

/** Remote workers over HTTP: claim, heartbeat, report and settle (`app.route("/api", WorkersApi.make({ runtime }))`). */
export * as WorkersApi from "./WorkersApi.js"

/** Antenna's job API (`/api/v2/jobs/…`) over the engine: `app.route("/api/v2", AntennaApi.make({ runtime }))`. */
export * as AntennaApi from "./compat/antenna/AntennaApi.js"

/** MCRIT's job queue API (`/jobs`, `/results`) over the engine: `app.route("/mcrit", McritApi.make({ runtime }))`. */
export * as McritApi from "./compat/mcrit/McritApi.js"

/** Modzy's job API (`/jobs`, `/jobs/history`, `/results`, `/models`): `app.route("/modzy/api", ModzyApi.make(…))`. */
export * as ModzyApi from "./compat/modzy/ModzyApi.js"

/** super.AI's job API (`/apps/{appId}/jobs`, `/jobs/{id}`, batches, bulk download): `SuperaiApi.make(…)`. */
export * as SuperaiApi from "./compat/superai/SuperaiApi.js"

/** Liveness and readiness probes: `app.get("/health", Health.health())`, `app.get("/ready", Health.ready(...))`. */
export * as Health from "./Health.js"

/** jobloom's metrics as Prometheus text: `app.get("/metrics", Metrics.metrics({ runtime }))`. */
export * as Metrics from "./Metrics.js"
