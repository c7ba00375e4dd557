import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect } from "effect"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { Quote, QuoteForgetsSize, QuoteNotional } from "../fixtures/paddedStages.ts"

const records = StageContract.arbitraryRecords(Quote)
const inputs = StageContract.arbitraryBatches(records, { maxBatches: 6, maxBatchLength: 16 })
const nonEmpty = Arbitrary.array(Arbitrary.array(records, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 })

describe("the contract kit and a layout with padding", () => {
  it("the layout has 4 bytes of padding after symbol", () => {
    assert.deepStrictEqual(Quote.fields.map((f) => [f.name, f.offset]), [["symbol", 0], ["price", 8], ["size", 16]])
    assert.strictEqual(Quote.byteLength, 24)
  })

  it.effect("a stage that writes every field keeps Determinism: padding left unwritten is not data", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(QuoteNotional, { config: {}, inputs, runs: 100 })
      assert.strictEqual(report.runs, 100)
    }))

  it.live("it keeps PlacementIndependence too, fused and in a worker", () =>
    StageContract.checkPlacement(QuoteNotional, { config: {}, inputs, placementRuns: 3 }).pipe(
      Effect.map((report) => assert.strictEqual(report.placementRuns, 3)),
      Effect.provide(NodeStageHost.layer)
    ))

  it.effect("a stage that leaves a field unwritten still breaks Determinism, and the records shown differ in it", () =>
    Effect.gen(function*() {
      const e = yield* StageContract.checkInProcess(QuoteForgetsSize, { config: {}, inputs: nonEmpty }).pipe(Effect.flip)
      assert.strictEqual(e._tag, "ContractViolation")
      const violation = e as StageContract.ContractViolation
      assert.strictEqual(violation.law, "Determinism")
      assert.match(violation.message, /run 1 \{ symbol: \d+, price: [^,]+, size: 0 \}, run 2 \{ symbol: \d+, price: [^,]+, size: NaN \}/)
    }))
})
