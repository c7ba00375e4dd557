import { assert, describe, it } from "@effect/vitest"
import { Stage } from "@velox/core"
import { Quote, QuoteGenerator, Symbols, ThrottleStats } from "@velox/market"
import { makeQuoteGeneratorLogic, makeThrottleLogic } from "@velox/market/unsafe"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"

const decimals = (x: number) => (String(x).split(".")[1] ?? "").length

/** Polls an unthrottled generator `n` times for up to `max` quotes each. */
const generate = (config: Parameters<typeof makeQuoteGeneratorLogic>[0], polls: number, max = 1_000) => {
  const logic = makeQuoteGeneratorLogic(config)
  const out = new CaptureEmitter(Quote.Quote, polls * max)
  for (let i = 0; i < polls; i++) logic.onPoll(0, max, out)
  return out.take()
}

describe("QuoteGenerator", () => {
  it("registers its instruments, EURUSD first, and quotes them at realistic prices: FX in 5 decimals, equities in cents", () => {
    const symbols = Symbols.make(64)
    const quotes = generate({ symbols, instruments: 8, unthrottled: true, startNs: 0 }, 20)
    assert.deepStrictEqual(Symbols.names(symbols), ["EURUSD", "AAPL", "GBPUSD", "MSFT", "USDJPY", "NVDA", "AUDUSD", "TSLA"])
    assert.deepStrictEqual(QuoteGenerator.instrumentNames(3), ["EURUSD", "AAPL", "GBPUSD"])
    const eurusd = quotes.filter((q) => q.symbol === 0)
    const aapl = quotes.filter((q) => q.symbol === 1)
    assert.isAbove(eurusd.length, 1_000)
    for (const q of eurusd) {
      assert.isTrue(q.bid > 1.0 && q.bid < 1.2 && q.ask > q.bid && q.ask - q.bid <= 0.00003 + 1e-12, `EURUSD ${q.bid}/${q.ask}`)
      assert.isAtMost(decimals(q.bid), 5)
      assert.strictEqual(q.lastSize, 0, "FX reports no trades")
    }
    for (const q of aapl) {
      assert.isTrue(q.bid > 150 && q.bid < 230 && q.ask > q.bid, `AAPL ${q.bid}/${q.ask}`)
      assert.isAtMost(decimals(q.bid), 2)
      assert.isAtMost(decimals(q.ask), 2)
    }
    assert.isAbove(aapl.filter((q) => q.lastSize > 0).length, 0, "equities report trades")
    const usdjpy = quotes.filter((q) => q.symbol === 4)
    assert.isTrue(usdjpy.every((q) => decimals(q.bid) <= 3 && q.bid > 140 && q.bid < 160))
    // seq counts from 1; exchange time moves forward; receive time is 50–250 µs later; epoch 1.
    quotes.forEach((q, i) => {
      assert.strictEqual(q.seq, i + 1)
      if (i > 0) assert.isAtLeast(q.exchangeTsNs, quotes[i - 1]!.exchangeTsNs)
      assert.isTrue(q.receiveTsNs - q.exchangeTsNs >= 50_000 && q.receiveTsNs - q.exchangeTsNs <= 250_000)
      assert.strictEqual(q.epoch, 1)
    })
  })

  it("is seeded: the same config gives the same quotes; another seed others", () => {
    const a = generate({ symbols: Symbols.make(8), unthrottled: true, startNs: 0, seed: 7 }, 2)
    const b = generate({ symbols: Symbols.make(8), unthrottled: true, startNs: 0, seed: 7 }, 2)
    const c = generate({ symbols: Symbols.make(8), unthrottled: true, startNs: 0, seed: 8 }, 2)
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(a, c)
  })

  it("at the default throttle it passes about half of the quotes, as the seed's 40–60 %", () => {
    const symbols = Symbols.make(16)
    const quotes = generate({ symbols, instruments: 16, unthrottled: true, startNs: 0, rate: 1e6 }, 100)
    const stats = ThrottleStats.make(16)
    feedBatches(makeThrottleLogic({ symbols: 16, stats }), Quote.Quote, quotes, [256], new CaptureEmitter(Quote.Quote, quotes.length))
    const { throttledPercent } = ThrottleStats.read(stats)
    assert.isTrue(throttledPercent > 40 && throttledPercent < 60, `throttled ${throttledPercent}%`)
  })

  it("paced, each quote waits for its time; rate is quotes per second over all instruments", () => {
    const logic = makeQuoteGeneratorLogic({ symbols: Symbols.make(8), rate: 1_000 }, () => 5e18)
    const out = new CaptureEmitter(Quote.Quote)
    // The first poll starts the timeline (at pipeline time 1 s); over the next second ~1000 quotes are due.
    logic.onPoll(1e9, 10_000, out)
    let n = out.take().length
    for (let t = 1.01e9; t <= 2e9; t += 0.01e9) n += logic.onPoll(t, 10_000, out)
    assert.isTrue(n > 850 && n < 1_150, `${n} quotes in a second at 1000/s`)
    const next = logic.nextWakeNs!()
    assert.isAbove(next, 2e9, "the next quote is due later")
    assert.strictEqual(logic.onPoll(2e9, 10_000, out), 0)
    // Exchange time is the wall clock's at the start plus the timeline.
    const quotes = out.take()
    assert.isTrue(quotes.every((q) => q.exchangeTsNs >= 5e18 && q.exchangeTsNs <= 5e18 + 1.01e9))
  })

  it("ends after count quotes; a table without room for its instruments fails its start", () => {
    const logic = makeQuoteGeneratorLogic({ symbols: Symbols.make(8), count: 5, unthrottled: true })
    const out = new CaptureEmitter(Quote.Quote)
    assert.strictEqual(logic.onPoll(0, 3, out), 3)
    assert.strictEqual(logic.onPoll(0, 3, out), 2)
    assert.strictEqual(logic.onPoll(0, 3, out), Stage.SOURCE_EXHAUSTED)
    assert.throws(() => makeQuoteGeneratorLogic({ symbols: Symbols.make(4), instruments: 8 }), /the symbol table holds 4 names: it has no room for USDJPY \(generating 8 instruments\)/)
    assert.deepStrictEqual(QuoteGenerator.instrumentNames(22).slice(19), ["XOM", "SYM0021", "SYM0022"])
  })
})
