/**
 * `runMain`'s exit codes, each from a real process: 0 drained and balanced, 1 for a stage given up
 * on, an unbalanced ledger and a failed check, 2 for a drain past its deadline. (3, a second signal,
 * is in test/signals/drainOnSignal.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { describeRun, runProgram, type RunOptions } from "../fixtures/runProgram.ts"

const program = new URL("../fixtures/exitCodeProgram.ts", import.meta.url).pathname
const cliProgram = new URL("../fixtures/exitCodeCliProgram.ts", import.meta.url).pathname
const run = (mode: string, options: RunOptions = {}) => runProgram(process.execPath, [program, mode], options)

describe("exit codes", () => {
  it("0: a run that drained with a balanced ledger", async () => {
    const r = await run("clean")
    assert.strictEqual(r.code, 0, describeRun(r))
    assert.include(r.stdout, "ledger: balanced")
  })

  it("1: a stage given up on (StageCrashed)", async () => {
    const r = await run("crashed")
    assert.strictEqual(r.code, 1, describeRun(r))
    assert.include(r.stdout + r.stderr, "StageCrashed")
  })

  it("1: a ledger that does not balance, though nothing failed", async () => {
    const r = await run("unbalanced")
    assert.strictEqual(r.code, 1, describeRun(r))
    assert.include(r.stdout, "UNBALANCED")
  })

  it("1: a failed check of the program's own", async () => {
    const r = await run("check")
    assert.strictEqual(r.code, 1, describeRun(r))
    assert.include(r.stdout + r.stderr, "sent 10000 ≠ received 9999")
  })

  it("1: a check that fails in a finalizer after SIGTERM, though the drain was clean", async () => {
    const r = await run("check-after-signal", { signal: { when: /^running$/m, signal: "SIGTERM", in: "stdout" } })
    assert.strictEqual(r.code, 1, describeRun(r))
    assert.include(r.stdout, "ledger: balanced")
    assert.include(r.stdout + r.stderr, "check failed: reconciliation after Ctrl-C")
  })

  it("1: a check that fails in a finalizer after SIGTERM in an effect/cli program, which drops the failure itself", async () => {
    const r = await runProgram(process.execPath, [cliProgram], { signal: { when: /^running$/m, signal: "SIGTERM", in: "stdout" } })
    assert.strictEqual(r.code, 1, describeRun(r))
    assert.include(r.stdout, "ledger: balanced")
    assert.include(r.stderr, "check failed: reconciliation after Ctrl-C (effect/cli)")
  })

  it("2: a drain past its deadline, which says what it abandoned", async () => {
    const r = await run("drain-timeout", { signal: { when: /backlog ready/, signal: "SIGTERM", in: "stdout" } })
    assert.strictEqual(r.code, 2, describeRun(r))
    assert.match(r.stdout + r.stderr, /abandon/i)
  })
})
