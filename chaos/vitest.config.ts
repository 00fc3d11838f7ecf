import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// The chaos suite runs on its own (`pnpm test:chaos`), never in `pnpm test`: real processes, real time, minutes.
export default defineConfig({
  resolve: {
    // the packages' sources, as in the root config (their exports point at a dist/ a clean clone lacks)
    alias: [
      { find: /^@jobloom\/core$/, replacement: source("../packages/core/src/index.ts") },
      { find: /^@jobloom\/store-sqlite$/, replacement: source("../packages/store-sqlite/src/index.ts") },
      { find: /^@jobloom\/store-postgres$/, replacement: source("../packages/store-postgres/src/index.ts") }
    ]
  },
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
