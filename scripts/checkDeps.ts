/**
 * The dependency check (`npm run check:deps`, run by `.ci/run`): reads every import of the sources
 * and fails, naming the file, the line and the import, when
 *
 * 1. `@velox/core` (packages/core/src) imports a `node:` module (or a bare Node builtin), calls
 *    `getBuiltinModule`, or imports another velox package;
 * 2. a kernel file (any package's `src/internal/kernel`) imports `effect` (or `@effect/*`), or imports
 *    for its value a module that is not a kernel (which may load effect). Type-only imports are erased
 *    and load nothing: a market kernel's `import type { RecordLayout } from "@velox/core"` is fine, and
 *    so are value imports of the effect-free kernel entry points `@velox/core/unsafe` and
 *    `@velox/market/unsafe`;
 * 3. a package (or a cross-package test in `test/`) imports another package's `internal/`;
 * 4. an example (packages/examples) or a benchmark (bench/) imports anything of velox but a public
 *    entry point of a package (an `exports` key of its package.json; the benchmarks' peer loops use
 *    the `unsafe` entry points).
 *
 *   node scripts/checkDeps.ts [root]      (root: the repository, by default the current directory)
 */
import { builtinModules } from "node:module"
import * as fs from "node:fs"
import * as path from "node:path"

interface Import {
  readonly specifier: string
  readonly line: number
  /** Erased at run time: `import type`, `export type`, or every name marked `type`. */
  readonly typeOnly: boolean
}

export interface Violation {
  readonly file: string
  readonly line: number
  readonly specifier: string
  readonly rule: string
}

/**
 * The source with comments blanked out, line breaks kept so line numbers hold; with `blankStrings`,
 * the contents of strings too (a word in a message is not a call).
 */
const withoutComments = (source: string, blankStrings = false): string => {
  let out = ""
  let i = 0
  while (i < source.length) {
    const c = source[i]!
    const next = source[i + 1]
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2)
      const stop = end === -1 ? source.length : end + 2
      out += source.slice(i, stop).replace(/[^\n]/g, " ")
      i = stop
    } else if (c === "\"" || c === "'" || c === "`") {
      let j = i + 1
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1
      const text = source.slice(i, j + 1)
      // A bracket access by name (`process["getBuiltinModule"]`) is a call all the same: keep it.
      out += blankStrings && !/^.getBuiltinModule.$/.test(text) ? c + text.slice(1, -1).replace(/[^\n]/g, " ") + c : text
      i = j + 1
    } else {
      out += c
      i++
    }
  }
  return out
}

const lineAt = (source: string, index: number): number => source.slice(0, index).split("\n").length

/** Static imports and re-exports, dynamic `import("…")`, and `new URL("…", import.meta.url)` (worker scripts). */
export const importsOf = (source: string): { readonly imports: ReadonlyArray<Import>; readonly builtinLoads: ReadonlyArray<number> } => {
  const code = withoutComments(source)
  const imports: Array<Import> = []
  const statement = /(?:^|[;\n}])\s*(import|export)(\s+type)?\s+(?:([^"';]*?)\s+from\s+)?["']([^"']+)["']/g
  for (let m = statement.exec(code); m !== null; m = statement.exec(code)) {
    const clause = m[3] ?? ""
    if (m[1] === "export" && m[3] === undefined) continue
    const names = /\{([^}]*)\}/.exec(clause)?.[1]
    const allTyped = names !== undefined && !/^[\s,]*$/.test(names) && clause.replace(/\{[^}]*\}/, "").trim() === "" &&
      names.split(",").map((n) => n.trim()).filter((n) => n !== "").every((n) => n.startsWith("type "))
    imports.push({ specifier: m[4]!, line: lineAt(code, m.index + m[0].indexOf(m[1]!)), typeOnly: m[2] !== undefined || allTyped })
  }
  const dynamic = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g
  for (let m = dynamic.exec(code); m !== null; m = dynamic.exec(code)) {
    imports.push({ specifier: m[1]!, line: lineAt(code, m.index), typeOnly: false })
  }
  const url = /new\s+URL\s*\(\s*["'`](\.{1,2}\/[^"'`$]+)["'`]\s*,\s*import\.meta\.url\s*\)/g
  for (let m = url.exec(code); m !== null; m = url.exec(code)) {
    imports.push({ specifier: m[1]!, line: lineAt(code, m.index), typeOnly: false })
  }
  const builtinLoads: Array<number> = []
  const bare = withoutComments(source, true)
  const getBuiltin = /\bgetBuiltinModule\b/g
  for (let m = getBuiltin.exec(bare); m !== null; m = getBuiltin.exec(bare)) builtinLoads.push(lineAt(bare, m.index))
  return { imports, builtinLoads }
}

const walk = (dir: string): Array<string> => {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "dist" || e.name.startsWith(".")) return []
    const p = path.join(dir, e.name)
    return e.isDirectory() ? walk(p) : /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : []
  })
}

const NODE_BUILTINS = new Set(builtinModules)
const isNodeBuiltin = (s: string) => s.startsWith("node:") || NODE_BUILTINS.has(s) || NODE_BUILTINS.has(s.split("/")[0]!)
const isEffect = (s: string) => s === "effect" || s.startsWith("effect/") || s.startsWith("@effect/")
/** Entry points with no `effect` in them, which a kernel may import for their value. */
const KERNEL_ENTRY_POINTS = new Set(["@velox/core/unsafe", "@velox/market/unsafe"])

/** Checks the tree at `root`; returns every violation, with paths relative to `root`. */
export const check = (root: string): ReadonlyArray<Violation> => {
  const packagesDir = path.join(root, "packages")
  const packages = fs.existsSync(packagesDir) ? fs.readdirSync(packagesDir).filter((d) => fs.existsSync(path.join(packagesDir, d, "package.json"))) : []
  // Public entry points by package name: every exports key whose target is not null.
  const entryPoints = new Map<string, Set<string>>()
  for (const dir of packages) {
    const manifest = JSON.parse(fs.readFileSync(path.join(packagesDir, dir, "package.json"), "utf8")) as {
      name?: string
      exports?: Record<string, string | null> | string
    }
    if (manifest.name === undefined) continue
    const exports = typeof manifest.exports === "string" ? { ".": manifest.exports } : manifest.exports ?? { ".": "./index.js" }
    const keys = Object.entries(exports).filter(([k, v]) => v !== null && !k.includes("*")).map(([k]) => k)
    entryPoints.set(manifest.name, new Set(keys.map((k) => (k === "." ? manifest.name! : `${manifest.name}/${k.slice(2)}`))))
  }
  /** `packages/<pkg>/…` → pkg, for a path relative to root. */
  const packageOf = (rel: string): string | undefined => (rel.startsWith("packages/") ? rel.split("/")[1] : undefined)
  const isInternal = (rel: string) => /^packages\/[^/]+\/src\/(?:.*\/)?internal\//.test(rel)
  const isKernel = (rel: string) => /^packages\/[^/]+\/src\/internal\/kernel\//.test(rel)
  const veloxName = (s: string) => /^@velox\/([^/]+)/.exec(s)?.[1]

  const violations: Array<Violation> = []
  const files = [...packages.flatMap((p) => walk(path.join(packagesDir, p))), ...walk(path.join(root, "bench")), ...walk(path.join(root, "test"))]
  for (const abs of files) {
    const rel = path.relative(root, abs).split(path.sep).join("/")
    const pkg = packageOf(rel)
    const inCoreSrc = rel.startsWith("packages/core/src/")
    const consumer = rel.startsWith("packages/examples/") ? "an example" : rel.startsWith("bench/") ? "a benchmark" : undefined
    const { builtinLoads, imports } = importsOf(fs.readFileSync(abs, "utf8"))
    const flag = (line: number, specifier: string, rule: string) => violations.push({ file: rel, line, specifier, rule })
    if (inCoreSrc) for (const line of builtinLoads) flag(line, "getBuiltinModule", "@velox/core must not load Node modules (getBuiltinModule)")
    for (const im of imports) {
      const s = im.specifier
      const target = s.startsWith(".") ? path.relative(root, path.resolve(path.dirname(abs), s)).split(path.sep).join("/") : undefined
      const velox = veloxName(s)
      // 1. core: effect only.
      if (inCoreSrc) {
        if (isNodeBuiltin(s)) flag(im.line, s, "@velox/core must not import Node modules")
        if (velox !== undefined && velox !== "core") flag(im.line, s, "@velox/core must not import another velox package")
        if (target !== undefined && packageOf(target) !== undefined && packageOf(target) !== "core") {
          flag(im.line, s, "@velox/core must not import another velox package")
        }
      }
      // 2. kernels: no effect, and no value import of what may load it.
      if (isKernel(rel) && !im.typeOnly) {
        if (isEffect(s)) flag(im.line, s, "a kernel file must not import effect")
        else if (!(target !== undefined && isKernel(target)) && !KERNEL_ENTRY_POINTS.has(s) && !isNodeBuiltin(s)) {
          flag(im.line, s, "a kernel file may import (for its value) only kernel files and the unsafe entry points; a type-only import is fine")
        }
      }
      // 3. another package's internals.
      const internalOf = target !== undefined && isInternal(target) ? packageOf(target) : velox !== undefined && /^@velox\/[^/]+\/internal(\/|$)/.test(s) ? velox : undefined
      if (internalOf !== undefined && internalOf !== pkg) flag(im.line, s, `imports the internals of @velox/${internalOf}`)
      // 4. examples and benchmarks: public entry points only.
      if (consumer !== undefined) {
        if (velox !== undefined && !(entryPoints.get(`@velox/${velox}`)?.has(s) ?? false)) {
          flag(im.line, s, `${consumer} must import only public entry points (${[...(entryPoints.get(`@velox/${velox}`) ?? [])].join(", ")})`)
        }
        const home = consumer === "an example" ? "packages/examples/" : "bench/"
        if (target !== undefined && !target.startsWith(home)) flag(im.line, s, `${consumer} must import velox through its public entry points, not by path`)
      }
    }
  }
  return violations
}

if (import.meta.main) {
  const root = path.resolve(process.argv[2] ?? ".")
  const violations = check(root)
  for (const v of violations) console.error(`${v.file}:${v.line}: import "${v.specifier}": ${v.rule}`)
  if (violations.length > 0) {
    console.error(`dependency check: ${violations.length} violation${violations.length === 1 ? "" : "s"}`)
    process.exit(1)
  }
  console.log("dependency check: core imports effect only, kernels no effect, no package reaches into another's internals, examples and benchmarks use public entry points")
}
