import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describeRun, type Run, runProgram, type RunOptions } from "../fixtures/runProgram.ts"

const program = new URL("../../packages/examples/src/engine.ts", import.meta.url).pathname

/** The engine's environment without any VELOX_ENGINE_* of the machine's, plus `env`. */
const envWith = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VELOX_ENGINE_"))),
  ...env
})

const runEngine = (args: ReadonlyArray<string>, options: RunOptions = {}) =>
  runProgram(process.execPath, [program, ...args], { env: envWith(), ...options })

/** Signals once transactions flow: a progress line with a non-zero ingress count. */
const whenFlowing = (signal: NodeJS.Signals = "SIGTERM") => ({ when: /ingress [1-9]\d* /, signal })

const reconciled = (run: Run, out: "stdout" | "stderr" = "stdout") => {
  const text = run[out]
  assert.match(text, /^clock calibrated: /m, describeRun(run))
  assert.include(text, "ledger: balanced", describeRun(run))
  for (
    const check of [
      "generated = processed by the book",
      "processed = book updates + dead-lettered",
      "book updates = transactions bundled",
      "bundles flushed = bundles received",
      "transactions bundled = transactions received"
    ]
  ) {
    const escaped = check.replace(/[+]/g, "\\+")
    assert.match(text, new RegExp(`ok  ${escaped}: (\\d+) = \\1`), describeRun(run))
  }
  assert.match(text, /ok {2}transactions generated at [\d.]+\/s: [1-9]\d*/, describeRun(run))
  assert.include(text, "ok  every stage ran to the end", describeRun(run))
  assert.notInclude(text, "NO ", describeRun(run))
  assert.strictEqual(run.code, 0, describeRun(run))
}

/** A typed start-up error: exit 1, nothing on stdout, one line on stderr (no usage, no stack trace). */
const oneLineError = (run: Run): string => {
  assert.strictEqual(run.code, 1, describeRun(run))
  const lines = run.stderr.split("\n").filter((l) => l !== "")
  assert.lengthOf(lines, 1, describeRun(run))
  assert.notMatch(run.stderr, /^\s+at /m, "a stack trace")
  assert.match(lines[0]!, /^velox-engine: /)
  return lines[0]!
}

const jsonFile = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "velox-engine-")), "engine.json")
  writeFileSync(path, text)
  return path
}

describe("the engine program", () => {
  it("runs for its duration at 100k/s with per-second progress, drains and reconciles every transaction", async () => {
    const run = await runEngine(["--duration", "3"])
    reconciled(run)
    assert.match(run.stdout, /^\s+\d+ s {2}ingress \d+ \(\s*[\d.]+ k\/s\) {2}book/m)
    assert.match(run.stdout, /ok {2}generated = processed by the book: [1-9]\d+ =/)
  })

  it("SIGTERM while stages run in separate workers drains and reconciles", async () => {
    const run = await runEngine(["--placement", "workers", "--duration", "60"], { signal: whenFlowing() })
    reconciled(run)
    assert.include(run.stderr, "SIGTERM: draining")
  })

  it("--help lists every option with the variable it falls back to, and exits 0", async () => {
    const run = await runEngine(["--help"])
    assert.strictEqual(run.code, 0, describeRun(run))
    for (const [flag, key] of [
      ["duration", "DURATION"],
      ["rate", "RATE"],
      ["symbols", "SYMBOLS"],
      ["placement", "PLACEMENT"],
      ["bundle-size", "BUNDLE_SIZE"],
      ["bundle-timeout-us", "BUNDLE_TIMEOUT_US"],
      ["output", "OUTPUT"],
      ["http", "HTTP"]
    ]) {
      assert.match(run.stdout, new RegExp(`--${flag} .*\\[VELOX_ENGINE_${key}\\]`))
    }
    assert.include(run.stdout, "--config")
  })

  // Each starts a program that stops at once; they are independent, and run side by side.
  describe.concurrent("a bad start is one line on stderr and exit 1", () => {
    it("--rate -5", async () => {
      const line = oneLineError(await runEngine(["--rate", "-5"]))
      assert.include(line, "--rate")
      assert.include(line, "greater than 0")
    })

    it("an unknown flag", async () => {
      assert.include(oneLineError(await runEngine(["--foo", "1"])), "unknown flag --foo")
    })

    it("--config naming a missing file", async () => {
      assert.include(oneLineError(await runEngine(["--config", "missing.json"])), "config file missing.json: cannot read it: ENOENT")
    })

    it("--config naming a file of invalid JSON names the file", async () => {
      const path = jsonFile('{ "VELOX": { "ENGINE": { "RATE": 2000, } } }')
      assert.match(oneLineError(await runEngine(["--config", path])), new RegExp(`config file ${path}: not valid JSON: .*line 1 column`))
    })

    it("a misspelt key in the config file is rejected, naming it", async () => {
      const path = jsonFile('{ "VELOX": { "ENGINE": { "RATEE": 2000 } } }')
      assert.include(oneLineError(await runEngine(["--config", path])), "unknown key VELOX.ENGINE.RATEE (did you mean RATE?)")
    })

    it("a bad value in the environment names the flag and the key", async () => {
      const line = oneLineError(await runEngine([], { env: envWith({ VELOX_ENGINE_SYMBOLS: "0" }) }))
      assert.include(line, "--symbols from the config file or the environment")
      assert.include(line, `["VELOX"]["ENGINE"]["SYMBOLS"]`)
    })

    it("the pipeline's own settings come from the environment too: a bad VELOX_DRAIN_TIMEOUT is one line naming the key", async () => {
      const line = oneLineError(await runEngine([], { env: envWith({ VELOX_DRAIN_TIMEOUT: "soon" }) }))
      assert.include(line, `["VELOX"]["DRAIN_TIMEOUT"]`)
    })

    it("--output in a directory that does not exist, before the pipeline starts", async () => {
      const run = await runEngine(["--output", "/nonexistent/dir/x"])
      assert.strictEqual(
        oneLineError(run),
        "velox-engine: --output /nonexistent/dir/x: cannot open it for writing: ENOENT: no such file or directory, open '/nonexistent/dir/x'"
      )
      assert.strictEqual(run.stdout, "", "the pipeline started")
    })

    it("--http on a port in use", async () => {
      const taken = createServer()
      await new Promise<void>((ok) => taken.listen(0, "127.0.0.1", ok))
      const port = (taken.address() as { port: number }).port
      try {
        const line = oneLineError(await runEngine(["--http", String(port)]))
        assert.strictEqual(line, `velox-engine: the ops server cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`)
      } finally {
        taken.close()
      }
    })
  })

  it("options come from flags over the config file over the environment", async () => {
    const file = jsonFile('{ "VELOX": { "ENGINE": { "RATE": 2000, "SYMBOLS": 3 } } }')
    const env = envWith({ VELOX_ENGINE_RATE: "1000", VELOX_ENGINE_SYMBOLS: "2", VELOX_ENGINE_BUNDLE_SIZE: "4" })
    const banner = async (args: ReadonlyArray<string>) => {
      const run = await runEngine(["--duration", "60", ...args], { env, signal: { when: /^engine: /m, signal: "SIGTERM" } })
      return /^engine: .*$/m.exec(run.stdout)?.[0] ?? describeRun(run)
    }
    const [flags, fromFile, fromEnv] = await Promise.all([banner(["--config", file, "--rate", "3000"]), banner(["--config", file]), banner([])])
    assert.match(flags, /^engine: 3000 txn\/s over 3 symbols, bundles of 4 /)
    assert.match(fromFile, /^engine: 2000 txn\/s over 3 symbols, bundles of 4 /)
    assert.match(fromEnv, /^engine: 1000 txn\/s over 2 symbols, bundles of 4 /)
  })

  it("--output - writes only NDJSON bundles to stdout, one per bundle received, and everything else to stderr", async () => {
    const run = await runEngine(["--output", "-", "--duration", "60"], { signal: { ...whenFlowing(), in: "stderr" } })
    reconciled(run, "stderr")
    const lines = run.stdout.split("\n").filter((l) => l !== "")
    const bundles = lines.map((l) => JSON.parse(l) as { count: number; reason: string })
    const received = Number(/ok {2}bundles flushed = bundles received: \d+ = (\d+)/.exec(run.stderr)![1])
    assert.isAbove(received, 0)
    assert.strictEqual(bundles.length, received)
    assert.strictEqual(
      bundles.reduce((n, b) => n + b.count, 0),
      Number(/ok {2}transactions bundled = transactions received: \d+ = (\d+)/.exec(run.stderr)![1])
    )
  })

  describe("a run in which a stage never worked is not reconciled, and exits 1", () => {
    it("no transaction generated (a rate so low the first arrival is minutes away)", async () => {
      // What is asserted is exit 1 (nothing reconciled), not how fast an idle drain is: a generous deadline, for a starved machine.
      const run = await runEngine(["--rate", "0.001", "--duration", "60"], {
        signal: { when: /^\s+1 s {2}ingress/m, signal: "SIGTERM" },
        env: envWith({ VELOX_DRAIN_TIMEOUT: "120 seconds" })
      })
      assert.strictEqual(run.code, 1, describeRun(run))
      assert.include(run.stdout, "NO  transactions generated at 0.001/s: 0")
    })

    it("an output that fails every write: the sink is restarted until given up", async () => {
      // No signal: the run ends by itself once the sink is given up on. A SIGTERM at its first crash
      // left its restarts (each a new worker thread) to the drain, which on a loaded machine outlasted
      // the drain's 10 s deadline (exit 2); the engine does not read VELOX_DRAIN_TIMEOUT.
      const run = await runEngine(["--output", "/dev/full", "--placement", "workers", "--duration", "60"])
      assert.strictEqual(run.code, 1, describeRun(run))
      assert.match(run.stdout, /NO {2}every stage ran to the end: .*file-sink Stopped after \d+ restart\(s\)/)
      const received = /NO {2}transactions bundled = transactions received: (\d+) = (\d+)/.exec(run.stdout)
      assert.isNotNull(received, describeRun(run))
      assert.isBelow(Number(received![2]), Number(received![1]), "the output received less than was bundled")
    })
  })
})
