import { assert, describe, it } from "@effect/vitest"
import { FeedStatus, Quote } from "@velox/market"
import { makeFeedHealthLogic } from "@velox/market/unsafe"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { quoteOf } from "../fixtures/tickQuotes.ts"

const S = 1e9

describe("FeedHealth", () => {
  /** The stage on a clock the test moves (wall-clock ns). */
  const setup = () => {
    const status = FeedStatus.make({ symbols: 3, feedGapMs: 5_000, symbolGapMs: 30_000 })
    let now = 1_000 * S
    const logic = makeFeedHealthLogic({ status }, () => now)
    const out = new CaptureEmitter(Quote.Quote)
    const quotes = (...symbols: Array<number>) => feedBatches(logic, Quote.Quote, symbols.map((s, i) => quoteOf(s, i + 1)), [symbols.length], out)
    return { status, logic, out, quotes, at: (t: number) => (now = t), now: () => now }
  }

  it("passes every quote on unchanged", () => {
    const { out, quotes } = setup()
    quotes(0, 1, 2, 7)
    assert.deepStrictEqual(out.take(), [quoteOf(0, 1), quoteOf(1, 2), quoteOf(2, 3), quoteOf(7, 4)])
    assert.strictEqual(out.emitted, 4)
  })

  it("the feed is stale before its first quote and after 5 s without one; symbols after their own threshold", () => {
    const { at, quotes, status } = setup()
    assert.deepStrictEqual([FeedStatus.read(status, 1_000 * S).stale, FeedStatus.read(status, 1_000 * S).reason], [true, "no quote yet"])
    at(1_001 * S)
    quotes(0, 1)
    const live = FeedStatus.read(status, 1_003 * S)
    assert.deepStrictEqual([live.stale, live.reason, live.lastQuoteAgoMs, live.seen, live.quotes], [false, undefined, 2_000, 2, 2])
    const silent = FeedStatus.read(status, 1_007.2 * S)
    assert.deepStrictEqual([silent.stale, silent.reason], [true, "no quote for 6.2 s (threshold 5.0 s)"])
    at(1_020 * S)
    quotes(1)
    const later = FeedStatus.read(status, 1_040 * S)
    // Symbol 0 silent for 39 s (stale), symbol 1 for 20 s, symbol 2 never quoted (not stale: never seen).
    assert.deepStrictEqual([later.stale, later.staleSymbols, later.seen], [true, [0], 2])
    assert.deepStrictEqual(FeedStatus.symbol(status, 0, 1_040 * S), { symbol: 0, stale: true, lastQuoteAgoMs: 39_000, gaps: 0, maxGapMs: 0, quotes: 1 })
  })

  it("counts each silence past its threshold once: seen by the timer, or by the quote that ends it", () => {
    const { at, logic, out, quotes, status } = setup()
    at(1_000 * S)
    quotes(0)
    // The timer sees the feed silent past 5 s: one feed gap, counted once however often it looks.
    at(1_006 * S)
    logic.onTimer!(0, out)
    at(1_007 * S)
    logic.onTimer!(0, out)
    assert.strictEqual(FeedStatus.read(status, 1_007 * S).feedGaps, 1)
    at(1_008 * S)
    quotes(0)
    // A silence the timer never saw (no timer call), ended by a quote: counted by that quote.
    at(1_015 * S)
    quotes(0)
    assert.strictEqual(FeedStatus.read(status, 1_015 * S).feedGaps, 2)
    // Symbol 0: silences of 8 and 7 s, under its 30 s threshold; then one of 40 s, seen by the timer and ended by a quote.
    at(1_055 * S)
    logic.onTimer!(0, out)
    at(1_056 * S)
    quotes(0)
    const row = FeedStatus.symbol(status, 0, 1_056 * S)
    assert.deepStrictEqual([row.gaps, row.maxGapMs, row.quotes], [1, 41_000, 4])
    assert.strictEqual(FeedStatus.read(status, 1_056 * S).symbolGaps, 1)
    assert.strictEqual(FeedStatus.read(status, 1_056 * S).feedGaps, 3)
  })

  it("a restarted stage carries on from the table", () => {
    const { at, quotes, status } = setup()
    quotes(0)
    at(1_040 * S)
    const again = makeFeedHealthLogic({ status }, () => 1_041 * S)
    feedBatches(again, Quote.Quote, [quoteOf(0, 9)], [1], new CaptureEmitter(Quote.Quote))
    const row = FeedStatus.symbol(status, 0, 1_041 * S)
    assert.deepStrictEqual([row.quotes, row.gaps, row.maxGapMs], [2, 1, 41_000])
  })
})
