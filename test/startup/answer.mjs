// Start-up time: runs a server command with PORT set to a free port and exits once it answers HTTP
// (GET /api/job-types), killing it. Time the whole thing from outside, e.g.
//   farm-bench -n 10 -- node test/startup/answer.mjs node packages/cli/dist/bin.js serve
//   farm-bench -n 10 -- node test/startup/answer.mjs pnpm start
import { spawn } from "node:child_process"
import * as Net from "node:net"

const port = await new Promise((resolve) => {
  const server = Net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address()
    server.close(() => resolve(port))
  })
})
const [command, ...args] = process.argv.slice(2)
const child = spawn(command, args, {
  env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" },
  stdio: "ignore",
  detached: true
})
const started = performance.now()
const stop = (code) => {
  try {
    process.kill(-child.pid, "SIGKILL")
  } catch {}
  process.exit(code)
}
child.once("exit", (code) => {
  console.error(`${command} exited ${code} before answering`)
  stop(1)
})
setTimeout(() => stop(1), 30_000)
for (;;) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/job-types`)
    if (response.ok) break
  } catch {}
  await new Promise((resolve) => setTimeout(resolve, 10))
}
console.log(`answered after ${Math.round(performance.now() - started)} ms`)
stop(0)
