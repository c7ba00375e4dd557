import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { RecordLayout } from "@velox/core"
import * as K from "../src/internal/kernel/barBuilder.ts"
import * as Q from "../src/internal/quoteWords.ts"
import { Quote } from "../src/Quote.ts"

const S = 1e9

/** A builder of 2 symbols, 1 s and 1 min bars, 100 ms tolerance, closing into `closed`. */
const builder = () => {
  const closed: Array<{ symbol: number; tf: number; startNs: number; ticks: number }> = []
  const b = new K.BarBuilder({
    symbols: 2,
    timeframesNs: [S, 60 * S],
    toleranceNs: 0.1 * S,
    fillGaps: false,
    sink: { bar: (symbol, tf, startNs, _o, _h, _l, _c, _v, ticks) => void closed.push({ symbol, tf, startNs, ticks }) }
  })
  return { b, closed }
}

describe("BarBuilder.offer", () => {
  it("refuses a bad tick with the first reason that applies, in order symbol, time, price and size, and changes nothing", () => {
    const { b, closed } = builder()
    assert.strictEqual(b.offer(2, NaN, NaN, -1), K.UNKNOWN_SYMBOL)
    assert.strictEqual(b.offer(NaN, 10 * S, 1, 1), K.UNKNOWN_SYMBOL)
    assert.strictEqual(b.offer(0, NaN, NaN, 1), K.INVALID_TIME)
    assert.strictEqual(b.offer(0, -1, 1, 1), K.INVALID_TIME)
    assert.strictEqual(b.offer(0, Infinity, 1, 1), K.INVALID_TIME)
    assert.strictEqual(b.offer(0, 10 * S, 0, 1), K.INVALID_PRICE)
    assert.strictEqual(b.offer(0, 10 * S, Infinity, 1), K.INVALID_PRICE)
    assert.strictEqual(b.offer(0, 10 * S, 1, -1), K.INVALID_PRICE)
    assert.strictEqual(b.offer(0, 10 * S, 1, NaN), K.INVALID_PRICE)
    // Nothing moved: no clock, no first tick, no bar.
    assert.strictEqual(b.clockNs, -Infinity)
    assert.isTrue(Number.isNaN(b.firstNs))
    assert.strictEqual(b.openBars(), 0)
    assert.deepStrictEqual(closed, [])
  })

  it("a tick is late only when its smallest bar is due; a late one is counted, not applied", () => {
    const { b, closed } = builder()
    assert.strictEqual(b.offer(0, 10.5 * S, 1, 1), K.APPLIED)
    assert.strictEqual(b.offer(1, 11.05 * S, 1, 1), K.APPLIED)
    // Behind the clock (11.05 s) by less than the tolerance: on time, in symbol 0's bar [10 s, 11 s).
    assert.strictEqual(b.offer(0, 11 * S - 1, 1, 1), K.APPLIED)
    // Symbol 0's bar [10 s, 11 s) is due (11.1 s ≤ 12.2 s): closed with its two ticks.
    assert.strictEqual(b.offer(0, 12.2 * S, 1, 1), K.APPLIED)
    // Behind the clock by more than the tolerance, but its 1 s bar [12 s, 13 s) is not due: on time
    // (and symbol 1's bar [11 s, 12 s), due, closes).
    assert.strictEqual(b.offer(1, 12.05 * S, 1, 1), K.APPLIED)
    // Its bar [11 s, 12 s) was due at 12.1 s, before the clock (12.2 s): late, each time.
    assert.strictEqual(b.offer(0, 11.9 * S, 1, 1), K.LATE)
    assert.strictEqual(b.offer(0, 11.9 * S, 1, 1), K.LATE)
    assert.deepStrictEqual(closed, [
      { symbol: 0, tf: 0, startNs: 10 * S, ticks: 2 },
      { symbol: 1, tf: 0, startNs: 11 * S, ticks: 1 }
    ])
  })
})

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/** One step of a random stream: mostly a quote, sometimes a clock advance or a timer call. */
const arbitraryStep = Arbitrary.all({
  /** 0–12: a quote (12: its bid not a price); 13: `advance`; 14: `timer`. */
  kind: int(0, 14),
  symbol: int(0, 3), // 3: unknown
  /** Exchange time's move in units of 100 ms (negative: a quote from the past; large: a gap). */
  dt: int(-12, 16),
  /** Now and then a jump of many intervals, so larger timeframes' boundaries and gaps come up. */
  jump: int(0, 40),
  move: int(-3, 3),
  /** Sizes in 1/7ths: volume sums round, so a regrouped sum would differ in its last bits. */
  size: int(0, 20),
  /** Where a batch ends (1: after this quote). */
  cut: int(0, 3)
})

/** A builder that records every sink call, in order, and counts into `counts` (a counter table's words, header and all). */
const recording = (options: { timeframesNs: ReadonlyArray<number>; toleranceNs: number; fillGaps: boolean; direct: boolean }) => {
  const calls: Array<ReadonlyArray<number>> = []
  const counts = new Float64Array(1_024)
  const b = new K.BarBuilder({ symbols: 3, ...options, counts, sink: { bar: (...args) => void calls.push(args) } })
  return { b, calls, counts }
}

const WORDS: K.QuoteWords = { stride: Q.STRIDE, symbol: Q.SYMBOL, exchangeTsNs: Q.EXCHANGE_TS, bid: Q.BID, ask: Q.ASK, lastSize: Q.LAST_SIZE }

describe("BarBuilder: rolled up from the smallest bar", () => {
  it.prop(
    "offerQuotes gives the same bars in the same order, and the same counts and statistics, as offer updating every timeframe on every tick",
    {
      steps: Arbitrary.array(arbitraryStep, { maxLength: 400 }),
      order: int(0, 2),
      price: int(0, 2),
      toleranceMs: Arbitrary.schema(Schema.Literals([0, 150, 900])),
      fillGaps: Arbitrary.schema(Schema.Boolean)
    },
    ({ fillGaps, order, price, steps, toleranceMs }) => {
      // The smallest timeframe first, last or in the middle: the builder must find it.
      const timeframesNs = [[S, 3 * S, 12 * S], [12 * S, 3 * S, S], [6 * S, S, 60 * S]][order]!
      const options = { timeframesNs, toleranceNs: toleranceMs * 1e6, fillGaps }
      const direct = recording({ ...options, direct: true })
      const rolled = recording({ ...options, direct: false })
      const batch = RecordLayout.view(Quote, new ArrayBuffer(Math.max(1, steps.length) * Quote.byteLength), 0, Math.max(1, steps.length))
      const f = batch.fields
      const want = { applied: 0, late: 0, refused: [] as Array<[number, number]> }
      const got = { applied: 0, late: 0, refused: [] as Array<[number, number]> }
      let t = 1_000 * S
      const mids = [1, 1, 1, 1]
      let pending = 0 // the first quote of the batch not offered yet
      let n = 0
      const flush = () => {
        rolled.b.applied = 0
        rolled.b.late = 0
        for (let i = rolled.b.offerQuotes(batch.words64, batch.words, pending, n, WORDS, price); i < n; ) {
          got.refused.push([i, rolled.b.refused])
          i = rolled.b.offerQuotes(batch.words64, batch.words, i + 1, n, WORDS, price)
        }
        got.applied += rolled.b.applied
        got.late += rolled.b.late
        pending = n
      }
      for (const step of steps) {
        // Whole 100 ms units: a quote at the exact start of an interval now and then.
        t = Math.max(0, t + step.dt * 0.1 * S + (step.jump > 37 ? step.jump * S : 0))
        if (step.kind >= 13) {
          flush()
          for (const { b } of [direct, rolled]) {
            if (step.kind === 13) b.advance(t + step.jump * 0.1 * S)
            else b.timer(t, step.jump % 2 === 0)
          }
          continue
        }
        mids[step.symbol] = Math.max(0.5, mids[step.symbol]! + step.move * 1e-5)
        const bid = step.kind === 12 ? 0 : mids[step.symbol]! - 1e-5
        const ask = mids[step.symbol]! + 1e-5
        const size = step.size / 7
        f.symbol.set(n, step.symbol)
        f.exchangeTsNs.set(n, t)
        f.bid.set(n, bid)
        f.ask.set(n, ask)
        f.lastSize.set(n, size)
        n++
        const p = !(bid > 0) ? NaN : [(bid + ask) * 0.5, bid, ask][price]!
        const r = direct.b.offer(step.symbol, t, p, size)
        if (r === K.APPLIED) want.applied++
        else if (r === K.LATE) want.late++
        else want.refused.push([n - 1, r])
        if (step.cut === 1) flush()
      }
      flush()
      assert.deepStrictEqual(got, want)
      assert.strictEqual(rolled.b.openBars(), direct.b.openBars())
      assert.deepStrictEqual(rolled.calls, direct.calls, "bars closed before the drain")
      direct.b.drain()
      rolled.b.drain()
      assert.deepStrictEqual(rolled.calls, direct.calls, "every bar, drained ones too")
      assert.strictEqual(rolled.b.clockNs, direct.b.clockNs)
      // The statistics (late ticks; closed, synthetic, gaps, partial per timeframe).
      assert.deepStrictEqual(rolled.counts, direct.counts)
    },
    { arbitrary: { runs: 300, size: 400 } }
  )
})
