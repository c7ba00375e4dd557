import { assert, describe, it } from "@effect/vitest"
import { join } from "node:path"
import { describeRun, type Run, runProgram } from "../fixtures/runProgram.ts"

const root = new URL("../../", import.meta.url).pathname
const bin = (name: string) => join(root, "node_modules", ".bin", name)

/** PATH without the project's node_modules/.bin: a bin must find Node 24 itself, whatever the system's node is. */
const systemEnv: NodeJS.ProcessEnv = { ...process.env, PATH: "/usr/local/bin:/usr/bin:/bin" }

const PROGRAMS = ["velox-engine", "velox-pipeline", "velox-scaled", "velox-served", "velox-tick-server", "velox-l2-replay"] as const

/** Signals once transactions flow: a progress line with a non-zero ingress count. */
const whenFlowing = /ingress [1-9]\d* /

const drained = (run: Run, signal: NodeJS.Signals) => {
  assert.strictEqual(run.code, 0, describeRun(run))
  assert.strictEqual(run.stderr.match(new RegExp(`${signal}: draining`, "g"))?.length, 1, describeRun(run))
  assert.notInclude(run.stderr, "abandoning", describeRun(run))
  assert.include(run.stdout, "ledger: balanced", describeRun(run))
  assert.include(run.stdout, "ok  every stage ran to the end", describeRun(run))
  assert.notInclude(run.stdout, "NO ", describeRun(run))
}

describe("the example programs' commands", () => {
  // Programs that answer and stop at once: independent of each other, they run side by side.
  for (const name of PROGRAMS) {
    it.concurrent(`${name} (node_modules/.bin) answers --help, and a bad flag with one line and exit 1`, async () => {
      const [help, bad] = await Promise.all([
        runProgram(bin(name), ["--help"], { env: systemEnv }),
        runProgram(bin(name), ["--no-such-flag"], { env: systemEnv })
      ])
      assert.strictEqual(help.code, 0, describeRun(help))
      assert.match(help.stdout, new RegExp(`USAGE\\s+${name} \\[flags\\]`))
      assert.strictEqual(bad.code, 1, describeRun(bad))
      assert.strictEqual(bad.stderr, `${name}: unknown flag --no-such-flag; see ${name} --help\n`)
    })
  }

  it.concurrent("velox-tick-server refuses timeframes that are not, in one line, before anything starts", async () => {
    const bad = await runProgram(bin("velox-tick-server"), ["--timeframes", "1s,7m", "--no-persist"], { env: systemEnv })
    assert.strictEqual(bad.code, 1, describeRun(bad))
    assert.include(bad.stderr, "velox-tick-server: --timeframes 1s,7m: expected timeframes such as 1s,1m,5m,1h,1d", describeRun(bad))
  })

  it("velox-scaled, the README's pipeline, runs a source, a worker stage and a fused sink, and reads the sum back", async () => {
    const run = await runProgram(bin("velox-scaled"), ["--count", "1000", "--factor", "3"], { env: systemEnv })
    assert.strictEqual(run.code, 0, describeRun(run))
    assert.include(run.stdout, "ledger: balanced")
    assert.match(run.stdout, /^sum of scaled values: 1498500$/m) // 3 × (0 + 1 + … + 999)
  })

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`velox-engine run directly gets ${signal} itself: it drains, reconciles and exits 0`, async () => {
      const run = await runProgram(bin("velox-engine"), ["--duration", "60"], { env: systemEnv, signal: { when: whenFlowing, signal } })
      drained(run, signal)
    })
  }
})

describe("npm start", () => {
  const npmStart = (args: ReadonlyArray<string>, signal: { readonly signal: NodeJS.Signals; readonly group?: boolean }) =>
    runProgram("npm", ["start", ...args], { cwd: root, signal: { when: whenFlowing, ...signal } })

  it("SIGTERM sent to npm reaches the engine: it drains, reconciles, and npm exits 0 after it", async () => {
    // "close": every holder of the output pipes, the engine included, has exited.
    drained(await npmStart(["--", "--duration", "60"], { signal: "SIGTERM" }), "SIGTERM")
  })

  it("SIGINT sent to npm does the same", async () => {
    drained(await npmStart(["--", "--duration", "60"], { signal: "SIGINT" }), "SIGINT")
  })

  it("Ctrl-C (SIGINT to npm's whole process group) drains once and exits 0, not 130", async () => {
    drained(await npmStart(["--", "--duration", "60"], { signal: "SIGINT", group: true }), "SIGINT")
  })

  it("npm start --silent -- --output - prints only NDJSON bundles on stdout", async () => {
    const run = await runProgram("npm", ["start", "--silent", "--", "--output", "-", "--duration", "60"], {
      cwd: root,
      signal: { when: whenFlowing, signal: "SIGTERM", in: "stderr" }
    })
    assert.strictEqual(run.code, 0, describeRun(run))
    const lines = run.stdout.split("\n").filter((l) => l !== "")
    assert.isNotEmpty(lines)
    for (const line of lines) assert.hasAllKeys(JSON.parse(line), ["id", "firstTxId", "lastTxId", "openNs", "closeNs", "count", "reason"])
    const received = Number(/ok {2}bundles flushed = bundles received: \d+ = (\d+)/.exec(run.stderr)?.[1])
    assert.strictEqual(lines.length, received, describeRun(run))
  })
})
