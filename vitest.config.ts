import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * The velox packages resolve to their sources in this repository (the exports condition
 * "@velox/source"; a published install gets dist/): for the test files (Vite's resolver), for the
 * test processes and their worker threads (execArgv), and for the programs tests start (NODE_OPTIONS,
 * which child processes inherit).
 */
const SOURCE = "--conditions=@velox/source"

/**
 * Node's compile cache, for every process the tests start (vitest's workers, the programs, their
 * worker threads): each loads `effect` and the velox sources again, and the cache keeps their
 * stripped and compiled code, keyed by content (an edited file is compiled anew). It takes about a
 * third off each start.
 */
const COMPILE_CACHE = process.env["NODE_COMPILE_CACHE"] ??
  fileURLToPath(new URL("node_modules/.cache/node-compile-cache", import.meta.url))

const NATS = ["packages/nats/test/**/*.test.ts"]

export default defineConfig({
  resolve: { conditions: ["@velox/source", "module", "node", "development|production"] },
  ssr: { resolve: { conditions: ["@velox/source", "module", "node", "development|production"] } },
  test: {
    execArgv: [SOURCE],
    env: {
      NODE_OPTIONS: [process.env["NODE_OPTIONS"], SOURCE].filter((o) => o !== undefined && o !== "").join(" "),
      NODE_COMPILE_CACHE: COMPILE_CACHE
    },
    projects: [
      // In-process tests: one worker runs them all (isolate: false), so `effect` and the sources are
      // loaded once, not once per file (two thirds of their CPU time). They share no state: no
      // module-level mutable state, no mocks, no changes to process.env.
      {
        extends: true,
        test: { name: "packages", include: ["packages/*/test/**/*.test.ts"], exclude: NATS, testTimeout: 30_000, isolate: false }
      },
      // Each starts its own nats-server.
      { extends: true, test: { name: "nats", include: NATS, testTimeout: 30_000 } },
      {
        extends: true,
        test: { name: "integration", include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 }
      }
    ]
  }
})
