/**
 * jobloom core: the job model and state machine, job-type plugins, the engine, the worker, and the store port.
 *
 * @since 0.1.0
 */

// first: a clear error when a non-3 Effect is installed, before any module builds a Schema
import "./internal/effectVersion.js"

/** The job as clients see it, its Schemas, and conversion from store rows. */
export * as Job from "./Job.js"

/** Per-input items of a job: statuses, the public item, its Schemas. */
export * as JobItem from "./JobItem.js"

/** The engine's public errors. */
export * as JobError from "./JobError.js"

/** The state machine of DESIGN §3. */
export * as JobState from "./JobState.js"

/** The store port. */
export * as JobStore from "./JobStore.js"

/** A caller's scope: the jobs one caller may see at all. */
export * as JobScope from "./JobScope.js"

/** The in-memory store, the reference implementation of the port. */
export * as MemoryJobStore from "./MemoryJobStore.js"

/** Job-type plugins. */
export * as JobType from "./JobType.js"

/** The built-in `delay` job type. */
export * as Delay from "./Delay.js"

/** The engine service. */
export * as Jobs from "./Jobs.js"

/** The worker. */
export * as Worker from "./Worker.js"

/** Rescue of expired leases, deadline expiry and callback delivery, with or without a worker. */
export * as Maintenance from "./Maintenance.js"

/** Remote workers: claim, heartbeat, report and settle jobs for a worker in another process (over HTTP). */
export * as RemoteWorker from "./RemoteWorker.js"

/** The Promise facade for hosts that do not use Effect. */
export * as Jobloom from "./Jobloom.js"

/** Recurring jobs defined as data: a cron expression in a time zone, or an interval. */
export * as JobSchedule from "./JobSchedule.js"

/** The schedules service: define, list, pause and resume schedules, and fire their due ticks. */
export * as JobSchedules from "./JobSchedules.js"

/** Retention: the pruner of old terminal jobs, per status, in bounded batches. */
export * as JobRetention from "./JobRetention.js"

/** jobloom's metrics (Effect `Metric`s named `jobloom_*`) and the gauges read from the store. */
export * as JobMetrics from "./JobMetrics.js"

/** jobloom's spans through Effect's tracer, and the trace context stored with each job. */
export * as JobTracing from "./JobTracing.js"

/** The dependency rules stores apply at insert. */
export * as JobDependencies from "./JobDependencies.js"
