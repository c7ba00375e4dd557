import { assert, describe, it } from "@effect/vitest"
import { Worker } from "node:worker_threads"
import { Arbitrary, Effect, Schema } from "effect"
import { type RecordLayout } from "@velox/core"
import { Bundle, Output, OutputCounters, OutputRelay } from "@velox/market"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { makeLogic, makeRelayLogic } from "../../packages/market/src/Output.ts"
import { bundle } from "../fixtures/bundles.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

type BundleRecord = Bundle.BundleRecord
const { FlushReason } = Bundle

const feed = (logic: ReturnType<typeof makeLogic>, out: CaptureEmitter<never>, batches: ReadonlyArray<ReadonlyArray<BundleRecord>>) => {
  for (const b of batches) logic.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, out)
}

describe("OutputCounters: the shared counters' layout", () => {
  it("every offset is where the drawing puts it: magic, sequence, then six f64 counts, 56 bytes", () => {
    assert.strictEqual(OutputCounters.MAGIC_OFFSET, 0)
    assert.strictEqual(OutputCounters.SEQUENCE_OFFSET, 4)
    const counts = [
      OutputCounters.BUNDLES_OFFSET,
      OutputCounters.TRANSACTIONS_OFFSET,
      OutputCounters.CHECKSUM_OFFSET,
      OutputCounters.SIZE_FLUSHES_OFFSET,
      OutputCounters.TIMEOUT_FLUSHES_OFFSET,
      OutputCounters.DRAIN_FLUSHES_OFFSET
    ]
    assert.deepStrictEqual(counts, [8, 16, 24, 32, 40, 48])
    assert.strictEqual(OutputCounters.BYTE_LENGTH, 56)
    const buffer = OutputCounters.make()
    assert.strictEqual(buffer.byteLength, 56)
    assert.strictEqual(new Int32Array(buffer)[0], OutputCounters.MAGIC)
    assert.isTrue(OutputCounters.isCounters(buffer))
    assert.isFalse(OutputCounters.isCounters(new SharedArrayBuffer(56)))
    // The writer's fields land at those offsets.
    const w = new OutputCounters.Writer(buffer)
    w.bundles = 1
    w.transactions = 2
    w.checksum = 3
    w.sizeFlushes = 4
    w.timeoutFlushes = 5
    w.drainFlushes = 6
    w.publish()
    assert.deepStrictEqual(counts.map((o) => new Float64Array(buffer)[o / 8]), [1, 2, 3, 4, 5, 6])
    assert.strictEqual(new Int32Array(buffer)[1], 2, "one update: the sequence went odd, then even")
  })

  it("a reader gives up on a writer that died mid-update (its sequence stuck odd) instead of hanging", () => {
    const buffer = OutputCounters.make()
    const w = new OutputCounters.Writer(buffer)
    w.bundles = 2
    w.publish()
    Atomics.store(new Int32Array(buffer), 1, 3) // odd: an update begun and never finished
    assert.strictEqual(OutputCounters.read(buffer).bundles, 2)
    // A successor's first update makes the sequence even again.
    const next = new OutputCounters.Writer(buffer)
    next.bundles = 5
    next.publish()
    assert.strictEqual(new Int32Array(buffer)[1], 4)
    assert.strictEqual(OutputCounters.read(buffer).bundles, 5)
  })

  it("the checksum is a sum mod 2^48: exact, and the same in any order", () => {
    const bundles = [[0, 15, 16], [16, 31, 16], [2 ** 50 + 3, 2 ** 50 + 9, 7], [32, 35, 4]] as const
    const forward = bundles.reduce((acc, [f, l, c]) => OutputCounters.checksumOf(acc, f, l, c), 0)
    const backward = [...bundles].reverse().reduce((acc, [f, l, c]) => OutputCounters.checksumOf(acc, f, l, c), 0)
    assert.strictEqual(forward, backward)
    assert.strictEqual(forward, (0 + 15 + 16 + 16 + 31 + 16 + 3 + 9 + 7 + 32 + 35 + 4 + 2 * (2 ** 50 % 2 ** 48)) % 2 ** 48)
  })

  it.live("a reader on another thread never sees a torn update while a worker publishes", () =>
    Effect.promise(async () => {
      const counters = OutputCounters.make()
      const stop = new SharedArrayBuffer(4)
      const worker = new Worker(new URL("../fixtures/outputCountersWriter.ts", import.meta.url), { workerData: { counters, stop } })
      let failed: unknown = undefined
      worker.on("error", (e) => (failed = e))
      // Wait (yielding, so a worker error is seen) until the writer is publishing.
      for (let waited = 0; OutputCounters.read(counters).bundles === 0; waited += 10) {
        if (failed !== undefined || waited > 30_000) assert.fail(`the writer did not start: ${String(failed ?? "no update in 30 s")}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      let reads = 0
      let last = 0
      // Read until many reads overlapped many updates (a count, not a time: a loaded machine is slow).
      const giveUpAt = Date.now() + 30_000
      while ((reads < 1_000 || last < 1_000) && Date.now() < giveUpAt) {
        const s = OutputCounters.read(counters)
        if (s.transactions !== 16 * s.bundles || s.checksum !== 3 * s.bundles || s.sizeFlushes !== s.bundles) {
          assert.fail(`torn snapshot: ${JSON.stringify(s)}`)
        }
        if (s.bundles < last) assert.fail(`went back: ${s.bundles} after ${last}`)
        last = s.bundles
        reads++
      }
      Atomics.store(new Int32Array(stop), 0, 1)
      await new Promise((resolve) => worker.once("exit", resolve))
      // Reads and updates overlapped many times (the counts are progress, not timing thresholds).
      assert.isAtLeast(reads, 1_000)
      assert.isAtLeast(last, 1_000)
    }))
})

describe("Output: counting and checksums", () => {
  it("counts bundles, transactions and flushes per reason, and checksums them; accounts every bundle delivered", () => {
    const counters = OutputCounters.make()
    const logic = makeLogic({ counters })
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 16), bundle(1, 16), bundle(2, 5, FlushReason.Timeout), bundle(3, 16), bundle(4, 2, FlushReason.Drain)]
    feed(logic, out, [bundles.slice(0, 2), bundles.slice(2)])
    logic.onDrain!(out)
    assert.strictEqual(out.delivered, 5)
    assert.deepStrictEqual(OutputCounters.read(counters), {
      bundles: 5,
      transactions: 55,
      checksum: bundles.reduce((acc, b) => OutputCounters.checksumOf(acc, b.firstTxId, b.lastTxId, b.count), 0),
      sizeFlushes: 3,
      timeoutFlushes: 1,
      drainFlushes: 1
    })
  })

  it("dead-letters an invalid bundle under its reason and does not count it", () => {
    const counters = OutputCounters.make()
    const logic = makeLogic({ counters, maxCount: 16 })
    const out = new CaptureEmitter<never>(undefined)
    feed(logic, out, [[bundle(0, 16), bundle(1, 0), bundle(2, 17), { ...bundle(3, 4), reason: 7 }, { ...bundle(4, 3), lastTxId: 0 }, bundle(5, 1)]])
    assert.deepStrictEqual(out.deadLetters.map((d) => [Output.errors[d.code], d.record.id]), [
      ["CountOutOfRange", 1],
      ["CountOutOfRange", 2],
      ["BadFlushReason", 3],
      ["TxIdsOutOfOrder", 4]
    ])
    assert.strictEqual(out.delivered, 2)
    assert.strictEqual(OutputCounters.read(counters).transactions, 17)
  })

  it("a restarted sink continues from the counts in the buffer", () => {
    const counters = OutputCounters.make()
    const out = new CaptureEmitter<never>(undefined)
    feed(makeLogic({ counters }), out, [[bundle(0, 16), bundle(1, 16)]])
    feed(makeLogic({ counters }), out, [[bundle(2, 3)]])
    assert.strictEqual(OutputCounters.read(counters).bundles, 3)
    assert.strictEqual(OutputCounters.read(counters).transactions, 35)
  })
})

describe("OutputRelay: the same counting, every valid bundle forwarded", () => {
  it("emits each valid bundle unchanged, dead-letters the invalid ones, and counts exactly as the sink does", () => {
    const batches = [[bundle(0, 16), bundle(1, 0), bundle(2, 3, FlushReason.Timeout)], [{ ...bundle(3, 4), reason: 7 }, bundle(4, 2, FlushReason.Drain)]]
    const sinkCounters = OutputCounters.make()
    const sink = makeLogic({ counters: sinkCounters, maxCount: 16 })
    const sunk = new CaptureEmitter<never>(undefined)
    feed(sink, sunk, batches)
    const relayCounters = OutputCounters.make()
    const relay = makeRelayLogic({ counters: relayCounters, maxCount: 16 })
    const relayed = new CaptureEmitter(Bundle.Bundle)
    for (const b of batches) relay.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, relayed)
    relay.onDrain!(relayed)
    const records = relayed.take()
    assert.deepStrictEqual(records.map((r) => r.id), [0, 2, 4])
    assert.deepStrictEqual(records[1], bundle(2, 3, FlushReason.Timeout))
    assert.strictEqual(relayed.emitted, 3)
    assert.deepStrictEqual(relayed.deadLetters.map((d) => [OutputRelay.errors[d.code], d.record.id]), [["CountOutOfRange", 1], ["BadFlushReason", 3]])
    assert.deepStrictEqual(OutputCounters.read(relayCounters), OutputCounters.read(sinkCounters))
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
