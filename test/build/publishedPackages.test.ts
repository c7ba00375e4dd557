import { assert, describe, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

const root = new URL("../../", import.meta.url).pathname
const consumer = new URL("../fixtures/published/consumer.ts", import.meta.url).pathname

/** Every exports entry of the published packages: `[specifier, { "@velox/source", types, default }]`. */
const entries = ["core", "market", "node"].flatMap((dir) => {
  const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as {
    name: string
    exports: Record<string, Record<string, string> | null>
    files: Array<string>
  }
  assert.includeMembers(pkg.files, ["dist"], `${pkg.name} publishes dist/`)
  // A null entry closes a path (`"./internal/*": null`): nothing to serve.
  return Object.entries(pkg.exports).flatMap(([path, conditions]) => conditions === null ? [] : [{
    specifier: path === "." ? pkg.name : `${pkg.name}/${path.slice(2)}`,
    dir: join(root, "packages", dir),
    conditions
  }])
})

/** The environment of a published install: no "@velox/source" condition. */
const installedEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  env["NODE_OPTIONS"] = (env["NODE_OPTIONS"] ?? "").replace(/--conditions=@velox\/source/g, "").trim()
  return env
}

/**
 * The build and tsc take tens of seconds of CPU each; beside other test files and CPU hogs they take
 * minutes: a generous guard against a hang, not a timing assertion.
 */
const GUARD_MS = 300_000

describe("the packages as published (npm run build, then dist/)", () => {
  it("build; every entry point serves dist/ with its declarations; a program runs and type-checks on them", { timeout: 3 * GUARD_MS }, async () => {
    const build = await runProgram("npm", ["run", "build"], { cwd: root, timeoutMs: GUARD_MS })
    assert.strictEqual(build.code, 0, describeRun(build))

    for (const { conditions, dir, specifier } of entries) {
      assert.deepStrictEqual(Object.keys(conditions), ["@velox/source", "types", "default"], specifier)
      assert.match(conditions["@velox/source"]!, /^\.\/src\/.*\.ts$/, specifier)
      for (const file of [conditions["types"]!, conditions["default"]!]) {
        assert.match(file, /^\.\/dist\//, specifier)
        assert.isTrue(existsSync(join(dir, file)), `${specifier}: ${file} was not built`)
      }
    }

    const env = installedEnv()
    const run = await runProgram(process.execPath, [consumer, ...entries.map((e) => e.specifier)], { env, cwd: root, timeoutMs: GUARD_MS })
    assert.strictEqual(run.code, 0, describeRun(run))
    for (const { specifier } of entries) assert.match(run.stdout, new RegExp(`^${specifier} → file://.*/dist/`, "m"))
    assert.include(run.stdout, "ledger: balanced", describeRun(run))

    const tsc = await runProgram(join(root, "node_modules", ".bin", "tsc"), ["-p", "test/fixtures/published/tsconfig.json"], { env, cwd: root, timeoutMs: GUARD_MS })
    assert.strictEqual(tsc.code, 0, describeRun(tsc))
  })
})
