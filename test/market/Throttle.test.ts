import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Quote, Throttle, ThrottleStats } from "@velox/market"
import { makeThrottleLogic } from "@velox/market/unsafe"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { arbitraryQuoteStep, planQuotes } from "../fixtures/quoteSteps.ts"

const SYMBOLS = 4

/** The throttle's rule written out plainly: a Map of the last passed quote per symbol. */
const reference = (quotes: ReadonlyArray<Quote.Record>, thresholdPercent: number, maxIntervalMs: number) => {
  const last = new Map<number, { mid: number; t: number }>()
  const passed: Array<number> = []
  const refused: Array<{ seq: number; code: number }> = []
  const perSymbol = Array.from({ length: SYMBOLS }, () => ({ passed: 0, throttled: 0 }))
  for (const q of quotes) {
    if (q.symbol >= SYMBOLS) {
      refused.push({ seq: q.seq, code: 0 })
      continue
    }
    const ok = (x: number) => Number.isFinite(x) && x > 0
    if (!ok(q.bid) || !ok(q.ask)) {
      refused.push({ seq: q.seq, code: 1 })
      continue
    }
    const mid = (q.bid + q.ask) / 2
    const prev = last.get(q.symbol)
    const moved = prev !== undefined && Math.abs(mid - prev.mid) >= (thresholdPercent / 100) * prev.mid
    const waited = prev !== undefined && q.exchangeTsNs - prev.t >= maxIntervalMs * 1e6
    if (prev === undefined || moved || waited) {
      last.set(q.symbol, { mid, t: q.exchangeTsNs })
      passed.push(q.seq)
      perSymbol[q.symbol]!.passed++
    } else {
      perSymbol[q.symbol]!.throttled++
    }
  }
  return { passed, refused, perSymbol }
}

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

describe("Throttle against a reference", () => {
  it.prop(
    "random quote streams in random batches: the same quotes pass, the counts agree per symbol and in total",
    {
      steps: Arbitrary.array(arbitraryQuoteStep(SYMBOLS, [-1, 4]), { maxLength: 400 }),
      lengths: Arbitrary.array(int(1, 50), { minLength: 1, maxLength: 5 }),
      // 0.001 % of a mid near 1 is about one tick: the moves straddle it.
      thresholdPercent: Arbitrary.schema(Schema.Literals([0, 0.0005, 0.001, 0.002, 0.005])),
      maxIntervalMs: Arbitrary.schema(Schema.Literals([1, 3, 1_000_000]))
    },
    ({ lengths, maxIntervalMs, steps, thresholdPercent }) => {
      const quotes = planQuotes(steps, { unitNs: 1e6 })
      const want = reference(quotes, thresholdPercent, maxIntervalMs)
      const stats = ThrottleStats.make(SYMBOLS)
      const logic = makeThrottleLogic({ symbols: SYMBOLS, thresholdPercent, maxIntervalMs, stats })
      const out = new CaptureEmitter(Quote.Quote)
      feedBatches(logic, Quote.Quote, quotes, lengths, out)
      const emitted = out.take()
      assert.deepStrictEqual(emitted.map((q) => q.seq), want.passed, "the quotes that pass")
      // Passed quotes go out unchanged (NaN compares equal in deepStrictEqual).
      assert.deepStrictEqual(emitted, quotes.filter((q) => want.passed.includes(q.seq)))
      assert.deepStrictEqual(out.deadLetters.map((d) => ({ seq: d.record["seq"], code: d.code })), want.refused)
      const throttled = want.perSymbol.reduce((n, s) => n + s.throttled, 0)
      assert.strictEqual(out.dropped, throttled, "throttled = dropped")
      assert.strictEqual(out.emitted + out.dropped + out.deadLetters.length, quotes.length, "every quote accounted for")
      for (let s = 0; s < SYMBOLS; s++) {
        const row = ThrottleStats.symbol(stats, s)
        assert.deepStrictEqual([row.passed, row.throttled], [want.perSymbol[s]!.passed, want.perSymbol[s]!.throttled], `symbol ${s}`)
      }
      const total = ThrottleStats.read(stats)
      assert.deepStrictEqual([total.passed, total.throttled, total.received], [want.passed.length, throttled, want.passed.length + throttled])
    },
    { arbitrary: { runs: 200, size: 400 } }
  )
})

describe("Throttle", () => {
  const q = (symbol: number, mid: number, tMs: number, seq = 0): Quote.Record => ({
    seq,
    exchangeTsNs: tMs * 1e6,
    receiveTsNs: tMs * 1e6,
    bid: mid - 0.00001,
    ask: mid + 0.00001,
    bidSize: 1,
    askSize: 1,
    last: 0,
    lastSize: 0,
    symbol,
    epoch: 1
  })
  const run = (quotes: ReadonlyArray<Quote.Record>, config: { readonly thresholdPercent?: number; readonly maxIntervalMs?: number } = {}) => {
    const stats = ThrottleStats.make(2)
    const out = new CaptureEmitter(Quote.Quote)
    feedBatches(makeThrottleLogic({ symbols: 2, stats, ...config }), Quote.Quote, quotes, [100], out)
    return { passed: out.take().map((x) => x.seq), stats: ThrottleStats.read(stats) }
  }

  it("by default passes a move of 0.001 % and throttles a smaller one", () => {
    // 1.08 × 0.001 % = 0.0000108.
    const { passed, stats } = run([q(0, 1.08, 0, 1), q(0, 1.08001, 1, 2), q(0, 1.080021, 2, 3), q(0, 1.080031, 3, 4)])
    assert.deepStrictEqual(passed, [1, 3])
    assert.deepStrictEqual(stats, { received: 4, passed: 2, throttled: 2, throttledPercent: 50 })
  })

  it("passes a quiet symbol's quote once maxIntervalMs of exchange time went by, and keeps symbols apart", () => {
    const { passed } = run([q(0, 1, 0, 1), q(1, 2, 0, 2), q(0, 1, 999, 3), q(0, 1, 1_000, 4), q(1, 2, 500, 5), q(0, 1, 1_500, 6)])
    assert.deepStrictEqual(passed, [1, 2, 4])
    assert.deepStrictEqual(run([q(0, 1, 0, 1), q(0, 1, 10, 2)], { maxIntervalMs: 10 }).passed, [1, 2])
  })

  it("a threshold of 0 passes every quote, a move of nothing included", () => {
    assert.deepStrictEqual(run([q(0, 1, 0, 1), q(0, 1, 1, 2), q(0, 1.000001, 2, 3)], { thresholdPercent: 0 }).passed, [1, 2, 3])
  })

  it("a stats table smaller than symbols is refused", () => {
    assert.throws(() => Schema.decodeUnknownSync(Throttle.config)({ symbols: 8, stats: ThrottleStats.make(4) }), /stats holds 4 symbols, fewer than symbols=8/)
  })
})
