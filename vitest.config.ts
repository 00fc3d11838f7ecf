import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // tests run on the packages' sources (their `exports` point at the built dist/, which a clean clone lacks)
    alias: [
      { find: /^@jobloom\/core\/testing$/, replacement: source("./packages/core/src/testing/index.ts") },
      { find: /^@jobloom\/core$/, replacement: source("./packages/core/src/index.ts") },
      { find: /^@jobloom\/store-sqlite$/, replacement: source("./packages/store-sqlite/src/index.ts") },
      { find: /^@jobloom\/store-postgres$/, replacement: source("./packages/store-postgres/src/index.ts") },
      { find: /^@jobloom\/http$/, replacement: source("./packages/http/src/index.ts") }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // child-process and database tests share two cores: keep file parallelism modest
    maxWorkers: 2,
    minWorkers: 1
  }
})
