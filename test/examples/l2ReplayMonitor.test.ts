import { assert, describe, it } from "@effect/vitest"
import { RecordLayout, Stage } from "@velox/core"
import { Bbo, L2Update, OutputLatency } from "@velox/market"
import * as Monitor from "../../packages/examples/src/l2ReplayMonitor.ts"

/** The L2 replay's monitoring stages, driven directly with chosen clock readings. */

const updates = (rows: ReadonlyArray<{ readonly symbol: number; readonly exchangeTsNs: number }>) => {
  const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(rows.length * L2Update.L2Update.byteLength), 0, rows.length)
  rows.forEach((r, i) => RecordLayout.writeUnsafe(view, i, { seq: i + 1, price: 100, size: 1, side: 0, op: L2Update.Op.Add, ...r }))
  return view
}

/** An emitter that keeps what it is given. */
const capture = <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>, capacity: number) => {
  const view = RecordLayout.view(layout, new ArrayBuffer(capacity * layout.byteLength), 0, capacity)
  let emitted = 0
  let accounted = 0
  const emitter: Stage.Emitter<F> = {
    view,
    emit: () => emitted++,
    forward: (input, start, count) => {
      for (let i = start; i < start + count; i++) RecordLayout.copyRecords(input, i, view, emitted++, 1)
    },
    account: (n) => void (accounted += n),
    drop: () => assert.fail("nothing is dropped"),
    deadLetter: () => assert.fail("nothing is dead-lettered")
  }
  return { emitter, view, counts: () => ({ emitted, accounted }) }
}

describe("the L2 replay's monitoring stages", () => {
  it("replay-clock moves exchange time onto the pipeline clock at the replay's speed, counts updates per symbol and feed silences over 1 s", () => {
    const monitor = Monitor.make(4)
    let now = 5_000
    const logic = Monitor.ReplayClock.make({ monitor, speed: 2 }, { nowNs: () => now }) as Stage.StageLogic<typeof L2Update.L2Update.spec, typeof L2Update.L2Update.spec>
    const out = capture(L2Update.L2Update, 8)
    logic.onBatch(updates([{ symbol: 1, exchangeTsNs: 1_000 }, { symbol: 1, exchangeTsNs: 3_000 }]), 0, 2, out.emitter)
    now = 9e9
    logic.onBatch(updates([{ symbol: 3, exchangeTsNs: 2.5e9 }, { symbol: 9, exchangeTsNs: 2.6e9 }, { symbol: 1, exchangeTsNs: 4.7e9 }]), 0, 3, out.emitter)
    const got = Array.from({ length: 5 }, (_, i) => RecordLayout.readUnsafe(out.view, i))
    // The epoch is the first record's: released at 5,000 ns, it came at 1,000 ns of exchange time (÷ 2).
    assert.deepStrictEqual(got.map((r) => r.exchangeTsNs), [5_000, 6_000, 5_000 + (2.5e9 - 1_000) / 2, 5_000 + (2.6e9 - 1_000) / 2, 5_000 + (4.7e9 - 1_000) / 2])
    assert.deepStrictEqual(got.map((r) => r.symbol), [1, 1, 3, 9, 1])
    const r = Monitor.read(monitor)
    assert.strictEqual(r.updates, 5)
    assert.deepStrictEqual(Array.from(r.updatesBySymbol), [0, 3, 0, 1], "symbol 9 is the book's to refuse")
    assert.deepStrictEqual([r.feedGaps, r.longestFeedGapNs], [2, 2.5e9 - 3_000])
    assert.deepStrictEqual(Monitor.mostActive(monitor, 2), [{ symbol: 1, updates: 3, tops: 0 }, { symbol: 3, updates: 1, tops: 0 }])
  })

  it("as fast as it goes, replay-clock stamps the instant it read each update", () => {
    const monitor = Monitor.make(2)
    const logic = Monitor.ReplayClock.make({ monitor }, { nowNs: () => 777 }) as Stage.StageLogic<typeof L2Update.L2Update.spec, typeof L2Update.L2Update.spec>
    const out = capture(L2Update.L2Update, 2)
    logic.onBatch(updates([{ symbol: 0, exchangeTsNs: 1e12 }, { symbol: 1, exchangeTsNs: 2e12 }]), 0, 2, out.emitter)
    assert.deepStrictEqual([0, 1].map((i) => RecordLayout.readUnsafe(out.view, i).exchangeTsNs), [777, 777])
  })

  it("l2-monitor records latency while recording, counts tops per symbol and output silences over 1 s, and accounts every record", () => {
    const monitor = Monitor.make(3)
    const latency = OutputLatency.make()
    OutputLatency.startRecording(latency)
    let now = 1e9
    const logic = Monitor.L2Monitor.make({ monitor, latency }, { nowNs: () => now }) as Stage.StageLogic<typeof Bbo.Bbo.spec, never>
    const tops = (rows: ReadonlyArray<{ readonly symbol: number; readonly exchangeTsNs: number }>) => {
      const view = RecordLayout.view(Bbo.Bbo, new ArrayBuffer(rows.length * Bbo.Bbo.byteLength), 0, rows.length)
      rows.forEach((r, i) => RecordLayout.writeUnsafe(view, i, { seq: 1, bidPrice: 1, bidSize: 1, askPrice: 2, askSize: 1, flags: 0, ...r }))
      return view
    }
    const sink = capture(Bbo.Bbo, 1)
    logic.onBatch(tops([{ symbol: 2, exchangeTsNs: 1e9 - 100 }, { symbol: 2, exchangeTsNs: 1e9 - 300 }]), 0, 2, sink.emitter as never)
    now = 2.5e9
    logic.onBatch(tops([{ symbol: 0, exchangeTsNs: 2.5e9 - 50 }]), 0, 1, sink.emitter as never)
    OutputLatency.stopRecording(latency)
    now = 2.6e9
    logic.onBatch(tops([{ symbol: 0, exchangeTsNs: 0 }]), 0, 1, sink.emitter as never)
    assert.strictEqual(sink.counts().accounted, 4)
    const r = Monitor.read(monitor)
    assert.deepStrictEqual([r.tops, r.outputGaps, r.longestOutputGapNs], [4, 1, 1.5e9])
    assert.deepStrictEqual(Array.from(r.topsBySymbol), [2, 0, 2])
    const h = OutputLatency.read(latency).closing
    assert.deepStrictEqual([h.count, h.maxNs, h.meanNs], [3, 300, 150])
  })

  it("a monitor table is recognised, and nothing else is", () => {
    assert.strictEqual(Monitor.symbolsOf(Monitor.make(10_000)), 10_000)
    assert.strictEqual(Monitor.symbolsOf(new SharedArrayBuffer(4096)), -1)
    assert.throws(() => Monitor.make(0), RangeError, "symbols must be an integer in 1..16777216: symbols=0")
  })
})
