import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Sequenced } from "@velox/core/stages"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { Scale } from "../../packages/examples/src/scale.ts"
import { Sum } from "../../packages/examples/src/sum.ts"

// The README's "Testing your stage", as written there, on the README's own stages.
const inputs = StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced))

describe("the README's stages keep the stage contract", () => {
  it.live("Scale keeps the stage contract", () =>
    StageContract.check(Scale, { config: { factor: 2 }, inputs, runs: 100, placementRuns: 3 })
      .pipe(Effect.map((report) => assert.deepStrictEqual(report.laws.length, 5)), Effect.provide(NodeStageHost.layer)))

  it.live("Sum, a sink writing into shared memory, keeps it too", () =>
    StageContract.check(Sum, { config: { total: new SharedArrayBuffer(8) }, inputs, runs: 100, placementRuns: 3 })
      .pipe(Effect.map((report) => assert.deepStrictEqual(report.laws.length, 5)), Effect.provide(NodeStageHost.layer)))
})
