import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Batcher, CountingSink, Filter, PassThrough, Sequenced } from "@velox/core/stages"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { sequencedBatches } from "../fixtures/contractInputs.ts"

// Laws 1, 2, 3, 5 run in-process (cheap: 100 scenarios); law 4 starts a real pipeline per scenario
// and placement (3 scenarios × fused and worker) and per graph (1 scenario × tee, merge, edges), so those tests are `it.live`.
// A placement check starts 2 pipelines per scenario (fused, worker), and 3 more for one (tee, merge, edges).
const PLACEMENT_TIMEOUT_MS = 300_000
const IN_PROCESS: ReadonlyArray<StageContract.Law> = ["Conservation", "Drain", "Determinism", "BoundedMemory"]

describe("PassThrough keeps the stage contract", { timeout: PLACEMENT_TIMEOUT_MS }, () => {
  it.live("on any bit pattern, NaN payloads included, in-process, fused, in a worker, in a tee, behind a merge and between edges", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.check(PassThrough, {
        config: {},
        inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced), { maxBatches: 10, maxBatchLength: 40 }),
        runs: 100,
        placementRuns: 3,
        graphs: StageContract.graphs
      })
      assert.deepStrictEqual(report.laws, [...IN_PROCESS, "PlacementIndependence"])
      assert.strictEqual(report.runs, 100)
      assert.strictEqual(report.placementRuns, 3)
      assert.deepStrictEqual(report.graphs, ["tee", "merge", "edges"])
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

describe("Filter keeps the stage contract", { timeout: PLACEMENT_TIMEOUT_MS }, () => {
  it.effect("in-process: every record is emitted, dropped as filtered, or dead-lettered as corrupt", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(Filter, { config: { dropEvery: 3 }, inputs: sequencedBatches, runs: 100 })
      assert.deepStrictEqual(report.laws, IN_PROCESS)
      assert.strictEqual(report.runs, 100)
    }))

  it.live("fused, in a worker, in a tee, behind a merge and between edges: the same outputs, drops and dead letters as in-process", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Filter, {
        config: { dropEvery: 3 },
        inputs: sequencedBatches,
        placementRuns: 3,
        graphs: StageContract.graphs
      })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

describe("Batcher keeps the stage contract", { timeout: PLACEMENT_TIMEOUT_MS }, () => {
  it.effect("in-process, with timer ticks flushing partial runs between batches", () =>
    Effect.gen(function*() {
      // Ticks 1–4 ms apart (the default from its 1 ms timer period) against a 2.5 ms timeout.
      const report = yield* StageContract.checkInProcess(Batcher, {
        config: { size: 5, timeoutNs: 2_500_000 },
        inputs: sequencedBatches,
        runs: 100
      })
      assert.deepStrictEqual(report.laws, IN_PROCESS)
    }))

  it.effect("in-process, with runs as long as the largest batch and ticks closer than its timer period", () =>
    StageContract.checkInProcess(Batcher, {
      config: { size: 40, timeoutNs: 1_000 },
      inputs: sequencedBatches,
      ticks: StageContract.arbitraryTicks({ minAdvanceNs: 0, maxAdvanceNs: 3_000 }),
      runs: 50
    }))

  it.live("fused, in a worker and in every graph, with the timeout out of reach (real-clock timers cannot be replayed)", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Batcher, {
        config: { size: 5, timeoutNs: 2_500_000 },
        placementConfig: { size: 5, timeoutNs: 1e15 },
        inputs: sequencedBatches,
        placementRuns: 3,
        graphs: StageContract.graphs
      })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("in a fiber on the main thread, like fused and in a worker", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Batcher, {
        config: { size: 5, timeoutNs: 1e15 },
        inputs: sequencedBatches,
        placements: ["fiber"],
        placementRuns: 3
      })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

describe("CountingSink keeps the stage contract", { timeout: PLACEMENT_TIMEOUT_MS }, () => {
  it.effect("in-process: every record is delivered or dead-lettered as corrupt, and nothing is held", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(CountingSink, { config: {}, inputs: sequencedBatches, runs: 100 })
      assert.deepStrictEqual(report.laws, IN_PROCESS)
    }))

  it.live("fused, in a worker and in every graph: the same accounting and dead letters as in-process", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(CountingSink, {
        config: {},
        inputs: sequencedBatches,
        placementRuns: 3,
        graphs: StageContract.graphs
      })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
