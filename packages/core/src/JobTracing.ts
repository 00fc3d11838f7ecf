/**
 * Spans of the engine and the worker, made through Effect's tracer: a host that provides a tracer (for example
 * `@effect/opentelemetry`'s `NodeSdk.layer`) gets them with no other wiring.
 *
 * - `jobloom.create` (producer) around every create, its context stored with each new job (`JobRow.traceContext`, a
 *   W3C `traceparent`);
 * - `jobloom.claim` per claim batch, `jobloom.settle` per settle batch;
 * - `jobloom.attempt` (consumer) per attempt, a child of the stored `jobloom.create` span and linked to it, so a job
 *   created by a request shows in that request's trace even when another process runs it; a handler's own spans
 *   nest under it;
 * - `jobloom.callback` (client) per delivery try, `jobloom.maintenance.<task>` per maintenance run.
 *
 * Spans are made only when the installed tracer is not Effect's built-in one: without a host tracer nobody reads
 * them, and the worker's per-job path costs what it did before (no span objects, ids or stack captures).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** The names of jobloom's spans. */
export const spanNames = {
  create: "jobloom.create",
  claim: "jobloom.claim",
  attempt: "jobloom.attempt",
  settle: "jobloom.settle",
  callback: "jobloom.callback",
  maintenance: (task: string) => `jobloom.maintenance.${task}`
} as const

/** The attribute keys jobloom's spans carry. */
export const attributes = {
  jobId: "jobloom.job.id",
  jobType: "jobloom.job.type",
  queue: "jobloom.job.queue",
  attempt: "jobloom.job.attempt",
  outcome: "jobloom.attempt.outcome",
  workerId: "jobloom.worker.id",
  count: "jobloom.batch.count",
  limit: "jobloom.batch.limit",
  callbackStatus: "jobloom.callback.status",
  link: "jobloom.link"
} as const

// Effect's own tracer, read once from the default services (a singleton there).
let builtIn: Tracer.Tracer | undefined

/** Whether `tracer` is a host's tracer, not Effect's built-in one whose spans nobody exports. */
export const isExporting = (tracer: Tracer.Tracer): boolean => tracer !== (builtIn ??= Effect.runSync(Effect.tracer))

/** Whether spans made now would reach a host's tracer. */
export const enabled: Effect.Effect<boolean> = Effect.tracerWith((tracer) => Effect.succeed(isExporting(tracer)))

// ---------------------------------------------------------------------------------------------------------------------
// trace context stored with a job
// ---------------------------------------------------------------------------------------------------------------------

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** A span's context as a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), the form stored with a job. */
export const format = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

/** The span a stored `traceparent` names, or undefined when there is none or it is malformed (never an error). */
export const parse = (text: string | null | undefined): Tracer.ExternalSpan | undefined => {
  if (text === null || text === undefined) return undefined
  const match = traceparentPattern.exec(text)
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined
  return Tracer.externalSpan({ traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 })
}

/** The current span's `traceparent` when a host tracer is installed, else null (nothing worth storing). */
export const currentContext: Effect.Effect<string | null> = Effect.tracerWith((tracer) =>
  isExporting(tracer)
    ? Effect.map(Effect.option(Effect.currentParentSpan), (span) => (Option.isSome(span) ? format(span.value) : null))
    : Effect.succeed(null)
)

/**
 * What a job's log line carries of the current span: ` trace_id=<id> span_id=<id>` (logfmt, so log pipelines can
 * link a line to its trace with one pattern), or "" when no host tracer is installed or no span is current.
 */
export const logSuffix: Effect.Effect<string> = Effect.tracerWith((tracer) =>
  isExporting(tracer)
    ? Effect.map(Effect.option(Effect.currentParentSpan), (span) =>
        Option.isSome(span) ? ` trace_id=${span.value.traceId} span_id=${span.value.spanId}` : ""
      )
    : Effect.succeed("")
)

// ---------------------------------------------------------------------------------------------------------------------
// spans around batches
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Runs `self` in a span named `name` when a host tracer is installed (else just runs it). `annotate` adds attributes
 * from the result. Stack traces are not captured: these spans are made on hot paths.
 */
export const traced = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  name: string,
  options: {
    readonly kind?: Tracer.SpanKind
    readonly attributes?: Record<string, unknown>
    readonly annotate?: (a: A) => Record<string, unknown>
  } = {}
): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) => {
    if (!isExporting(tracer)) return self
    const annotate = options.annotate
    return Effect.withSpan(
      annotate === undefined ? self : Effect.tap(self, (a) => Effect.annotateCurrentSpan(annotate(a))),
      name,
      { kind: options.kind ?? "internal", attributes: options.attributes ?? {}, captureStackTrace: false }
    )
  })

const countOf = (a: unknown): Record<string, unknown> =>
  Array.isArray(a) ? { [attributes.count]: a.length } : typeof a === "number" ? { [attributes.count]: a } : {}

/** A create of `count` jobs (one type and queue when all share them); new jobs store this span's context. */
export const create = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  info: { readonly count: number; readonly type?: string; readonly queue?: string }
): Effect.Effect<A, E, R> =>
  traced(self, spanNames.create, {
    kind: "producer",
    attributes: {
      [attributes.count]: info.count,
      ...(info.type === undefined ? {} : { [attributes.jobType]: info.type }),
      ...(info.queue === undefined ? {} : { [attributes.queue]: info.queue })
    }
  })

/** One claim of up to `limit` jobs by `workerId`; the span says how many it got. */
export const claim = <A extends ReadonlyArray<unknown>, E, R>(
  self: Effect.Effect<A, E, R>,
  info: { readonly workerId: string; readonly limit: number }
): Effect.Effect<A, E, R> =>
  traced(self, spanNames.claim, {
    kind: "client",
    attributes: { [attributes.workerId]: info.workerId, [attributes.limit]: info.limit },
    annotate: countOf
  })

/** One settle write of `count` attempts by `workerId`. */
export const settle = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  info: { readonly workerId: string; readonly count: number }
): Effect.Effect<A, E, R> =>
  traced(self, spanNames.settle, {
    kind: "client",
    attributes: { [attributes.workerId]: info.workerId, [attributes.count]: info.count }
  })

/** One try at delivering a job's callback; `annotate` reads the answer's status from the result. */
export const callback = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  info: { readonly jobId: string; readonly attempt: number },
  annotate?: (a: A) => Record<string, unknown>
): Effect.Effect<A, E, R> =>
  traced(self, spanNames.callback, {
    kind: "client",
    attributes: { [attributes.jobId]: info.jobId, [attributes.attempt]: info.attempt },
    ...(annotate === undefined ? {} : { annotate })
  })

/** One maintenance run (`rescue`, `expire`, `callbacks`, `prune`, …); the span says how many jobs it changed. */
export const maintenance = <A, E, R>(self: Effect.Effect<A, E, R>, task: string): Effect.Effect<A, E, R> =>
  traced(self, spanNames.maintenance(task), { annotate: countOf })

// ---------------------------------------------------------------------------------------------------------------------
// the attempt's span: opened at claim, the handler run under it, ended when the worker has decided the outcome
// ---------------------------------------------------------------------------------------------------------------------

/** What the attempt span needs of the claimed job. */
export interface AttemptInfo {
  readonly id: string
  readonly type: string
  readonly queue: string
  readonly attempt: number
  /** The stored `traceparent` of the create (`JobRow.traceContext`). */
  readonly traceContext?: string | null | undefined
}

/**
 * Opens the span of one attempt, or undefined when no host tracer is installed. Its parent is the span that created
 * the job (stored with it) and it links to that span too, for tools that show links rather than remote parents;
 * without a stored context it is a root span. `links` adds more (e.g. the claim batch).
 */
export const startAttempt = (
  job: AttemptInfo,
  options: { readonly workerId?: string; readonly links?: ReadonlyArray<Tracer.SpanLink> } = {}
): Effect.Effect<Tracer.Span | undefined> =>
  Effect.tracerWith((tracer) => {
    if (!isExporting(tracer)) return Effect.succeed(undefined)
    const creator = parse(job.traceContext)
    const links: Array<Tracer.SpanLink> = []
    if (creator !== undefined)
      links.push({ _tag: "SpanLink", span: creator, attributes: { [attributes.link]: "created" } })
    if (options.links !== undefined) links.push(...options.links)
    return Effect.makeSpan(spanNames.attempt, {
      kind: "consumer",
      ...(creator === undefined ? { root: true } : { parent: creator }),
      links,
      captureStackTrace: false,
      attributes: {
        [attributes.jobId]: job.id,
        [attributes.jobType]: job.type,
        [attributes.queue]: job.queue,
        [attributes.attempt]: job.attempt,
        ...(options.workerId === undefined ? {} : { [attributes.workerId]: options.workerId })
      }
    })
  })

/** Runs `self` (the handler) under the attempt's span, so the handler's own spans and log lines nest under it. */
export const underAttempt = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  span: Tracer.Span | undefined
): Effect.Effect<A, E, R> => (span === undefined ? self : Effect.withParentSpan(self, span))

/**
 * Ends the attempt's span with its outcome (`succeeded`, `retry`, `failed`, `timed_out`, `cancelled`, `released`,
 * `paused`, `lost`, …) and the handler's exit (a failure or interruption marks the span as an error). Synchronous, for the
 * worker's decision path; `clock` gives the end time on the same clock the span started on.
 */
export const endAttempt = (
  span: Tracer.Span | undefined,
  outcome: string,
  exit: Exit.Exit<unknown, unknown>,
  clock: Clock.Clock
): void => {
  if (span === undefined) return
  span.attribute(attributes.outcome, outcome)
  span.end(clock.unsafeCurrentTimeNanos(), exit)
}
