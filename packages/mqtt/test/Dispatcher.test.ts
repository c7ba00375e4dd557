import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { RecordLayout } from "@velox/core"
import { Quote } from "@velox/market"
import { Dispatcher, type StalePolicy } from "../src/internal/kernel/dispatcher.ts"
import { LatencyHistogram } from "../src/internal/kernel/latencyHistogram.ts"

const viewOf = (slots: number) => RecordLayout.view(Quote.Quote, new ArrayBuffer(slots * Quote.Quote.byteLength), 0, slots)

const dispatcher = (capacity: number, policy: StalePolicy = "drop") => new Dispatcher(capacity, policy, viewOf)

/** Writes a quote numbered `seq` of `epoch` into the write slot and commits it. */
const push = (d: Dispatcher, seq: number, epoch = 1, exchangeTsNs = 0) => {
  const slot = d.writeSlot()
  const f = d.view.fields
  f.seq.set(slot, seq)
  f.epoch.set(slot, epoch)
  f.exchangeTsNs.set(slot, exchangeTsNs)
  f.bid.set(slot, 1)
  f.ask.set(slot, 2)
  d.commit()
}

const takeAll = (d: Dispatcher, batch = 64) => {
  const out = viewOf(batch)
  const seqs: Array<number> = []
  const epochs: Array<number> = []
  for (let n = d.take(out, batch, 0, undefined); n > 0; n = d.take(out, batch, 0, undefined)) {
    for (let i = 0; i < n; i++) {
      seqs.push(out.fields.seq.get(i))
      epochs.push(out.fields.epoch.get(i))
    }
  }
  return { seqs, epochs }
}

const balanced = (d: Dispatcher) =>
  assert.strictEqual(d.committed, d.taken + d.droppedOldest + d.staleDropped + d.abandoned + d.size, "committed = taken + dropped + stale + abandoned + queued")

describe("Dispatcher", () => {
  it("1,000,000 messages into a paused consumer drop exactly 1,000,000 − capacity, the oldest; the newest capacity remain in order", () => {
    const capacity = 100_000
    const d = dispatcher(capacity)
    for (let seq = 0; seq < 1_000_000; seq++) push(d, seq)
    assert.strictEqual(d.droppedOldest, 1_000_000 - capacity)
    assert.strictEqual(d.size, capacity)
    balanced(d)
    const { seqs } = takeAll(d, 4096)
    assert.strictEqual(seqs.length, capacity)
    for (let i = 0; i < capacity; i++) if (seqs[i] !== 900_000 + i) assert.fail(`record ${i}: seq ${seqs[i]}, expected ${900_000 + i}`)
    assert.strictEqual(d.taken, capacity)
    balanced(d)
  })

  it.prop(
    "behaves as an array FIFO that drops its head when full, counting each drop",
    { capacity: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 9 })), ops: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 12 }))) },
    ({ capacity, ops }) => {
      const d = dispatcher(capacity)
      const model: Array<number> = []
      let dropped = 0
      let next = 0
      const out = viewOf(12)
      for (const op of ops) {
        if (op < 7) {
          // push op + 1 records
          for (let k = 0; k <= op; k++) {
            push(d, next)
            model.push(next++)
            if (model.length > capacity) {
              model.shift()
              dropped++
            }
          }
        } else {
          const max = op - 6
          const n = d.take(out, max, 0, undefined)
          const expected = model.splice(0, max)
          assert.deepStrictEqual(Array.from({ length: n }, (_, i) => out.fields.seq.get(i)), expected)
        }
        assert.strictEqual(d.size, model.length)
        assert.strictEqual(d.droppedOldest, dropped)
        balanced(d)
      }
    }
  )

  it("after a lost connection, drop policy: the queued records of earlier epochs are dropped as stale at once, the new epoch's flow", () => {
    const d = dispatcher(10, "drop")
    for (let seq = 0; seq < 4; seq++) push(d, seq, 1)
    assert.strictEqual(d.beginEpoch(2, true), 4)
    assert.strictEqual(d.staleDropped, 4)
    assert.strictEqual(d.size, 0)
    push(d, 100, 2)
    assert.deepStrictEqual(takeAll(d), { seqs: [100], epochs: [2] })
    balanced(d)
  })

  it("after a lost connection, deliver policy: the queued records are delivered with their older epoch and counted as stale when taken", () => {
    const d = dispatcher(3, "deliver")
    for (let seq = 0; seq < 3; seq++) push(d, seq, 1)
    d.beginEpoch(2, true)
    push(d, 100, 2) // pushes out seq 0 (oldest): dropped, not delivered stale
    const { seqs, epochs } = takeAll(d)
    assert.deepStrictEqual(seqs, [1, 2, 100])
    assert.deepStrictEqual(epochs, [1, 1, 2])
    assert.strictEqual(d.staleDelivered, 2)
    assert.strictEqual(d.droppedOldest, 1)
    balanced(d)
  })

  it("a planned reconnect (token refresh) carries the queue over: nothing stale, nothing dropped", () => {
    const d = dispatcher(10, "drop")
    for (let seq = 0; seq < 5; seq++) push(d, seq, 1)
    assert.strictEqual(d.beginEpoch(2, false), 5)
    push(d, 5, 2)
    assert.deepStrictEqual(takeAll(d).seqs, [0, 1, 2, 3, 4, 5])
    assert.strictEqual(d.carriedOver, 5)
    assert.strictEqual(d.staleDropped + d.staleDelivered + d.droppedOldest, 0)
    balanced(d)
  })

  it("take copies across the wrap of the circle, and abandon counts what it gives up", () => {
    const d = dispatcher(4)
    for (let seq = 0; seq < 7; seq++) push(d, seq)
    const out = viewOf(4)
    // Slots 3, 4, 0, 1 hold 3 … 6: one taken, the next take of 3 runs from slot 4 over the wrap.
    assert.strictEqual(d.take(out, 1, 0, undefined), 1)
    push(d, 7)
    assert.deepStrictEqual(takeAll(d, 3).seqs, [4, 5, 6, 7])
    push(d, 8)
    push(d, 9)
    assert.strictEqual(d.abandon(), 2)
    assert.strictEqual(d.abandoned, 2)
    balanced(d)
  })

  it("once emptied, writes from slot 0 again (a feed that keeps up stays in its queue's first slots)", () => {
    const d = dispatcher(100)
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 7; k++) {
        assert.strictEqual(d.writeSlot(), k)
        push(d, round * 7 + k)
      }
      assert.deepStrictEqual(takeAll(d, 4).seqs, Array.from({ length: 7 }, (_, k) => round * 7 + k))
    }
    balanced(d)
  })

  it("records each taken record's age from its exchange time", () => {
    const d = dispatcher(8)
    push(d, 0, 1, 1_000_000)
    push(d, 1, 1, 2_000_000)
    const latency = new LatencyHistogram()
    d.take(viewOf(8), 8, 3_000_000, latency)
    assert.strictEqual(latency.count, 2)
    assert.strictEqual(latency.maxNs, 2_000_000)
  })

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => dispatcher(0), /capacity must be a positive integer: capacity=0/)
  })
})

describe("LatencyHistogram", () => {
  it("quantiles are within 1/16 above the true value", () => {
    const h = new LatencyHistogram()
    for (let us = 1; us <= 10_000; us++) h.record(us * 1000)
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = q * 10_000 * 1000
      const got = h.quantileNs(q)
      assert.isAtLeast(got, truth * 0.999, `q=${q}`)
      assert.isAtMost(got, truth * (1 + 1 / 16) + 1000, `q=${q}`)
    }
    assert.strictEqual(h.quantileNs(1), 10_000_000)
  })

  it("each reading lands in the bucket that holds it: at powers of two, just below them, and anywhere between", () => {
    const readings = [1024, 1025, 2047, 2048, 2049, 3000, 65_535, 65_536, 2 ** 36 - 1, 2 ** 36, 2 ** 37 - 2]
    for (let i = 0; i < 2_000; i++) readings.push(1024 + Math.floor(Math.random() * (2 ** 37 - 1024)))
    for (const ns of readings) {
      const h = new LatencyHistogram()
      h.record(ns)
      h.record(2 ** 40) // the last bucket: the median is then the reading's bucket's upper bound
      const upper = h.quantileNs(0.5)
      const width = 2 ** Math.floor(Math.log2(upper - 1)) / 16
      assert.isTrue(ns < upper && ns >= upper - width, `${ns} in (${upper - width}, ${upper}]`)
    }
  })

  it("a negative reading is counted apart and recorded as 0; an empty histogram has no quantile", () => {
    const h = new LatencyHistogram()
    assert.isNaN(h.quantileNs(0.5))
    h.record(-5)
    assert.strictEqual(h.negatives, 1)
    assert.strictEqual(h.quantileNs(0.5), 0)
  })
})
