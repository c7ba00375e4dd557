import { defineConfig } from "vitest/config"

/**
 * The velox packages resolve to their sources in this repository (the exports condition
 * "@velox/source"; a published install gets dist/): for the test files (Vite's resolver), for the
 * test processes and their worker threads (execArgv), and for the programs tests start (NODE_OPTIONS,
 * which child processes inherit).
 */
const SOURCE = "--conditions=@velox/source"

export default defineConfig({
  resolve: { conditions: ["@velox/source", "module", "node", "development|production"] },
  ssr: { resolve: { conditions: ["@velox/source", "module", "node", "development|production"] } },
  test: {
    execArgv: [SOURCE],
    env: { NODE_OPTIONS: [process.env["NODE_OPTIONS"], SOURCE].filter((o) => o !== undefined && o !== "").join(" ") },
    projects: [
      { extends: true, test: { name: "packages", include: ["packages/*/test/**/*.test.ts"], testTimeout: 30_000 } },
      {
        extends: true,
        test: { name: "integration", include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 }
      }
    ]
  }
})
