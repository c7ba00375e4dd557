/**
 * Output's and the Bundler's latency recording: the shared buffer's layout, the buckets, what the sink records (driven by
 * hand with an injected clock), and the pipeline handing every loop's clock to `make` (real workers).
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { Pipeline, Stage } from "@velox/core"
import { BookUpdate, Bundle, Bundler, Ingress, OrderBookStage, Output, OutputLatency, OutputTotals } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { makeLogic as makeBundlerLogic } from "../../packages/market/src/Bundler.ts"
import { makeLogic } from "../../packages/market/src/Output.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

const { FlushReason } = Bundle
const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const bundle = (id: number, openNs: number, closeNs: number, reason: number): Bundle.BundleRecord => ({
  id,
  firstTxId: id * 16,
  lastTxId: id * 16 + 15,
  openNs,
  closeNs,
  count: 16,
  reason
})

describe("OutputLatency: the shared buffer's layout", () => {
  it("every offset is where the drawing puts it: magic, recording, then three histograms of 4 + 865 f64 from byte 64", () => {
    assert.strictEqual(OutputLatency.MAGIC_OFFSET, 0)
    assert.strictEqual(OutputLatency.RECORDING_OFFSET, 4)
    assert.strictEqual(OutputLatency.CLOSING_OFFSET, 64)
    assert.strictEqual(OutputLatency.BUCKET_COUNT, 865)
    assert.strictEqual(OutputLatency.HISTOGRAM_BYTES, 6952)
    assert.strictEqual(OutputLatency.OLDEST_OFFSET, 7016)
    assert.strictEqual(OutputLatency.TRANSACTION_OFFSET, 13968)
    assert.strictEqual(OutputLatency.BYTE_LENGTH, 20920)
    const buffer = OutputLatency.make()
    assert.strictEqual(buffer.byteLength, 20920)
    assert.strictEqual(new Int32Array(buffer)[0], OutputLatency.MAGIC)
    assert.isTrue(OutputLatency.isLatency(buffer))
    assert.isFalse(OutputLatency.isLatency(new SharedArrayBuffer(20920)))
    assert.isFalse(OutputLatency.isLatency(new SharedArrayBuffer(13968)))
    assert.isFalse(OutputLatency.isLatency(new SharedArrayBuffer(56)))
    // The recorder's words land there: count, sumNs, maxNs, negatives, then bucket 0 at byte 96.
    const r = new OutputLatency.Recorder(buffer)
    assert.isFalse(r.recording())
    OutputLatency.startRecording(buffer)
    assert.strictEqual(new Int32Array(buffer)[1], 1)
    assert.isTrue(r.recording())
    r.record(OutputLatency.CLOSING, 5)
    r.record(OutputLatency.OLDEST, 7)
    r.record(OutputLatency.OLDEST, -3)
    const f = new Float64Array(buffer)
    assert.deepStrictEqual([f[8], f[9], f[10], f[11], f[12 + 5]], [1, 5, 5, 0, 1])
    const oldest = 7016 / 8
    assert.deepStrictEqual([f[oldest], f[oldest + 1], f[oldest + 2], f[oldest + 3], f[oldest + 4], f[oldest + 4 + 7]], [2, 7, 7, 1, 1, 1])
    r.record(OutputLatency.TRANSACTION, 9)
    const transaction = 13968 / 8
    assert.deepStrictEqual([f[transaction], f[transaction + 1], f[transaction + 2], f[transaction + 4 + 9]], [1, 9, 9, 1])
    OutputLatency.stopRecording(buffer)
    assert.isFalse(r.recording())
  })
})

describe("OutputLatency: buckets", () => {
  it("below 64 ns every whole ns has its own bucket; negative and NaN land in bucket 0; 2^31 ns and up overflow", () => {
    for (let v = 0; v < 64; v++) {
      assert.strictEqual(OutputLatency.bucketOf(v), v)
      assert.strictEqual(OutputLatency.bucketUpperNs(v), v)
    }
    assert.strictEqual(OutputLatency.bucketOf(7.9), 7)
    assert.strictEqual(OutputLatency.bucketOf(-5), 0)
    assert.strictEqual(OutputLatency.bucketOf(NaN), 0)
    assert.strictEqual(OutputLatency.bucketOf(64), 64)
    assert.strictEqual(OutputLatency.bucketUpperNs(64), 65)
    assert.strictEqual(OutputLatency.bucketOf(2 ** 31 - 1), OutputLatency.OVERFLOW_BUCKET - 1)
    assert.strictEqual(OutputLatency.bucketUpperNs(OutputLatency.OVERFLOW_BUCKET - 1), 2 ** 31 - 1)
    assert.strictEqual(OutputLatency.bucketOf(2 ** 31), OutputLatency.OVERFLOW_BUCKET)
    assert.strictEqual(OutputLatency.bucketOf(1e15), OutputLatency.OVERFLOW_BUCKET)
    assert.strictEqual(OutputLatency.bucketUpperNs(OutputLatency.OVERFLOW_BUCKET), Infinity)
  })

  it.prop(
    "a latency's bucket ends at or above it and within 1/32 of it, and a larger latency never gets a smaller bucket",
    { a: int(0, 2 ** 31 - 1), b: int(0, 2 ** 31 - 1) },
    ({ a, b }) => {
      const upper = OutputLatency.bucketUpperNs(OutputLatency.bucketOf(a))
      assert.isAtLeast(upper, a)
      assert.isAtMost(upper, a + a / 32)
      // The bucket below ends below a: buckets are contiguous.
      const i = OutputLatency.bucketOf(a)
      if (i > 0) assert.isBelow(OutputLatency.bucketUpperNs(i - 1), a)
      if (a <= b) assert.isAtMost(OutputLatency.bucketOf(a), OutputLatency.bucketOf(b))
    }
  )

  it("percentiles are bucket upper bounds, capped by the exact maximum", () => {
    const buffer = OutputLatency.make()
    const r = new OutputLatency.Recorder(buffer)
    for (let v = 1; v <= 100; v++) r.record(OutputLatency.CLOSING, v * 10) // 10 … 1000 ns
    const { closing, oldest } = OutputLatency.read(buffer)
    assert.strictEqual(closing.count, 100)
    assert.strictEqual(closing.meanNs, 505)
    assert.strictEqual(closing.maxNs, 1000)
    assert.strictEqual(OutputLatency.percentileNs(closing, 0.05), 50) // exact below 64
    assert.strictEqual(OutputLatency.percentileNs(closing, 0.5), 503) // 500 is in [496, 503]
    assert.strictEqual(OutputLatency.percentileNs(closing, 1), 1000) // bucket [992, 1007], capped by the max
    assert.isNaN(OutputLatency.percentileNs(oldest, 0.5))
    assert.throws(() => OutputLatency.percentileNs(closing, 0), RangeError)
  })
})

describe("Bundler: every transaction's latency", () => {
  const updates = (tsNs: ReadonlyArray<number>) =>
    viewOf(BookUpdate.BookUpdate, tsNs.map((ts, i) => ({ txId: i, tsNs: ts, price: 100, levelSize: 1, bestBid: 99, bestAsk: 101, symbol: 0, side: 0, kind: 0 })))

  it("records every update while recording is on, from one clock reading per batch, whether or not its bundle filled", () => {
    let reads = 0
    let now = 1_000
    const nowNs = () => (reads++, now)
    const latency = OutputLatency.make()
    const logic = makeBundlerLogic({ maxSize: 16, latency }, { nowNs })
    const out = new CaptureEmitter(Bundle.Bundle)
    logic.onBatch(updates([900, 950]), 0, 2, out) // off: not recorded, the clock not read
    assert.strictEqual(reads, 0)
    OutputLatency.startRecording(latency)
    now = 2_000
    logic.onBatch(updates([1_990, 1_960, 1_900]), 0, 3, out) // 10, 40, 100; no bundle closes
    assert.strictEqual(reads, 1)
    OutputLatency.stopRecording(latency)
    logic.onBatch(updates([1_999]), 0, 1, out)
    assert.strictEqual(reads, 1)
    const { transaction, closing, oldest } = OutputLatency.read(latency)
    assert.strictEqual(transaction.count, 3)
    assert.strictEqual(transaction.maxNs, 100)
    assert.deepStrictEqual([transaction.buckets[10], transaction.buckets[40], transaction.buckets[OutputLatency.bucketOf(100)]], [1, 1, 1])
    // The bundler writes its own histogram only.
    assert.strictEqual(closing.count + oldest.count, 0)
    assert.strictEqual(out.emitted, 0)
  })

  it("without a clock it refuses a latency buffer instead of recording nothing", () => {
    assert.throws(() => makeBundlerLogic({ latency: OutputLatency.make() }), TypeError)
  })
})

describe("Output: latency recording", () => {
  it("records only while recording is on: every bundle from its openNs, size-closed bundles also from their closeNs", () => {
    const latency = OutputLatency.make()
    let now = 10_000
    const logic = makeLogic({ latency }, Stage.context(Output, { nowNs: () => now }))
    const out = new CaptureEmitter<never>(undefined)
    const feed = (bundles: ReadonlyArray<Bundle.BundleRecord>) => logic.onBatch(viewOf(Bundle.Bundle, bundles), 0, bundles.length, out)
    feed([bundle(0, 100, 200, FlushReason.Size)]) // off: not recorded
    OutputLatency.startRecording(latency)
    now = 20_000
    feed([
      bundle(1, 19_950, 19_990, FlushReason.Size), //   closing 10, oldest 50
      bundle(2, 19_900, 19_960, FlushReason.Timeout) // oldest 100 (a timer's closeNs is not a transaction's)
    ])
    now = 30_000
    feed([bundle(3, 29_940, 29_980, FlushReason.Drain)]) // oldest 60
    OutputLatency.stopRecording(latency)
    feed([bundle(4, 0, 0, FlushReason.Size)]) // off again
    const { closing, oldest } = OutputLatency.read(latency)
    assert.strictEqual(closing.count, 1)
    assert.strictEqual(closing.maxNs, 10)
    assert.strictEqual(closing.buckets[10], 1)
    assert.strictEqual(oldest.count, 3)
    assert.deepStrictEqual([oldest.buckets[50], oldest.buckets[60], oldest.buckets[OutputLatency.bucketOf(100)]], [1, 1, 1])
    assert.strictEqual(oldest.meanNs, 70)
    assert.strictEqual(out.delivered, 5)
  })

  it("reads the clock once per batch, and not at all when recording is off or not configured", () => {
    let reads = 0
    const nowNs = () => (reads++, 1_000)
    const latency = OutputLatency.make()
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 0, 0, FlushReason.Size), bundle(1, 0, 0, FlushReason.Size), bundle(2, 0, 0, FlushReason.Size)]
    const logic = makeLogic({ latency }, Stage.context(Output, { nowNs }))
    logic.onBatch(viewOf(Bundle.Bundle, bundles), 0, 3, out)
    assert.strictEqual(reads, 0)
    OutputLatency.startRecording(latency)
    logic.onBatch(viewOf(Bundle.Bundle, bundles), 0, 3, out)
    assert.strictEqual(reads, 1)
    makeLogic({}, Stage.context(Output, { nowNs })).onBatch(viewOf(Bundle.Bundle, bundles), 0, 3, out)
    assert.strictEqual(reads, 1)
    assert.strictEqual(OutputLatency.read(latency).closing.count, 3)
  })

  it("a buffer that is not a latency buffer is refused by the config", () => {
    assert.isFalse(Schema.is(Output.config)({ latency: new SharedArrayBuffer(64) }))
    assert.isTrue(Schema.is(Output.config)({ latency: OutputLatency.make() }))
    assert.isFalse(Schema.is(Bundler.config)({ latency: new SharedArrayBuffer(13968) }))
    assert.isTrue(Schema.is(Bundler.config)({ latency: OutputLatency.make() }))
  })

  for (const placement of ["fused", "worker"] as const) {
    it.live(`${placement}: in a pipeline the sink gets its loop's clock and records every bundle it received`, () =>
      Effect.gen(function*() {
        const latency = OutputLatency.make()
        OutputLatency.startRecording(latency)
        const pipeline = Pipeline.from(Ingress, { count: 20_000, rate: 1_000_000, symbols: 4, seed: 3 })
          .via(OrderBookStage, { symbols: 4 })
          .via(Bundler, { latency })
          .to(Output, { latency }, { placement })
        const { ledger, stats } = yield* Pipeline.runToEnd(pipeline).pipe(Effect.provide(NodeStageHost.layer))
        assert.isTrue(ledger.balanced)
        const c = OutputTotals.read(stats)
        const { closing, oldest, transaction } = OutputLatency.read(latency)
        assert.strictEqual(oldest.count, c.bundles)
        assert.strictEqual(closing.count, c.sizeFlushes)
        // The bundler, in the output's loop or the one before it, recorded every transaction bundled.
        assert.strictEqual(transaction.count, c.transactions)
        assert.strictEqual(transaction.negatives, 0)
        // Readings on the pipeline clock: a bundle reaches the output after its first transaction's
        // timestamp (in one thread exactly; across threads up to the clocks' calibration error).
        if (placement === "fused") {
          assert.strictEqual(oldest.negatives, 0)
          assert.strictEqual(closing.negatives, 0)
        }
        assert.isAbove(oldest.meanNs, 0)
      }))
  }
})
