/**
 * `NodeStageHost.layerWith({ threadNice })`: each stage thread lowers its own priority before its loop
 * starts, and only its own (Linux keeps a nice value per thread): the main thread keeps its priority.
 * Read back from inside the stage's thread.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { getPriority } from "node:os"
import { NICE_SLOT, ThreadProbe } from "../fixtures/threadProbe.ts"

const niceSeenBy = (host: NodeStageHost.Options | undefined) =>
  Effect.gen(function*() {
    const seen = new Int32Array(new SharedArrayBuffer(8)).fill(-100)
    yield* Pipeline.runToEnd(
      Pipeline.from(Counter, { count: 1_000 })
        .via(ThreadProbe, { seen: seen.buffer as SharedArrayBuffer }, { placement: "worker" })
        .to(CountingSink, {})
    ).pipe(Effect.provide(host === undefined ? NodeStageHost.layer : NodeStageHost.layerWith(host)))
    return Atomics.load(seen, NICE_SLOT)
  })

describe.skipIf(process.platform !== "linux")("stage thread priority", () => {
  it.live("a stage thread runs at the nice value asked for; the main thread keeps its own", () =>
    Effect.gen(function*() {
      const own = getPriority(0)
      // Asked for less than the process has (a lower nice value) would need privilege: ask for more.
      const asked = Math.min(19, own + 7)
      assert.strictEqual(yield* niceSeenBy({ threadNice: asked }), asked)
      assert.strictEqual(getPriority(0), own)
      assert.strictEqual(yield* niceSeenBy(undefined), own)
    }))

  it("refuses a nice value outside 0–19", () => {
    assert.throws(() => NodeStageHost.layerWith({ threadNice: 20 }), /threadNice must be an integer from 0 to 19, got 20/)
    assert.throws(() => NodeStageHost.layerWith({ threadNice: -1 }), /got -1/)
  })
})
