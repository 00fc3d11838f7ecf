/**
 * The baseline of the fair-service bench (`--server bare`): a plain `node:http` server that reads and parses the JSON
 * body and answers 201, with no Hono, no Effect and no store. Its tail under the same load is the machine's and
 * Node's own (connection accept and socket reads while the event loop is busy), which no request handler can remove.
 */
import http from "node:http"

const server = http.createServer((request, response) => {
  let body = ""
  request.setEncoding("utf8")
  request.on("data", (chunk: string) => (body += chunk))
  request.on("end", () => {
    const job = JSON.parse(body) as Record<string, unknown>
    response.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", ...job }))
  })
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`)
})
process.on("SIGTERM", () => {
  process.stdout.write("stats {}\n")
  server.close()
  process.exit(0)
})
