import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { Pipeline, type RecordLayout, Stage } from "@velox/core"
import { Bundle, Output, OutputRelay, OutputTotals } from "@velox/market"
import { CaptureSink, ReplaySource, StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { makeLogic, makeRelayLogic } from "../../packages/market/src/Output.ts"
import { bundle } from "../fixtures/bundles.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

type BundleRecord = Bundle.BundleRecord
const { FlushReason } = Bundle

const feed = (logic: ReturnType<typeof makeLogic>, out: CaptureEmitter<never>, batches: ReadonlyArray<ReadonlyArray<BundleRecord>>) => {
  for (const b of batches) logic.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, out)
}

describe("Output: the checksum", () => {
  it("the checksum is a sum mod 2^48: exact, and the same in any order", () => {
    const bundles = [[0, 15, 16], [16, 31, 16], [2 ** 50 + 3, 2 ** 50 + 9, 7], [32, 35, 4]] as const
    const forward = bundles.reduce((acc, [f, l, c]) => OutputTotals.checksumOf(acc, f, l, c), 0)
    const backward = [...bundles].reverse().reduce((acc, [f, l, c]) => OutputTotals.checksumOf(acc, f, l, c), 0)
    assert.strictEqual(forward, backward)
    assert.strictEqual(forward, (0 + 15 + 16 + 16 + 31 + 16 + 3 + 9 + 7 + 32 + 35 + 4 + 2 * (2 ** 50 % 2 ** 48)) % 2 ** 48)
  })
})

/** The output's counters and gauge, as `Output.totals` reads them from a pipeline's stats. */
const totalsOf = (context: Stage.StageContext<(typeof OutputTotals.counters)[number], "checksum">): OutputTotals.Totals => ({
  bundles: context.counters.bundles.get(),
  transactions: context.counters.transactions.get(),
  checksum: context.gauges.checksum.get(),
  sizeFlushes: context.counters.sizeFlushes.get(),
  timeoutFlushes: context.counters.timeoutFlushes.get(),
  drainFlushes: context.counters.drainFlushes.get()
})

describe("Output: counting and checksums", () => {
  it("counts bundles, transactions and flushes per reason, and checksums them; accounts every bundle delivered", () => {
    const context = Stage.context(Output)
    const logic = makeLogic({}, context)
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 16), bundle(1, 16), bundle(2, 5, FlushReason.Timeout), bundle(3, 16), bundle(4, 2, FlushReason.Drain)]
    feed(logic, out, [bundles.slice(0, 2), bundles.slice(2)])
    assert.strictEqual(out.delivered, 5)
    assert.deepStrictEqual(totalsOf(context), {
      bundles: 5,
      transactions: 55,
      checksum: bundles.reduce((acc, b) => OutputTotals.checksumOf(acc, b.firstTxId, b.lastTxId, b.count), 0),
      sizeFlushes: 3,
      timeoutFlushes: 1,
      drainFlushes: 1
    })
  })

  it("dead-letters an invalid bundle under its reason and does not count it", () => {
    const context = Stage.context(Output)
    const logic = makeLogic({ maxCount: 16 }, context)
    const out = new CaptureEmitter<never>(undefined)
    feed(logic, out, [[bundle(0, 16), bundle(1, 0), bundle(2, 17), { ...bundle(3, 4), reason: 7 }, { ...bundle(4, 3), lastTxId: 0 }, bundle(5, 1)]])
    assert.deepStrictEqual(out.deadLetters.map((d) => [Output.errors[d.code], d.record.id]), [
      ["CountOutOfRange", 1],
      ["CountOutOfRange", 2],
      ["BadFlushReason", 3],
      ["TxIdsOutOfOrder", 4]
    ])
    assert.strictEqual(out.delivered, 2)
    assert.strictEqual(totalsOf(context).transactions, 17)
    assert.strictEqual(totalsOf(context).bundles, 2)
  })

  it("a restarted sink continues from its counters (the loop hands it the committed ones)", () => {
    const context = Stage.context(Output)
    const out = new CaptureEmitter<never>(undefined)
    feed(makeLogic({}, context), out, [[bundle(0, 16), bundle(1, 16)]])
    feed(makeLogic({}, context), out, [[bundle(2, 3)]])
    assert.strictEqual(totalsOf(context).bundles, 3)
    assert.strictEqual(totalsOf(context).transactions, 35)
    assert.strictEqual(
      totalsOf(context).checksum,
      [bundle(0, 16), bundle(1, 16), bundle(2, 3)].reduce((acc, b) => OutputTotals.checksumOf(acc, b.firstTxId, b.lastTxId, b.count), 0)
    )
  })

  it.live("in a pipeline, OutputTotals.read sums the instances of a partitioned output relay, checksums included", () =>
    Effect.gen(function*() {
      const bundles = Array.from({ length: 400 }, (_, i) => bundle(i, 1 + (i % 16), i % 3 === 0 ? FlushReason.Timeout : FlushReason.Size))
      const { stats, ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(ReplaySource.make(Bundle.Bundle), ReplaySource.encode(Bundle.Bundle, [bundles.slice(0, 150), bundles.slice(150)]))
          .partition(OutputRelay, {}, { by: "id", count: 2 })
          .to(CaptureSink.make(Bundle.Bundle), CaptureSink.allocate(Bundle.Bundle, 400))
      ).pipe(Effect.provide(NodeStageHost.layer))
      assert.isTrue(ledger.balanced)
      const totals = OutputTotals.read(stats)
      assert.strictEqual(totals.bundles, 400)
      assert.strictEqual(totals.transactions, bundles.reduce((n, b) => n + b.count, 0))
      assert.strictEqual(totals.checksum, bundles.reduce((acc, b) => OutputTotals.checksumOf(acc, b.firstTxId, b.lastTxId, b.count), 0))
      assert.strictEqual(totals.timeoutFlushes, bundles.filter((b) => b.reason === FlushReason.Timeout).length)
      assert.deepStrictEqual(stats.stages.filter((s) => s.definition === "output").map((s) => s.counters["bundles"]), [200, 200])
    }))
})

describe("OutputRelay: the same counting, every valid bundle forwarded", () => {
  it("emits each valid bundle unchanged, dead-letters the invalid ones, and counts exactly as the sink does", () => {
    const batches = [[bundle(0, 16), bundle(1, 0), bundle(2, 3, FlushReason.Timeout)], [{ ...bundle(3, 4), reason: 7 }, bundle(4, 2, FlushReason.Drain)]]
    const sinkContext = Stage.context(Output)
    const sink = makeLogic({ maxCount: 16 }, sinkContext)
    const sunk = new CaptureEmitter<never>(undefined)
    feed(sink, sunk, batches)
    const relayContext = Stage.context(OutputRelay)
    const relay = makeRelayLogic({ maxCount: 16 }, relayContext)
    const relayed = new CaptureEmitter(Bundle.Bundle)
    for (const b of batches) relay.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, relayed)
    const records = relayed.take()
    assert.deepStrictEqual(records.map((r) => r.id), [0, 2, 4])
    assert.deepStrictEqual(records[1], bundle(2, 3, FlushReason.Timeout))
    assert.strictEqual(relayed.emitted, 3)
    assert.deepStrictEqual(relayed.deadLetters.map((d) => [OutputRelay.errors[d.code], d.record.id]), [["CountOutOfRange", 1], ["BadFlushReason", 3]])
    assert.deepStrictEqual(totalsOf(relayContext), totalsOf(sinkContext))
    assert.strictEqual(sunk.delivered, records.length)
  })
})

// -------------------------------------------------------------------------------------------------
// The stage contract, counting only (no file): mostly valid bundles, one in ten broken.

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const bundles = Arbitrary.map(
  Arbitrary.all({ id: int(0, 10_000), first: int(0, 1_000_000), count: int(1, 16), reason: int(0, 2), broken: int(0, 9), openNs: int(0, 1e9) }),
  ({ broken, count, first, id, openNs, reason }): RecordLayout.RecordOf<typeof Bundle.Bundle.spec> => ({
    id,
    firstTxId: first,
    lastTxId: first + count - 1,
    openNs,
    closeNs: openNs + 100,
    count: broken === 9 ? 0 : count,
    reason
  })
)
const inputs = StageContract.arbitraryBatches(bundles, { maxBatches: 10, maxBatchLength: 30 })

describe("Output keeps the stage contract", () => {
  it.effect("in-process: every bundle is delivered or dead-lettered, nothing held", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(Output, { config: {}, inputs, runs: 100 })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory"])
    }))

  it.live("fused and in a worker: the same accounting and dead letters as in-process", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Output, { config: {}, inputs, placementRuns: 3 })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

describe("OutputRelay keeps the stage contract", () => {
  it.effect("in-process: every bundle is emitted or dead-lettered, nothing held", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(OutputRelay, { config: {}, inputs, runs: 100 })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory"])
    }))

  it.live("fused and in a worker: the same records and dead letters as in-process", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(OutputRelay, { config: {}, inputs, placementRuns: 3 })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
