import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { check } from "../../scripts/checkDeps.ts"

const script = new URL("../../scripts/checkDeps.ts", import.meta.url).pathname
const repo = new URL("../..", import.meta.url).pathname

/** A small repository: `files` maps paths to contents. */
const tree = (files: Record<string, string>) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "velox-deps-"))
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    fs.writeFileSync(path.join(root, file), text)
  }
  return root
}

const manifest = (name: string, exports: Record<string, string | null>) => JSON.stringify({ name, exports })

const packages = {
  "packages/core/package.json": manifest("@velox/core", { ".": "./src/index.ts", "./unsafe": "./src/Unsafe.ts", "./internal/*": null }),
  "packages/market/package.json": manifest("@velox/market", { ".": "./src/index.ts" }),
  "packages/examples/package.json": manifest("@velox/examples", {})
}

const clean = {
  ...packages,
  "packages/core/src/index.ts": `import { Effect } from "effect"\nexport * as Stage from "./Stage.ts"\n// import * as fs from "node:fs" (a comment is not an import)\n`,
  "packages/core/src/Stage.ts": `import { Schema } from "effect"\nimport { run } from "./internal/kernel/loop.ts"\nexport const s = "getBuiltinModule is only a word in a string"\n`,
  "packages/core/src/internal/kernel/loop.ts": `import { ring } from "./ring.ts"\nimport type { Effect } from "effect"\nexport const run = () => ring\n`,
  "packages/core/src/internal/kernel/ring.ts": `export const ring = 1\n`,
  "packages/market/src/index.ts": `import { Stage } from "@velox/core"\nimport { book } from "./internal/kernel/book.ts"\n`,
  "packages/market/src/internal/kernel/book.ts": `import type { RecordLayout } from "@velox/core"\nimport { makeRing } from "@velox/core/unsafe"\nexport const book = 1\n`,
  "packages/examples/src/app.ts": `import { Pipeline } from "@velox/core"\nimport { helper } from "./helper.ts"\n`,
  "packages/examples/src/helper.ts": `export const helper = 1\n`,
  "bench/peer.ts": `import { makeRing } from "@velox/core/unsafe"\nimport { Bench } from "tinybench"\nimport { common } from "./common.ts"\n`,
  "bench/common.ts": `export const common = 1\n`
}

describe("the dependency check", () => {
  it("passes on this repository", () => {
    const run = spawnSync(process.execPath, [script, repo], { encoding: "utf8" })
    assert.strictEqual(run.status, 0, run.stderr)
    assert.include(run.stdout, "dependency check:")
  })

  it("passes a tree that keeps every rule (type-only imports of effect and @velox/core in kernels included)", () => {
    assert.deepStrictEqual(check(tree(clean)), [])
  })

  it("fails on each rule broken, naming the file, the line and the import", () => {
    const root = tree({
      ...clean,
      "packages/core/src/Files.ts": [
        `import * as fs from "node:fs"`,
        `import { join } from "path"`,
        `const os = process.getBuiltinModule("node:os")`,
        `export { Output } from "@velox/market"`,
        `import { x } from "../../market/src/index.ts"`,
        `const fs2 = (process as any)["getBuiltinModule"]("node:fs")`
      ].join("\n"),
      "packages/core/src/internal/kernel/hot.ts": [`import { Effect } from "effect"`, `import * as Stage from "../../Stage.ts"`].join("\n"),
      "packages/market/src/Peek.ts": [
        `import { run } from "../../core/src/internal/kernel/loop.ts"`,
        `import { host } from "@velox/core/internal/host"`
      ].join("\n"),
      "packages/examples/src/sneaky.ts": [`import { Counter } from "@velox/core/stages"`, `import { s } from "../../core/src/Stage.ts"`].join("\n"),
      "bench/sneaky.ts": `const worker = new URL("../packages/core/src/internal/kernel/ring.ts", import.meta.url)\n`
    })
    const found = check(root).map((v) => `${v.file}:${v.line} ${v.specifier}`)
    assert.sameMembers([...new Set(found)], [
      "packages/core/src/Files.ts:1 node:fs",
      "packages/core/src/Files.ts:2 path",
      "packages/core/src/Files.ts:3 getBuiltinModule",
      "packages/core/src/Files.ts:4 @velox/market",
      "packages/core/src/Files.ts:5 ../../market/src/index.ts",
      "packages/core/src/Files.ts:6 getBuiltinModule",
      "packages/core/src/internal/kernel/hot.ts:1 effect",
      "packages/core/src/internal/kernel/hot.ts:2 ../../Stage.ts",
      "packages/market/src/Peek.ts:1 ../../core/src/internal/kernel/loop.ts",
      "packages/market/src/Peek.ts:2 @velox/core/internal/host",
      "packages/examples/src/sneaky.ts:1 @velox/core/stages",
      "packages/examples/src/sneaky.ts:2 ../../core/src/Stage.ts",
      "bench/sneaky.ts:1 ../packages/core/src/internal/kernel/ring.ts"
    ])
    const run = spawnSync(process.execPath, [script, root], { encoding: "utf8" })
    assert.strictEqual(run.status, 1)
    assert.include(run.stderr, `packages/core/src/Files.ts:1: import "node:fs": @velox/core must not import Node modules`)
    assert.include(run.stderr, `packages/core/src/internal/kernel/hot.ts:1: import "effect": a kernel file must not import effect`)
    assert.include(run.stderr, `packages/market/src/Peek.ts:2: import "@velox/core/internal/host": imports the internals of @velox/core`)
    assert.include(run.stderr, `packages/examples/src/sneaky.ts:1: import "@velox/core/stages": an example must import only public entry points`)
  })
})
