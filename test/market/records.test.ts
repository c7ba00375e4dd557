import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor } from "@velox/core"
import { Bar, Quote, Timeframe } from "@velox/market"

/** The market-data records and timeframes, as their docs draw them: what journals and the edges rely on. */
describe("market-data records", () => {
  it("a Quote is 80 bytes: symbol id, bid/ask and sizes, last and last size, exchange and receive time in ns, feed epoch, sequence", () => {
    assert.strictEqual(Quote.Quote.byteLength, 80)
    assert.strictEqual(
      JournalDescriptor.layoutSignature(Quote.Quote),
      "Quote{seq:f64,exchangeTsNs:f64,receiveTsNs:f64,bid:f64,ask:f64,bidSize:f64,askSize:f64,last:f64,lastSize:f64,symbol:u32,epoch:u32}"
    )
  })

  it("a Bar is 64 bytes: start, OHLC, volume, symbol, timeframe, ticks and the synthetic and partial flags", () => {
    assert.strictEqual(Bar.Bar.byteLength, 64)
    assert.strictEqual(
      JournalDescriptor.layoutSignature(Bar.Bar),
      "Bar{startNs:f64,open:f64,high:f64,low:f64,close:f64,volume:f64,symbol:u32,timeframeMs:u32,ticks:u32,flags:u32}"
    )
    assert.deepStrictEqual(Bar.Flag, { Synthetic: 1, Partial: 2 })
  })

  it("timeframes: names ↔ ms for whole seconds, minutes, hours or days that divide a day; others refused", () => {
    const named = ["1s", "15s", "1m", "5m", "30m", "1h", "4h", "1d"]
    assert.deepStrictEqual(named.map((t) => Timeframe.parse(t)), [1_000, 15_000, 60_000, 300_000, 1_800_000, 3_600_000, 14_400_000, 86_400_000])
    assert.deepStrictEqual(named.map((t) => Timeframe.format(Timeframe.parse(t)!)), named)
    for (const bad of ["7m", "0s", "2d", "1.5h", "m", "", "60", "1w"]) assert.isUndefined(Timeframe.parse(bad), bad)
    assert.deepStrictEqual(Timeframe.DEFAULTS, ["1s", "1m", "5m", "1h", "1d"])
  })
})
