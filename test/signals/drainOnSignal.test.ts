import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"

const example = new URL("../../packages/examples/src/pipeline.ts", import.meta.url).pathname
const slowDrain = new URL("../fixtures/slowDrainProgram.ts", import.meta.url).pathname

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the example under full load, sends `signals` (after `delaysMs`), and waits for it to exit. */
const runAndSignal = (
  args: ReadonlyArray<string>,
  signals: ReadonlyArray<[NodeJS.Signals, number]>,
  program: string = example,
  ready: RegExp = /generated [1-9]/
) =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    // Signal only once records flow (the first progress line with a count), i.e. under full load.
    const started = new Promise<void>((ok) => {
      const check = () => (ready.test(stdout) ? ok() : setTimeout(check, 10))
      check()
    })
    void started.then(async () => {
      for (const [signal, delay] of signals) {
        await new Promise((r) => setTimeout(r, delay))
        child.kill(signal)
      }
    })
    const guard = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no exit within 60 s; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, 60_000)
    child.on("exit", (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })

/** A seeded generator, so the "random" instants are the same on every run of the suite. */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

describe("drain on signal", () => {
  const random = seeded(20261121)
  const cases: Array<[string, NodeJS.Signals, ReadonlyArray<string>]> = [
    ["fused", "SIGINT", []],
    ["fused", "SIGTERM", []],
    ["workers", "SIGINT", ["--workers"]],
    ["workers", "SIGTERM", ["--workers"]],
    ["fused", "SIGTERM", []],
    ["workers", "SIGINT", ["--workers"]]
  ]
  for (const [name, signal, args] of cases) {
    const delay = Math.floor(random() * 800)
    it(`${signal} to a ${name} pipeline under full load ${delay} ms into the run drains to a balanced ledger and exits 0`, async () => {
      const run = await runAndSignal(args, [[signal, delay]])
      assert.include(run.stdout, "ledger: balanced", `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
      assert.notInclude(run.stdout, "UNBALANCED")
      assert.strictEqual(run.code, 0, run.stderr)
    })
  }

  it("a second signal during a long drain says what it abandons and exits 3", async () => {
    // 16384 records queued in front of a stage that takes 200 µs each: a drain of about 3 s.
    const run = await runAndSignal([], [["SIGTERM", 0], ["SIGTERM", 300]], slowDrain, /backlog ready/)
    assert.strictEqual(run.code, 3, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
    assert.include(run.stderr, "SIGTERM: draining")
    assert.match(run.stderr, /abandoning the drain; left behind: ring counter→slow\+counting-sink: \d+/)
  })
})
