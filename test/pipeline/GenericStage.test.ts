import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger, Pipeline, RecordLayout, Stage } from "@velox/core"
import { checkOf, Counter, CountingSink } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { EveryNthRejected } from "../fixtures/genericStages.ts"

const runToEnd = (p: Pipeline.Pipeline) => Pipeline.runToEnd(p).pipe(Effect.provide(NodeStageHost.layer))

describe("a layout-generic stage (input Stage.AnyLayout, output Stage.SameAsInput)", () => {
  for (const placement of ["fused", "worker", "fiber"] as const) {
    it.live(`${placement}: gets the upstream layout as context.input, emits it, and its dead letters decode with it`, () =>
      Effect.gen(function*() {
        const count = 5_000
        const { deadLetters, ledger } = yield* runToEnd(
          // SameAsInput carries Sequenced on: a Sequenced sink after it type-checks.
          Pipeline.from(Counter, { count }).via(EveryNthRejected, { every: 10 }, { placement }).to(CountingSink, {})
        )
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const stage = ledger.stages.find((s) => s.stage === "every-nth-rejected")!
        assert.deepStrictEqual(stage.deadLettered, { Rejected: count / 10 })
        assert.strictEqual(ledger.stages.find((s) => s.stage === "counting-sink")!.in, count - count / 10)
        // The sink verified every record's check field: the copies are whole Sequenced records.
        assert.deepStrictEqual(ledger.stages.find((s) => s.stage === "counting-sink")!.deadLettered, {})
        assert.strictEqual(deadLetters.length, count / 10)
        for (const d of deadLetters) {
          assert.strictEqual(d.error, "Rejected")
          assert.deepStrictEqual(Object.keys(d.record), ["seq", "key", "flags", "value", "check"])
          assert.strictEqual(d.record["seq"]! % 10, 0)
          assert.strictEqual(d.record["check"], checkOf(d.record["seq"]!))
        }
      }))
  }

  it("its make without the resolved layouts says what it needs", () => {
    assert.throws(() => EveryNthRejected.make({ every: 2 }), /takes any layout: make\(config, context\) needs context\.input/)
    assert.isTrue(EveryNthRejected.anyInput)
    assert.isTrue(EveryNthRejected.outputSameAsInput)
    assert.isUndefined(EveryNthRejected.input)
  })

  it("after a SameAsInput stage the builder still rejects a sink of another layout at compile time", () => {
    const Other = RecordLayout.make("Other", { x: "f64" })
    const OtherSink = Stage.sink({ name: "other", module: import.meta.url, input: Other, make: () => ({ onBatch() {} }) })
    // @ts-expect-error the generic stage emits Sequenced records (its input), the sink takes { x }
    const bad = () => Pipeline.from(Counter, { count: 1 }).via(EveryNthRejected, { every: 2 }).to(OtherSink, {})
    assert.isFunction(bad)
  })
})
