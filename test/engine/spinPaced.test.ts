/**
 * A spinning loop with a paced source spins on the clock until the source is due, instead of running
 * empty passes: each empty pass asks the stages for their clocks and deadlines, boxed doubles that
 * fill the young generation and bring a collection (a pause of the loop) every second or so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pipeline } from "@velox/core"
import { CountingSink } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { PacedProbe } from "../fixtures/pacedProbe.ts"

describe("a spinning loop with a paced source", () => {
  it.live("polls the source when it is due, not between its records", () =>
    Effect.gen(function*() {
      const polls = new SharedArrayBuffer(4)
      const count = 5
      // 20 ms between records: an empty pass takes well under a µs, so a loop passing between them
      // would poll hundreds of thousands of times; one that waits polls a few times per record.
      yield* Pipeline.runToEnd(
        Pipeline.from(PacedProbe, { count, gapNs: 20_000_000, polls }).to(CountingSink, {}),
        { idle: "spin" }
      ).pipe(Effect.provide(NodeStageHost.layer), Effect.timeout("30 seconds"))
      const calls = Atomics.load(new Int32Array(polls), 0)
      assert.isAtLeast(calls, count + 1)
      assert.isAtMost(calls, 10 * (count + 1))
    }))
})
