/**
 * Layout-generic stages (`input: Stage.AnyLayout`) keep the stage contract: the kit checks them with a
 * layout it is given, in-process and in every placement and graph. NodeFileSink and NodeJournalSink
 * are the shipped ones.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Sequenced } from "@velox/core/stages"
import { StageContract } from "@velox/core/testing"
import { NodeFileSink, NodeJournalSink, NodeStageHost } from "@velox/node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { sequencedBatches } from "../fixtures/contractInputs.ts"
import { EveryNthRejected } from "../fixtures/genericStages.ts"

const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), "velox-generic-contract-"))

// One scenario in real pipelines per check: fused, worker, then tee, merge, edges.
describe("layout-generic stages keep the stage contract", { timeout: 300_000 }, () => {
  it.live("a stage that takes any layout and emits the same one, checked with Sequenced", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.check(EveryNthRejected, { layout: Sequenced, config: { every: 7 }, inputs: sequencedBatches, runs: 100, placementRuns: 1, graphs: StageContract.graphs })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory", "PlacementIndependence"])
      assert.deepStrictEqual(report.graphs, ["tee", "merge", "edges"])
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("NodeFileSink, writing the records it gets as NDJSON", () =>
    Effect.gen(function*() {
      const file = path.join(scratch(), "out.ndjson")
      const report = yield* StageContract.check(NodeFileSink.sink, { layout: Sequenced, config: { path: file }, inputs: sequencedBatches, runs: 50, placementRuns: 1, graphs: StageContract.graphs })
      assert.strictEqual(report.placementRuns, 1)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("NodeJournalSink, appending them to a journal", () =>
    Effect.gen(function*() {
      const directory = path.join(scratch(), "journal")
      const report = yield* StageContract.check(NodeJournalSink.sink, {
        layout: Sequenced,
        config: { directory, fsync: "never" },
        inputs: sequencedBatches,
        runs: 30,
        placementRuns: 1,
        graphs: StageContract.graphs
      })
      assert.strictEqual(report.placementRuns, 1)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.effect("without a layout, the kit says it needs one", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(StageContract.checkInProcess(EveryNthRejected, { config: { every: 7 }, inputs: sequencedBatches as never }))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.include(Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause), "takes any layout: give the kit one to check it with (options.layout)")
    }))
})
