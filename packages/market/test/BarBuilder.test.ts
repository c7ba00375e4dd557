import { assert, describe, it } from "@effect/vitest"
import * as K from "../src/internal/kernel/barBuilder.ts"

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
