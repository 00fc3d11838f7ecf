import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // child-process and database tests share two cores: keep file parallelism modest
    maxWorkers: 2,
    minWorkers: 1
  }
})
