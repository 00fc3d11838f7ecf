// A TCP proxy in front of PostgreSQL that a test can stop and start: "the database is down" without touching the
// machine's server. Stopping closes the listener and cuts every open connection, as a crashed server would.
import * as Net from "node:net"

/** A stoppable proxy on a loopback port. */
export interface TcpProxy {
  readonly port: number
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  readonly close: () => Promise<void>
}

/** Starts a proxy from a free loopback port to `target`. */
export const tcpProxy = async (target: { readonly host: string; readonly port: number }): Promise<TcpProxy> => {
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const upstream = Net.connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      // a cut connection errors on both sides; the other side's close is the signal that matters
      socket.on("error", () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject)
        resolve()
      })
    })
  await listen(0)
  const port = (server.address() as Net.AddressInfo).port
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const socket of sockets) socket.destroy()
    })
  return { port, stop, start: () => listen(port), close: () => (server.listening ? stop() : Promise.resolve()) }
}
