/**
 * A Node HTTP server for a fetch handler (a Hono app), as a scoped resource: listening when acquired, closed when
 * its scope closes.
 */
import { createAdaptorServer } from "@hono/node-server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** The server could not listen (the port is taken, the host does not exist). */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  host: Schema.optional(Schema.String),
  port: Schema.Number,
  message: Schema.String
}) {}

/** Options of {@link serve}. */
export interface ServeOptions {
  readonly fetch: (request: Request) => Response | Promise<Response>
  /** 0 picks a free port. */
  readonly port: number
  /** Absent: every interface (IPv6 and IPv4 where the machine has IPv6, else IPv4). */
  readonly host?: string | undefined
  /** Open connections (SSE streams) get this long to end on close before they are cut. Default 1 s. */
  readonly closeTimeout?: Duration.DurationInput
}

/** Listens until the scope closes; returns the address actually bound. */
export const serve = (options: ServeOptions): Effect.Effect<AddressInfo, ListenError, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ readonly server: Http.Server; readonly address: AddressInfo }, ListenError>((resume) => {
        const server = createAdaptorServer({ fetch: options.fetch }) as Http.Server
        server.once("error", (error) =>
          resume(
            Effect.fail(
              new ListenError({
                ...(options.host === undefined ? {} : { host: options.host }),
                port: options.port,
                message: error.message
              })
            )
          )
        )
        server.listen({ port: options.port, ...(options.host === undefined ? {} : { host: options.host }) }, () =>
          resume(Effect.succeed({ server, address: server.address() as AddressInfo }))
        )
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
        }).pipe(
          // long-lived responses (SSE) would hold `close` open forever: cut them after a short wait
          Effect.timeoutTo({
            duration: options.closeTimeout ?? Duration.seconds(1),
            onSuccess: () => Effect.void,
            onTimeout: () => Effect.sync(() => server.closeAllConnections())
          }),
          Effect.flatten
        )
    ),
    ({ address }) => address
  )
