import { describe, expect, it } from "@effect/vitest"
import { start } from "./ServerProcess.js"

describe("a quickstart that cannot start", () => {
  it("prints the store's error as one line and exits 1", async () => {
    const server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unreachable"
    })
    expect(await server.exited).toBe(1)
    const lines = server.output().trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^jobloom: .*ECONNREFUSED 127\.0\.0\.1:1/)
  }, 60_000)
})
