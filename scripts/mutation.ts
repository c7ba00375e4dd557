/**
 * Mutation testing (`npm run mutation`, not in CI): StrykerJS mutates one module at a time and runs
 * only the fast tests that guard it (vitest.mutation.config.ts), one process, one test file at a time —
 * the machine is shared. Prints each module's score and every mutant that survived, and writes the
 * scores to bench/results/mutation.json (`mutation/<module>`, unit "%").
 *
 *   npm run mutation                          every module
 *   npm run mutation -- --module ledger       one module (repeat the flag for more)
 *   npm run mutation -- --help
 *
 * Code in worker threads is out of Stryker's sight (a mutant is switched on in the test process only):
 * the kernel runner's crash accounting is mutated through loops placed in fibers, which run the same
 * runner on the main thread; what only a killed thread does (the supervisor's reconciliation of a dead
 * host) is guarded by the deliberate breaks listed in TESTING.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { Stryker } from "@stryker-mutator/core"
import type { LogLevel, MutantResult } from "@stryker-mutator/api/core"
import type { CaseResult as Row } from "../bench/harness.ts"

interface Module {
  readonly name: string
  readonly what: string
  /** Files or line ranges (`file:from-to`) to mutate. */
  readonly mutate: ReadonlyArray<string>
  readonly tests: ReadonlyArray<string>
}

export const MODULES: ReadonlyArray<Module> = [
  {
    name: "ledger",
    what: "the conservation ledger (Ledger.make, abandoned)",
    mutate: ["packages/core/src/Ledger.ts:65-167"],
    tests: ["packages/core/test/Ledger.test.ts"]
  },
  {
    name: "supervision",
    what: "restart, stop and escalate policies, the restart window and budget, the backoff defaults",
    mutate: ["packages/core/src/internal/supervisor.ts:48-79", "packages/core/src/internal/defaults.ts:16-36"],
    tests: ["packages/core/test/supervisor.test.ts"]
  },
  {
    name: "crash-accounting",
    what: "the stage runner's accounting of a crashed pass (redelivered, lost, dup, dead letters) and the early publishes it takes from the ring emitter (through a fiber's private batch)",
    mutate: ["packages/core/src/internal/kernel/stageRunner.ts:674-697", "packages/core/src/internal/kernel/emitters.ts:391-397", "packages/core/src/internal/kernel/emitters.ts:565-568"],
    // The loops in fibers: the same runner in the test process, where a mutant is switched on.
    tests: ["test/guarantees/crashAccountingInProcess.test.ts"]
  },
  {
    name: "health",
    what: "readiness and status from a snapshot",
    mutate: ["packages/core/src/internal/health.ts"],
    tests: ["packages/core/test/health.test.ts"]
  }
]


const scoreOf = (results: ReadonlyArray<MutantResult>) => {
  const count = (...statuses: ReadonlyArray<string>) => results.filter((r) => statuses.includes(r.status)).length
  const killed = count("Killed", "Timeout")
  const survived = count("Survived")
  const noCoverage = count("NoCoverage")
  const valid = killed + survived + noCoverage
  return { killed, survived, noCoverage, errors: count("CompileError", "RuntimeError"), score: valid === 0 ? 0 : (100 * killed) / valid }
}

const runModule = async (m: Module) => {
  process.env["VELOX_MUTATION_TESTS"] = m.tests.join(",")
  const stryker = new Stryker({
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    vitest: { configFile: "vitest.mutation.config.ts", related: false },
    mutate: [...m.mutate],
    concurrency: 1,
    coverageAnalysis: "perTest",
    reporters: ["progress"],
    // A mutant that loops (the supervisor's `for (;;)`) is a kill; waiting long for it only costs time.
    timeoutMS: 10_000,
    tempDirName: ".stryker-tmp",
    ignorePatterns: ["bench/results", "coverage", "dist", ".stryker-tmp"],
    cleanTempDir: true,
    // Stryker rewrites the tsconfig it is given through TypeScript's JS API, which TypeScript 7 no longer
    // has; vitest strips types itself, so no tsconfig is given.
    tsconfigFile: "no-tsconfig-for-stryker.json",
    logLevel: "warn" as LogLevel
  })
  return await stryker.runMutationTest()
}

const main = async () => {
  const args = process.argv.slice(2)
  if (args.includes("--help")) {
    process.stdout.write(
      "npm run mutation [-- --module NAME ...]\n\nMutation testing with StrykerJS, module by module; scores to bench/results/mutation.json.\n\nModules:\n" +
        MODULES.map((m) => `  ${m.name.padEnd(18)} ${m.what}\n`).join("")
    )
    return
  }
  const wanted = args.flatMap((a, i) => (args[i - 1] === "--module" ? [a] : []))
  const unknown = wanted.filter((w) => !MODULES.some((m) => m.name === w))
  if (unknown.length > 0 || args.some((a, i) => a !== "--module" && args[i - 1] !== "--module")) {
    process.stderr.write(`unknown module or flag: ${[...unknown, ...args.filter((a, i) => a !== "--module" && args[i - 1] !== "--module")].join(" ")} (--help lists them)\n`)
    process.exitCode = 1
    return
  }
  const modules = wanted.length === 0 ? MODULES : MODULES.filter((m) => wanted.includes(m.name))
  const file = new URL("../bench/results/mutation.json", import.meta.url)
  // Scores of modules not run this time are kept: one module can be run again on its own.
  const rows: Array<Row> = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Array<Row>).filter((r) => !modules.some((m) => r.name === `mutation/${m.name}`)) : []
  const lines: Array<string> = []
  for (const m of modules) {
    const started = Date.now()
    const results = await runModule(m)
    const s = scoreOf(results)
    rows.push({ name: `mutation/${m.name}`, unit: "%", median: s.score, min: s.score, max: s.score, runs: 1 })
    lines.push(
      `${m.name.padEnd(18)} ${s.score.toFixed(1).padStart(5)} %  killed ${s.killed}  survived ${s.survived}  no coverage ${s.noCoverage}  errors ${s.errors}  (${Math.round((Date.now() - started) / 1000)} s)`
    )
    for (const r of results.filter((x) => x.status === "Survived" || x.status === "NoCoverage")) {
      lines.push(`  ${r.status === "Survived" ? "survived" : "no cover"}  ${r.fileName.replace(`${process.cwd()}/`, "")}:${r.location.start.line}  ${r.mutatorName}: ${JSON.stringify(r.replacement ?? "")}`)
    }
    // Written after each module: a long run stopped half-way keeps what it measured.
    mkdirSync(new URL("../bench/results/", import.meta.url), { recursive: true })
    writeFileSync(file, JSON.stringify(rows, null, 2) + "\n")
    process.stdout.write(`${lines.slice(-1 - s.survived - s.noCoverage).join("\n")}\n`)
  }
  process.stdout.write(`\nmutation scores (killed or timed out / valid mutants):\n${lines.join("\n")}\n`)
}

await main()
