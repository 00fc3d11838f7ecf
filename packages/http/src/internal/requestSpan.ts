/**
 * A server span per request of the REST sub-app, when the runtime has a host tracer (`JobTracing.isExporting`): named
 * by the route (`POST /api/v1/jobs`), with the method, route and status as attributes (OpenTelemetry's HTTP semantic
 * conventions), and the child of the caller's span when the request carries a W3C `traceparent`. The engine calls a
 * handler makes (`Router.exec`) run under it, so a job created by the request stores a context of the caller's trace
 * and its attempts, on any worker, join that trace.
 *
 * Without a host tracer the middleware asks the runtime once, then only calls `next`.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { JobTracing } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Tracer from "effect/Tracer"
import type { Context, MiddlewareHandler } from "hono"
import { matchedRoutes } from "hono/route"
import type * as Runner from "./runner.js"

/** The attribute keys of the request span. */
export const attributes = {
  method: "http.request.method",
  route: "http.route",
  status: "http.response.status_code",
  path: "url.path"
} as const

// the request's span, for the engine calls made while the request's handlers run (across their awaits)
const current = new AsyncLocalStorage<Tracer.Span>()

/** The route that will answer: the last matched route that is not a middleware (`app.use`), if any. */
const routeOf = (c: Context): string | undefined => {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== "ALL") return routes[i]!.path
  return undefined
}

/** The middleware: opens the request's span, runs the rest of the request under it, ends it with the status. */
export const middleware = (runner: Runner.Runner): MiddlewareHandler => {
  let enabled: Promise<boolean> | undefined
  return async (c, next) => {
    enabled ??= runner.runExit(JobTracing.enabled).then((exit) => Exit.isSuccess(exit) && exit.value)
    if (!(await enabled)) return next()
    const method = c.req.method
    const route = routeOf(c)
    const parent = JobTracing.parse(c.req.header("traceparent"))
    let thrown: { readonly error: unknown } | undefined
    await runner.runExit(
      Effect.useSpan(
        route === undefined ? method : `${method} ${route}`,
        {
          kind: "server",
          captureStackTrace: false,
          ...(parent === undefined ? { root: true } : { parent }),
          attributes: {
            [attributes.method]: method,
            [attributes.path]: c.req.path,
            ...(route === undefined ? {} : { [attributes.route]: route })
          }
        },
        (span) =>
          Effect.flatMap(
            Effect.promise(() =>
              current.run(span, () =>
                next().catch((error: unknown) => {
                  thrown = { error }
                })
              )
            ),
            () => {
              const status = thrown === undefined ? c.res.status : 500
              span.attribute(attributes.status, status)
              // a server error marks the span as failed; a client's error is the client's
              return status >= 500 ? Effect.fail(`HTTP ${status}`) : Effect.void
            }
          )
      )
    )
    if (thrown !== undefined) throw thrown.error
  }
}

/** Runs `effect` under the current request's span, if the request has one. */
export const underRequest = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const span = current.getStore()
  return span === undefined ? effect : Effect.withParentSpan(effect, span)
}
