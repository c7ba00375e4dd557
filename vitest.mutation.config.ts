import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * The test run of one mutation module (`npm run mutation`, scripts/mutation.ts): only the tests named in
 * VELOX_MUTATION_TESTS, one file at a time. The velox packages resolve to the sources beside this file,
 * so in Stryker's sandbox the tests load the mutated copies, not the originals node_modules links to.
 */
const packages = fileURLToPath(new URL("./packages/", import.meta.url))
/** `@velox/core/stages` → packages/core/src/stages/index.ts: the "@velox/source" entries of core's and node's exports. */
const entry = (specifier: string, file: string) => ({ find: new RegExp(`^${specifier}$`), replacement: `${packages}${file}` })
const entries = [
  entry("@velox/core", "core/src/index.ts"),
  entry("@velox/core/stages", "core/src/stages/index.ts"),
  entry("@velox/core/testing", "core/src/testing/index.ts"),
  entry("@velox/core/platform", "core/src/Platform.ts"),
  entry("@velox/core/unsafe", "core/src/Unsafe.ts"),
  entry("@velox/core/StageHost", "core/src/StageHost.ts"),
  entry("@velox/node", "node/src/index.ts")
]

export default defineConfig({
  resolve: {
    conditions: ["@velox/source", "module", "node", "development|production"],
    alias: entries
  },
  test: {
    include: (process.env["VELOX_MUTATION_TESTS"] ?? "").split(",").filter((t) => t !== ""),
    execArgv: ["--conditions=@velox/source"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
