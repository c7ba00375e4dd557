/**
 * `NodeCli.run`'s `heap` option (`NodeHeap.tune`), seen from V8 itself: a program that allocates
 * objects which survive young collections (the pattern V8 pretenures), run with V8's pretenuring
 * trace. With the default heap V8 samples the handler's allocation sites and decides on them; tuned
 * for streaming, from the handler on it makes no such decision. (Loading the modules, before
 * `NodeCli.run` sets the tuning, is V8's default either way.)
 */
import { assert, describe, it } from "@effect/vitest"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

const program = new URL("../fixtures/heapProbeProgram.ts", import.meta.url).pathname

/** V8's allocation-site decisions printed after the program's handler started. */
const decisionsInHandler = async (heap: "default" | "streaming") => {
  // Unbuffered: V8 prints through C's stdout, the program's marker straight to fd 1, in order.
  const r = await runProgram("stdbuf", ["-o0", process.execPath, "--trace-pretenuring", "--trace-pretenuring-statistics", program], {
    env: { ...process.env, PROBE_HEAP: heap }
  })
  assert.strictEqual(r.code, 0, describeRun(r))
  assert.include(r.stdout, "allocated, ", describeRun(r))
  const lines = r.stdout.split("\n")
  const handler = lines.indexOf("handler")
  assert.isAbove(handler, -1, describeRun(r))
  return lines.slice(handler).filter((line) => /pretenuring: AllocationSite/.test(line))
}

describe("NodeHeap", () => {
  it("the default heap: V8 samples the handler's allocation sites and pretenures them", async () => {
    const decisions = await decisionsInHandler("default")
    assert.isTrue(decisions.some((line) => /=> (maybe tenure|tenure)$/.test(line)), decisions.join("\n"))
  })

  it("tuned for streaming: no allocation site is judged", async () => {
    assert.deepStrictEqual(await decisionsInHandler("streaming"), [])
  })
})
