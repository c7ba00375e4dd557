import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Bar, BarStats, BarStore, Bars, Quote, rebuildBars } from "@velox/market"
import { makeBarsLogic } from "@velox/market/unsafe"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { arbitraryQuoteStep, planQuotes, type QuoteStep } from "../fixtures/quoteSteps.ts"

const SYMBOLS = 3
const TIMEFRAMES_MS = [1_000, 2_000, 6_000]
/** Exchange time moves in steps of 100 ms: a timeframe of 1 s is ten steps. */
const UNIT_NS = 1e8

type Event = { readonly kind: "quote"; readonly quote: Quote.Record } | { readonly kind: "sweep"; readonly clockNs: number }

interface Options {
  readonly toleranceMs: number
  readonly flat: boolean
}

/**
 * What the bars of a stream must be, from the definitions alone: a quote is late when the interval it
 * falls in (in the smallest timeframe) ends, plus the tolerance, at or before the clock (the highest
 * time seen, or a sweep's); the applied ones are grouped by interval, in arrival order; intervals with
 * none, from a symbol's first bar to its last one or to what a sweep found due, are gaps.
 */
const reference = (events: ReadonlyArray<Event>, { flat, toleranceMs }: Options) => {
  const tol = toleranceMs * 1e6
  const smallest = TIMEFRAMES_MS[0]! * 1e6
  let clock = -Infinity
  let first = NaN
  const sweeps: Array<number> = []
  const applied: Array<Quote.Record> = []
  const late = new Array<number>(SYMBOLS).fill(0)
  const refused: Array<number> = []
  for (const e of events) {
    if (e.kind === "sweep") {
      clock = Math.max(clock, e.clockNs)
      sweeps.push(clock)
      continue
    }
    const q = e.quote
    if (q.symbol >= SYMBOLS) {
      refused.push(0)
      continue
    }
    if (!(q.bid > 0 && Number.isFinite(q.bid) && q.ask > 0 && Number.isFinite(q.ask))) {
      refused.push(1)
      continue
    }
    clock = Math.max(clock, q.exchangeTsNs)
    const end = Math.floor(q.exchangeTsNs / smallest) * smallest + smallest
    if (end + tol <= clock) {
      late[q.symbol]!++
      continue
    }
    if (Number.isNaN(first)) first = q.exchangeTsNs
    applied.push(q)
  }
  const bars: Array<Bar.Record> = []
  const gaps = new Map<string, number>()
  for (let symbol = 0; symbol < SYMBOLS; symbol++) {
    for (const tfMs of TIMEFRAMES_MS) {
      const len = tfMs * 1e6
      const byStart = new Map<number, Array<Quote.Record>>()
      for (const q of applied) {
        if (q.symbol !== symbol) continue
        const start = Math.floor(q.exchangeTsNs / len) * len
        byStart.set(start, [...(byStart.get(start) ?? []), q])
      }
      if (byStart.size === 0) continue
      const starts = [...byStart.keys()].sort((a, b) => a - b)
      const firstStart = starts[0]!
      let settled = starts[starts.length - 1]! + len
      for (const c of sweeps) {
        if (firstStart + len + tol <= c) settled = Math.max(settled, Math.floor((c - tol) / len) * len)
      }
      let close = NaN
      let empty = 0
      for (let start = firstStart; start < settled; start += len) {
        const qs = byStart.get(start)
        if (qs === undefined) {
          empty++
          if (flat) bars.push({ startNs: start, open: close, high: close, low: close, close, volume: 0, symbol, timeframeMs: tfMs, ticks: 0, flags: Bar.Flag.Synthetic })
          continue
        }
        const prices = qs.map((q) => (q.bid + q.ask) * 0.5)
        close = prices[prices.length - 1]!
        const partial = start < first || start + len > clock
        bars.push({
          startNs: start,
          open: prices[0]!,
          high: Math.max(...prices),
          low: Math.min(...prices),
          close,
          volume: qs.reduce((v, q) => v + q.lastSize, 0),
          symbol,
          timeframeMs: tfMs,
          ticks: qs.length,
          flags: partial ? Bar.Flag.Partial : 0
        })
      }
      gaps.set(`${symbol}/${tfMs}`, empty)
    }
  }
  return { bars, late, refused, gaps }
}

const byKey = (bars: ReadonlyArray<Bar.Record>) =>
  [...bars].sort((a, b) => a.symbol - b.symbol || a.timeframeMs - b.timeframeMs || a.startNs - b.startNs)

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/** Quotes from steps, with a sweep after a step when `sweeps[i]` is positive (the clock moved that many units past the quote). */
const planEvents = (steps: ReadonlyArray<QuoteStep>, sweeps: ReadonlyArray<number>): Array<Event> => {
  const quotes = planQuotes(steps, { unitNs: UNIT_NS, startNs: 1_000 * 1e9 })
  const events: Array<Event> = []
  let max = 0
  quotes.forEach((quote, i) => {
    events.push({ kind: "quote", quote })
    max = Math.max(max, quote.exchangeTsNs)
    const sweep = sweeps[i % Math.max(1, sweeps.length)] ?? 0
    if (sweep > 0) events.push({ kind: "sweep", clockNs: max + sweep * UNIT_NS })
  })
  return events
}

/** Runs events through fresh logic: quotes in batches of the given lengths, a sweep between them as `advance`. */
const runStage = (events: ReadonlyArray<Event>, lengths: ReadonlyArray<number>, options: Options) => {
  const store = BarStore.make({ symbols: SYMBOLS, timeframesMs: TIMEFRAMES_MS, depth: 4_096 })
  const stats = BarStats.make(SYMBOLS, TIMEFRAMES_MS)
  const logic = makeBarsLogic({
    symbols: SYMBOLS,
    timeframesMs: TIMEFRAMES_MS,
    lateToleranceMs: options.toleranceMs,
    gaps: options.flat ? "flat" : "skip",
    timerClose: false,
    store,
    stats
  })
  const out = new CaptureEmitter(Bar.Bar)
  let pending: Array<Quote.Record> = []
  const flush = () => {
    feedBatches(logic, Quote.Quote, pending, lengths, out)
    pending = []
  }
  for (const e of events) {
    if (e.kind === "quote") pending.push(e.quote)
    else {
      flush()
      logic.builder.advance(e.clockNs)
    }
  }
  flush()
  logic.onDrain!(out)
  return { bars: out.take(), out, store, stats }
}

describe("Bars against a reference aggregator", () => {
  it.prop(
    "random tick streams with late ticks, gaps and sweeps, in random batches: every timeframe's bars agree",
    {
      steps: Arbitrary.array(arbitraryQuoteStep(SYMBOLS, [-8, 14]), { maxLength: 300 }),
      sweeps: Arbitrary.array(int(-20, 40), { maxLength: 8 }),
      lengths: Arbitrary.array(int(1, 40), { minLength: 1, maxLength: 4 }),
      toleranceMs: Arbitrary.schema(Schema.Literals([0, 300, 900])),
      flat: Arbitrary.schema(Schema.Boolean)
    },
    ({ flat, lengths, steps, sweeps, toleranceMs }) => {
      const events = planEvents(steps, sweeps)
      const want = reference(events, { flat, toleranceMs })
      const { bars, out, stats, store } = runStage(events, lengths, { flat, toleranceMs })
      assert.deepStrictEqual(byKey(bars), byKey(want.bars))
      // Per symbol and timeframe, bars come out in time order.
      for (let i = 1; i < bars.length; i++) {
        const [a, b] = [bars[i - 1]!, bars[i]!]
        const earlier = bars.slice(0, i).filter((x) => x.symbol === b.symbol && x.timeframeMs === b.timeframeMs)
        if (earlier.length > 0) assert.isBelow(earlier[earlier.length - 1]!.startNs, b.startNs, `bar ${i} after ${JSON.stringify(a)}`)
      }
      // Accounting: every quote applied, late or refused; bars stand for no input.
      const quotes = events.filter((e) => e.kind === "quote").length
      const late = want.late.reduce((a, b) => a + b, 0)
      assert.strictEqual(out.dropped, late, "late ticks dropped")
      assert.deepStrictEqual(out.deadLetters.map((d) => d.code), want.refused)
      assert.strictEqual(out.delivered + out.dropped + out.deadLetters.length, quotes)
      assert.strictEqual(out.emitted, 0, "a bar accounts for no input of its own")
      // The store holds each key's bars; the stats count them.
      for (let symbol = 0; symbol < SYMBOLS; symbol++) {
        const row = BarStats.symbol(stats, symbol)
        assert.strictEqual(row.late, want.late[symbol], `late ticks of symbol ${symbol}`)
        TIMEFRAMES_MS.forEach((tfMs, tf) => {
          const mine = want.bars.filter((b) => b.symbol === symbol && b.timeframeMs === tfMs)
          assert.deepStrictEqual(BarStore.snapshot(store, symbol, tfMs, 10_000), byKey(mine), `store of ${symbol}/${tfMs}`)
          const counts = row.timeframes[tf]!
          const real = mine.filter((b) => b.flags !== Bar.Flag.Synthetic)
          assert.deepStrictEqual(
            [counts.closed, counts.partial, counts.synthetic, counts.gaps],
            [
              real.filter((b) => b.flags === 0).length,
              real.filter((b) => b.flags === Bar.Flag.Partial).length,
              mine.length - real.length,
              flat ? 0 : want.gaps.get(`${symbol}/${tfMs}`) ?? 0
            ],
            `stats of ${symbol}/${tfMs}`
          )
        })
      }
    },
    { arbitrary: { runs: 200, size: 300 } }
  )
})

const quote = (symbol: number, tMs: number, mid: number, lastSize = 0): Quote.Record => ({
  seq: 0,
  exchangeTsNs: tMs * 1e6,
  receiveTsNs: tMs * 1e6,
  bid: mid - 0.01,
  ask: mid + 0.01,
  bidSize: 1,
  askSize: 1,
  last: 0,
  lastSize,
  symbol,
  epoch: 1
})

describe("Bars", () => {
  it("a bar closes on the timer when its interval ends, with no later tick, once exchange time followed the clock", () => {
    const logic = makeBarsLogic({ symbols: 1, timeframesMs: [1_000, 60_000] })
    const out = new CaptureEmitter(Bar.Bar)
    // A tick at 10.2 s of exchange time; the timer first runs at pipeline time 5 s (any origin).
    feedBatches(logic, Quote.Quote, [quote(0, 10_200, 100, 3)], [1], out)
    logic.onTimer!(5e9, out)
    logic.onTimer!(5.7e9, out) // exchange time is now ~10.9 s: nothing over
    assert.deepStrictEqual(out.take(), [])
    logic.onTimer!(5.85e9, out) // ~11.05 s: the 1 s bar [10, 11) is over
    assert.deepStrictEqual(out.take(), [{ startNs: 10e9, open: 100, high: 100, low: 100, close: 100, volume: 3, symbol: 0, timeframeMs: 1_000, ticks: 1, flags: Bar.Flag.Partial }])
    logic.onDrain!(out)
    // The 1 m bar, cut short by the drain.
    assert.deepStrictEqual(out.take().map((b) => [b.timeframeMs, b.flags]), [[60_000, Bar.Flag.Partial]])
  })

  it("with timerClose off the timer does not move exchange time: bars wait for later ticks", () => {
    const logic = makeBarsLogic({ symbols: 1, timeframesMs: [1_000], timerClose: false })
    const out = new CaptureEmitter(Bar.Bar)
    feedBatches(logic, Quote.Quote, [quote(0, 10_200, 100)], [1], out)
    logic.onTimer!(0, out)
    logic.onTimer!(100e9, out)
    assert.deepStrictEqual(out.take(), [])
    feedBatches(logic, Quote.Quote, [quote(0, 11_000, 101)], [1], out)
    assert.deepStrictEqual(out.take().map((b) => b.startNs), [10e9])
  })

  it("bars are built from the mid, the bid or the ask; a tick within the tolerance still counts, a later one is dropped", () => {
    for (const [price, want] of [["mid", 100], ["bid", 99.99], ["ask", 100.01]] as const) {
      const logic = makeBarsLogic({ symbols: 1, timeframesMs: [1_000], price, lateToleranceMs: 500 })
      const out = new CaptureEmitter(Bar.Bar)
      feedBatches(logic, Quote.Quote, [quote(0, 1_500, 100), quote(0, 2_300, 200), quote(0, 1_900, 100), quote(0, 2_600, 200), quote(0, 1_950, 100)], [5], out)
      logic.onDrain!(out)
      const bars = out.take()
      assert.strictEqual(bars[0]!.open, want)
      assert.strictEqual(bars[0]!.ticks, 2, `${price}: the tick at 1.9 s was 0.4 s late: applied`)
      assert.strictEqual(out.dropped, 1, `${price}: the tick at 1.95 s came when exchange time was 2.6 s: late`)
    }
  })

  it("gaps: skipped and counted, or filled with flat synthetic bars at the previous close", () => {
    const ticks = [quote(0, 1_000, 100), quote(0, 4_500, 104)]
    const skip = makeBarsLogic({ symbols: 1, timeframesMs: [1_000], stats: BarStats.make(1, [1_000]) })
    const skipOut = new CaptureEmitter(Bar.Bar)
    feedBatches(skip, Quote.Quote, ticks, [2], skipOut)
    assert.deepStrictEqual(skipOut.take().map((b) => b.startNs / 1e9), [1])
    const flat = makeBarsLogic({ symbols: 1, timeframesMs: [1_000], gaps: "flat" })
    const flatOut = new CaptureEmitter(Bar.Bar)
    feedBatches(flat, Quote.Quote, ticks, [2], flatOut)
    flat.onDrain!(flatOut)
    assert.deepStrictEqual(
      flatOut.take().map((b) => [b.startNs / 1e9, b.close, b.ticks, b.flags]),
      [[1, 100, 1, 0], [2, 100, 0, Bar.Flag.Synthetic], [3, 100, 0, Bar.Flag.Synthetic], [4, 104, 1, Bar.Flag.Partial]]
    )
  })

  it("a config that breaks a rule is refused, saying which", () => {
    const decode = Schema.decodeUnknownSync(Bars.config)
    assert.throws(() => decode({ symbols: 1, timeframesMs: [2_000, 3_000] }), /distinct multiples of the smallest: 2s, 3s/)
    assert.throws(() => decode({ symbols: 1, timeframesMs: [1_000], lateToleranceMs: 1_000 }), /lateToleranceMs=1000 must be below the smallest timeframe/)
    assert.throws(() => decode({ symbols: 1, timeframesMs: [7_000] }), /not a timeframe: 7000 ms/)
    assert.throws(
      () => decode({ symbols: 2, timeframesMs: [1_000], store: BarStore.make({ symbols: 2, timeframesMs: [60_000] }) }),
      /store keeps 2 symbols × 1m, not 2 symbols × 1s/
    )
  })

  it("a rebuild stores the bars over by its end, the same as the stage would, and leaves running ones out", () => {
    const timeframesMs = [1_000, 60_000]
    const store = BarStore.make({ symbols: 2, timeframesMs })
    const rebuild = rebuildBars({ symbols: 2, timeframesMs, store })
    for (const q of [quote(0, 1_000, 100), quote(0, 1_500, 101), quote(1, 2_100, 50), quote(0, 3_000, 102)]) rebuild.offer(q)
    const summary = rebuild.end(3_500e6)
    assert.deepStrictEqual(summary, { ticks: 4, late: 0, refused: 0, bars: 2, openBars: 3 })
    assert.deepStrictEqual(BarStore.snapshot(store, 0, 1_000, 10).map((b) => [b.startNs / 1e9, b.open, b.close, b.ticks]), [[1, 100, 101, 2]])
    assert.deepStrictEqual(BarStore.snapshot(store, 1, 1_000, 10).map((b) => b.startNs / 1e9), [2])
    assert.deepStrictEqual(BarStore.snapshot(store, 0, 60_000, 10), [])
  })
})
