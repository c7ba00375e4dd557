import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"

const program = new URL("../../packages/examples/src/engine.ts", import.meta.url).pathname

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the engine; with `signalWhen`, sends SIGTERM once stdout matches it (records are flowing). */
const runEngine = (args: ReadonlyArray<string>, signalWhen?: RegExp) =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let signalled = false
    child.stdout.on("data", (d) => {
      stdout += d
      if (signalWhen !== undefined && !signalled && signalWhen.test(stdout)) {
        signalled = true
        child.kill("SIGTERM")
      }
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    const guard = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no exit within 90 s; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, 90_000)
    child.on("exit", (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })

const reconciled = (run: Run) => {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`
  assert.match(run.stdout, /^clock calibrated: /m, context)
  assert.include(run.stdout, "ledger: balanced", context)
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
    assert.match(run.stdout, new RegExp(`ok  ${escaped}: (\\d+) = \\1`), context)
  }
  assert.strictEqual(run.code, 0, context)
}

describe("the engine program", () => {
  it("runs for its duration at 100k/s with per-second progress, drains and reconciles every transaction", async () => {
    const run = await runEngine(["--duration", "3"])
    reconciled(run)
    assert.match(run.stdout, /^\s+\d+ s {2}ingress \d+ \(\s*[\d.]+ k\/s\) {2}book/m)
    assert.match(run.stdout, /ok {2}generated = processed by the book: [1-9]\d+ =/)
  })

  it("SIGTERM while stages run in separate workers drains and reconciles", async () => {
    const run = await runEngine(["--placement", "workers", "--duration", "60"], /ingress [1-9]\d* /)
    reconciled(run)
    assert.include(run.stderr, "SIGTERM: draining")
  })

  it("a bad option is rejected at start-up, naming the key", async () => {
    const run = await runEngine(["--rate=-5"])
    assert.strictEqual(run.code, 1)
    assert.include(run.stdout + run.stderr, "RATE")
  })
})
