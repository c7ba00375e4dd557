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

/**
 * The test files that start programs, servers or a browser (the NATS adapter's tests, each with its
 * own nats-server, included) and spend most of their time waiting on them: three run side by side.
 * A new test file that starts a program, a server or a browser belongs here; any other runs in-process.
 */
const PROGRAMS = [
  "packages/nats/test/**/*.test.ts",
  "test/build/**/*.test.ts",
  "test/engine/engineJournal.test.ts",
  "test/engine/engineProgram.test.ts",
  "test/examples/{l2Replay,mqttFeed,natsCluster,programs,tickServer}.test.ts",
  "test/guarantees/exitCodes.test.ts",
  "test/journal/{crashSafety,fullDisk,journalCommand}.test.ts",
  "test/mqtt/**/*.test.ts",
  "test/node/NodeFileSink.test.ts",
  "test/ops/**/*.test.ts",
  "test/scripts/**/*.test.ts",
  "test/setup/**/*.test.ts",
  "test/signals/**/*.test.ts"
]

/**
 * The in-process tests run in two vitest workers that each run file after file (isolate: false), so
 * `effect` and the sources are loaded once per worker, not once per file (two thirds of their CPU
 * time). They share no state: no module-level mutable state, no mocks, no changes to process.env.
 */
const IN_PROCESS = { isolate: false, maxWorkers: 2, sequence: { groupOrder: 1 } }

export default defineConfig({
  resolve: { conditions: ["@velox/source", "module", "node", "development|production"] },
  ssr: { resolve: { conditions: ["@velox/source", "module", "node", "development|production"] } },
  test: {
    execArgv: [SOURCE],
    env: {
      NODE_OPTIONS: [process.env["NODE_OPTIONS"], SOURCE].filter((o) => o !== undefined && o !== "").join(" "),
      NODE_COMPILE_CACHE: COMPILE_CACHE
    },
    // Vitest runs one project group after another, each with its own number of workers; by default
    // one worker on 2 cores (cores - 1), which left one core idle while a file waited on a child.
    projects: [
      {
        extends: true,
        test: {
          name: "programs",
          include: PROGRAMS,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          maxWorkers: 3,
          sequence: { groupOrder: 0 }
        }
      },
      {
        extends: true,
        test: { name: "packages", include: ["packages/*/test/**/*.test.ts"], exclude: PROGRAMS, testTimeout: 30_000, ...IN_PROCESS }
      },
      {
        extends: true,
        test: { name: "integration", include: ["test/**/*.test.ts"], exclude: PROGRAMS, testTimeout: 120_000, hookTimeout: 60_000, ...IN_PROCESS }
      }
    ]
  }
})
