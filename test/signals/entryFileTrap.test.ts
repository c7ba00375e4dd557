import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"

const program = new URL("../fixtures/entryTrap/program.ts", import.meta.url).pathname

interface Run {
  readonly code: number | null
  readonly output: string
}

/** Runs the program to its exit (a stuck one is killed at 90 s so the failure names it, not a timeout). */
const run = (mode: string) =>
  new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, [program, mode], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const guard = setTimeout(() => child.kill("SIGKILL"), 90_000)
    child.on("exit", (code) => {
      clearTimeout(guard)
      resolve({ code, output })
    })
  })

const evaluations = (output: string, main: boolean) => output.split(`program evaluated (main thread: ${main})`).length - 1

describe("a stage defined in the program's entry file", () => {
  it("placed in a worker (fused behind a worker source): run fails at once, saying to move it, and the program ran once", async () => {
    const { code, output } = await run("worker")
    assert.strictEqual(code, 1, output)
    assert.include(output, "PipelineConfigError")
    assert.include(output, `stage "local" is defined in the program's entry module`)
    assert.include(output, "move the stage to its own module")
    assert.strictEqual(evaluations(output, true), 1, output)
    assert.strictEqual(evaluations(output, false), 0, output)
    assert.notInclude(output, "done:")
  })

  it("placed in a fiber on the main thread: no thread imports the program, and it runs to the end", async () => {
    const { code, output } = await run("fiber")
    assert.strictEqual(code, 0, output)
    assert.include(output, "done: 10000 records")
    assert.strictEqual(evaluations(output, true), 1, output)
    assert.strictEqual(evaluations(output, false), 0, output)
  })

  it("reached through a stage module that imports the program: the worker's runMain refuses, the run fails once", async () => {
    const { code, output } = await run("indirect")
    assert.strictEqual(code, 1, output)
    assert.include(output, "runMain was called in a stage host thread")
    assert.include(output, "could not start")
    // The worker evaluated the program once and started nothing: no second pipeline, no recursion.
    assert.strictEqual(evaluations(output, true), 1, output)
    assert.strictEqual(evaluations(output, false), 1, output)
    assert.notInclude(output, "done:")
  })
})
