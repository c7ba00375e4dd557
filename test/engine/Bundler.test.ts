import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { type RecordLayout, type Stage } from "@velox/core"
import { BookUpdate, Bundle, Bundler } from "@velox/market"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { type Config, makeLogic } from "../../packages/market/src/Bundler.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

type Update = RecordLayout.RecordOf<typeof BookUpdate.BookUpdate.spec>
type BundleRecord = Bundle.BundleRecord
type Logic = Stage.StageLogic<typeof BookUpdate.BookUpdate.spec, typeof Bundle.Bundle.spec>

const { FlushReason } = Bundle

/** `n` updates with ids `from ..` and timestamps `tsNs(i)`. */
const updates = (n: number, from = 0, tsNs: (i: number) => number = (i) => 1_000 + i): Array<Update> =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k
    return { txId: i, tsNs: tsNs(i), price: 100 + (i % 7), levelSize: i % 50, bestBid: 99, bestAsk: 101, symbol: i % 3, side: i % 2, kind: 0 }
  })

/** Drives a fresh bundler: batches, each followed by timer readings; then drains. */
class Driver {
  readonly logic: Logic
  readonly out = new CaptureEmitter(Bundle.Bundle)
  readonly bundles: Array<BundleRecord> = []
  inputs = 0

  constructor(config: Config) {
    this.logic = makeLogic(config)
  }

  batch(records: ReadonlyArray<Update>): this {
    if (records.length === 0) return this
    this.inputs += records.length
    this.logic.onBatch(viewOf(BookUpdate.BookUpdate, records), 0, records.length, this.out)
    this.bundles.push(...this.out.take())
    this.check()
    return this
  }

  timer(nowNs: number): this {
    this.logic.onTimer!(nowNs, this.out)
    this.bundles.push(...this.out.take())
    this.check()
    return this
  }

  drain(): this {
    this.logic.onDrain!(this.out)
    this.bundles.push(...this.out.take())
    assert.strictEqual(this.logic.retained!(), 0)
    this.check()
    return this
  }

  /** Every input is in a bundle already emitted or in the open one. */
  private check(): void {
    assert.strictEqual(this.out.emitted + this.logic.retained!(), this.inputs)
    assert.strictEqual(this.bundles.reduce((a, b) => a + b.count, 0), this.out.emitted)
  }
}

/** The reference: the list cut into chunks of `size`, the last one short (flushed by the drain). */
const chunk = (list: ReadonlyArray<Update>, size: number): Array<BundleRecord> => {
  const bundles: Array<BundleRecord> = []
  for (let i = 0; i < list.length; i += size) {
    const part = list.slice(i, i + size)
    bundles.push({
      id: bundles.length,
      firstTxId: part[0]!.txId,
      lastTxId: part[part.length - 1]!.txId,
      openNs: part[0]!.tsNs,
      closeNs: Math.max(...part.map((u) => u.tsNs)),
      count: part.length,
      reason: part.length === size ? FlushReason.Size : FlushReason.Drain
    })
  }
  return bundles
}

/** Splits a list at the given cut points (sorted, deduplicated, inside the list). */
const split = <A>(list: ReadonlyArray<A>, cuts: ReadonlyArray<number>): Array<Array<A>> => {
  const points = [...new Set(cuts.map((c) => c % (list.length + 1)))].sort((a, b) => a - b)
  const parts: Array<Array<A>> = []
  let from = 0
  for (const p of [...points, list.length]) {
    parts.push(list.slice(from, p))
    from = p
  }
  return parts
}

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

describe("Bundler: size, timeout, drain", () => {
  it("closes a bundle at maxSize, inside the batch that filled it", () => {
    const d = new Driver({ maxSize: 4 }).batch(updates(10))
    assert.deepStrictEqual(d.bundles.map((b) => [b.firstTxId, b.lastTxId, b.count, b.reason]), [
      [0, 3, 4, FlushReason.Size],
      [4, 7, 4, FlushReason.Size]
    ])
    assert.strictEqual(d.logic.retained!(), 2)
  })

  it("an idle bundle is flushed by the timer once timeoutNs has passed since its first update's timestamp", () => {
    const d = new Driver({ maxSize: 16, timeoutNs: 100_000 }).batch(updates(5, 0, (i) => 1_000 + i))
    d.timer(50_000).timer(100_999)
    assert.strictEqual(d.bundles.length, 0, "not yet: 100_999 - 1_000 < 100_000")
    d.timer(101_000)
    assert.deepStrictEqual(d.bundles, [{ id: 0, firstTxId: 0, lastTxId: 4, openNs: 1_000, closeNs: 101_000, count: 5, reason: FlushReason.Timeout }])
    assert.strictEqual(d.logic.retained!(), 0)
    // Nothing open: later ticks and the drain emit nothing, and never an empty bundle.
    d.timer(500_000).timer(900_000).drain()
    assert.strictEqual(d.bundles.length, 1)
  })

  it("the timeout runs from the bundle's open time, not from its last update", () => {
    const d = new Driver({ maxSize: 100, timeoutNs: 10_000 })
    d.batch(updates(1, 0, () => 0)).timer(9_000).batch(updates(1, 1, () => 9_500)).timer(10_000)
    assert.deepStrictEqual(d.bundles.map((b) => [b.count, b.reason, b.closeNs]), [[2, FlushReason.Timeout, 10_000]])
    // The next bundle opens with the next update.
    d.batch(updates(1, 2, () => 12_000)).timer(21_999).timer(22_000)
    assert.deepStrictEqual(d.bundles.map((b) => [b.firstTxId, b.openNs, b.reason]), [[0, 0, FlushReason.Timeout], [2, 12_000, FlushReason.Timeout]])
  })

  it("the drain flushes what is open at the end of the stream", () => {
    const d = new Driver({ maxSize: 16 }).batch(updates(20)).drain()
    assert.deepStrictEqual(d.bundles.map((b) => [b.id, b.firstTxId, b.lastTxId, b.count, b.reason]), [
      [0, 0, 15, 16, FlushReason.Size],
      [1, 16, 19, 4, FlushReason.Drain]
    ])
  })

  it("an exact multiple of maxSize leaves nothing for the drain: no empty bundle", () => {
    for (const n of [16, 32, 160]) {
      const d = new Driver({}).batch(updates(n))
      assert.strictEqual(d.logic.retained!(), 0)
      d.drain()
      assert.strictEqual(d.bundles.length, n / 16)
      assert.isTrue(d.bundles.every((b) => b.count === 16 && b.reason === FlushReason.Size))
    }
    // And an empty stream makes no bundle at all.
    assert.strictEqual(new Driver({}).timer(1e9).drain().bundles.length, 0)
  })

  it("defaults: bundles of 16, a 100 µs timeout, a 25 µs timer; maxRetained is maxSize", () => {
    assert.strictEqual(Bundler.timerPeriodNs, 25_000)
    assert.strictEqual(Bundler.maxRetained({}), 16)
    assert.strictEqual(Bundler.maxRetained({ maxSize: 64 }), 64)
    const d = new Driver({}).batch(updates(3, 0, () => 0)).timer(99_999)
    assert.strictEqual(d.bundles.length, 0)
    d.timer(100_000)
    assert.strictEqual(d.bundles[0]!.count, 3)
  })

  it("closeNs is the newest timestamp in the bundle, or the reading of the timer that timed it out", () => {
    const d = new Driver({ maxSize: 2, timeoutNs: 50_000 })
    d.timer(5_000).batch(updates(2, 0, (i) => [300, 100][i]!)).batch(updates(2, 2, (i) => 7_000 + i)).batch(updates(1, 4, () => 8_000))
    d.timer(57_999).timer(58_000).batch(updates(1, 5, () => 60_000)).drain()
    assert.deepStrictEqual(d.bundles.map((b) => [b.openNs, b.closeNs, b.reason]), [
      [300, 300, FlushReason.Size],
      [7_002, 7_003, FlushReason.Size],
      [8_000, 58_000, FlushReason.Timeout],
      [60_000, 60_000, FlushReason.Drain]
    ])
  })
})

describe("Bundler against a list-chunking reference", () => {
  it.prop(
    "with no timeout firing, the bundles are the input cut into chunks of maxSize, however it is batched and whenever timers run",
    { n: int(0, 300), size: int(1, 40), cuts: Arbitrary.array(int(0, 300), { maxLength: 30 }), gaps: Arbitrary.array(int(0, 5_000), { minLength: 300, maxLength: 300 }) },
    ({ cuts, gaps, n, size }) => {
      let t = 0
      const list = updates(n, 0, (i) => (t += gaps[i]!))
      const d = new Driver({ maxSize: size, timeoutNs: Infinity })
      for (const part of split(list, cuts)) d.batch(part).timer(t + part.length)
      d.drain()
      assert.deepStrictEqual(d.bundles, chunk(list, size))
    }
  )

  it.prop(
    "the same input split two ways, with the same timer readings between the same records, gives the same bundles",
    {
      n: int(1, 200),
      size: int(1, 24),
      cutsA: Arbitrary.array(int(0, 200), { maxLength: 20 }),
      cutsB: Arbitrary.array(int(0, 200), { maxLength: 20 })
    },
    ({ cutsA, cutsB, n, size }) => {
      const list = updates(n, 0, (i) => i * 1_000)
      const run = (cuts: ReadonlyArray<number>) => {
        const d = new Driver({ maxSize: size, timeoutNs: 10_000 })
        for (const part of split(list, cuts)) d.batch(part)
        return d.drain().bundles
      }
      assert.deepStrictEqual(run(cutsA), run(cutsB))
    }
  )

  it.prop(
    "with timers: every update is in exactly one non-empty bundle, in order, none over maxSize",
    {
      n: int(0, 200),
      size: int(1, 20),
      steps: Arbitrary.array(Arbitrary.all({ take: int(0, 15), tick: int(0, 40_000) }), { maxLength: 60 })
    },
    ({ n, size, steps }) => {
      const list = updates(n, 0, (i) => i * 2_000)
      const d = new Driver({ maxSize: size, timeoutNs: 25_000 })
      let at = 0
      let now = 0
      for (const { take, tick } of steps) {
        d.batch(list.slice(at, at + take))
        at = Math.min(n, at + take)
        now += tick
        d.timer(now)
      }
      d.batch(list.slice(at)).drain()
      const ids = d.bundles.flatMap((b) => Array.from({ length: b.count }, (_, k) => b.firstTxId + k))
      assert.deepStrictEqual(ids, list.map((u) => u.txId))
      d.bundles.forEach((b, i) => {
        assert.strictEqual(b.id, i)
        assert.isTrue(b.count >= 1 && b.count <= size)
        assert.strictEqual(b.lastTxId - b.firstTxId + 1, b.count)
        assert.strictEqual(Bundle.validateRecordUnsafe(b, size), Bundle.OK)
        if (b.reason === FlushReason.Timeout) assert.isAtLeast(b.closeNs - b.openNs, 25_000)
      })
    }
  )
})

// -------------------------------------------------------------------------------------------------
// The stage contract. Timestamps near the ticks' clock (which starts at 0), so timeouts do fire.

const bookUpdate = Arbitrary.map(
  Arbitrary.all({ txId: int(0, 1_000_000), tsNs: int(0, 200_000), price: int(1, 10_000), levelSize: int(0, 500), symbol: int(0, 7), side: int(0, 1), kind: int(0, 2) }),
  (u) => ({ ...u, bestBid: u.price - 1, bestAsk: u.price + 1 })
)
const inputs = StageContract.arbitraryBatches(bookUpdate, { maxBatches: 12, maxBatchLength: 40 })
const ticks = StageContract.arbitraryTicks({ minAdvanceNs: 0, maxAdvanceNs: 60_000 })

describe("Bundler keeps the stage contract", () => {
  it.effect("in-process, with timer ticks closing bundles between batches", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(Bundler, { config: { maxSize: 5, timeoutNs: 50_000 }, inputs, ticks, runs: 100 })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory"])
    }))

  it.effect("in-process, with bundles as long as the largest batch and the default timeout", () =>
    StageContract.checkInProcess(Bundler, { config: { maxSize: 40 }, inputs, ticks, runs: 50 }))

  it.live("fused and in a worker, with the timeout out of reach (real-clock timers cannot be replayed)", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Bundler, {
        config: { maxSize: 5, timeoutNs: 1e15 },
        inputs,
        placementRuns: 3
      })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
