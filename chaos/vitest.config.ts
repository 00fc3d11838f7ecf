import { defineConfig } from "vitest/config"

// The chaos suite runs on its own (`pnpm test:chaos`), never in `pnpm test`: real processes, real time, minutes.
export default defineConfig({
  test: {
    include: ["chaos/test/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    // one scenario at a time: each one loads the machine on purpose
    fileParallelism: false,
    maxWorkers: 1,
    minWorkers: 1
  }
})
