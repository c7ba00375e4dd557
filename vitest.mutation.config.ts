import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * The test run of one mutation module (`npm run mutation`, scripts/mutation.ts): only the tests named in
 * VELOX_MUTATION_TESTS, one file at a time. The velox packages resolve to the sources beside this file,
 * so in Stryker's sandbox the tests load the mutated copies, not the originals node_modules links to.
 */
const packages = fileURLToPath(new URL("./packages/", import.meta.url))
/**
 * `@velox/core/stages` → packages/core/src/stages/index.ts: every "@velox/source" entry of the
 * packages' exports, read from their package.json so that a new entry needs no edit here.
 */
const entries = ["core", "node"].flatMap((name) => {
  const exports = JSON.parse(readFileSync(`${packages}${name}/package.json`, "utf8")).exports as Record<string, { "@velox/source"?: string } | null>
  return Object.entries(exports).flatMap(([path, conditions]) => {
    const source = conditions?.["@velox/source"]
    if (source === undefined) return []
    const specifier = `@velox/${name}${path.slice(1)}`.replace(/[/.]/g, (c) => `\\${c}`)
    return [{ find: new RegExp(`^${specifier}$`), replacement: `${packages}${name}/${source.slice(2)}` }]
  })
})

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
