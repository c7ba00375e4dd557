/**
 * Market-data work on one thread: the `Throttle`, `TickStoreSink` and `Bars` stages' logic as a fused
 * tee runs them, beside a plain loop doing the same work with typed arrays and no stage around it.
 *
 * ```
 *   QuoteGenerator (seeded, unthrottled: 8 symbols, 1 M quotes/s of exchange time), generated untimed
 *     │ Quote records, 256 a batch
 *     ├──► velox:      throttle.onBatch ──► passed quotes ──┬──► tick-store.onBatch (shared-memory rings)
 *     │                                                     └──► bars.onBatch (1s 1m 5m 1h 1d) ──► Bar records
 *     └──► plain loop: the throttle's rule and counts, a ring per symbol, OHLC per symbol and timeframe, in one loop
 * ```
 *
 * A run: a warm-up pass, then `timedPasses` passes over the same `quotes` (each pass moves exchange
 * time on, so bars keep closing), each timed for velox and for the plain loop in turn (alternating
 * which goes first). Returns the median throughput of each in M quotes/s.
 *
 * Checked before any number is returned: both passed the same quotes (count and checksum), closed the
 * same bars (count and checksum of OHLC, volume, ticks), and hold the same newest ticks per symbol.
 */
import { RecordLayout, type Stage } from "@velox/core"
import { Bar, BarStore, Quote, Symbols, TickStore } from "@velox/market"
import { makeBarsLogic, makeQuoteGeneratorLogic, makeThrottleLogic, makeTickStoreLogic } from "@velox/market/unsafe"

export interface Params {
  readonly symbols: number
  readonly quotes: number
  readonly timedPasses: number
  /** Ticks kept per symbol. */
  readonly depth: number
}

const BATCH = 256
const TIMEFRAMES_MS = [1_000, 60_000, 300_000, 3_600_000, 86_400_000]
const THRESHOLD = 0.001 / 100
const MAX_INTERVAL_NS = 1_000 * 1e6
type QuoteSpec = typeof Quote.Quote.spec
/** A Quote field's index in a record's 8-byte words, for the case's checksum (read as the plain loop reads its fields: one load). */
const word64 = (name: keyof QuoteSpec) => Quote.Quote.fields.find((f) => f.name === name)!.offset / 8
const STRIDE64 = Quote.Quote.byteLength / 8
const BID64 = word64("bid")
const TS64 = word64("exchangeTsNs")

/** Collects what a stage emits into a scratch batch (as a fused member does), and counts. */
class Scratch<F extends RecordLayout.FieldSpec> implements Stage.Emitter<F> {
  readonly view: RecordLayout.RecordView<F>
  pos = 0
  accounted = 0
  dropped = 0
  refused = 0
  constructor(layout: RecordLayout.RecordLayout<F>, capacity: number) {
    this.view = RecordLayout.view(layout, new ArrayBuffer(capacity * layout.byteLength), 0, capacity)
  }
  emit(accounts = 1): number {
    this.accounted += accounts
    return this.pos++
  }
  forward(input: RecordLayout.RecordView, start: number, count: number): void {
    for (let i = start; i < start + count; i++) RecordLayout.copyRecords(input, i, this.view, this.emit(), 1)
  }
  account(count: number): void {
    this.accounted += count
  }
  drop(_reason: number, count = 1): void {
    this.dropped += count
  }
  deadLetter(): void {
    this.refused++
  }
}

/** Quotes for a pass: the generator's, untimed, exchange times then moved on by `shiftNs` per pass. */
const generate = (symbols: number, quotes: number) => {
  const table = Symbols.make(symbols)
  const logic = makeQuoteGeneratorLogic({ symbols: table, instruments: symbols, rate: 1e6, unthrottled: true, startNs: 1.8e18 })
  const out = new Scratch(Quote.Quote, quotes)
  while (out.pos < quotes) logic.onPoll(0, Math.min(BATCH, quotes - out.pos), out)
  const f = out.view.fields
  const spanNs = f.exchangeTsNs.get(quotes - 1) - f.exchangeTsNs.get(0) + 1e6
  return { view: out.view, spanNs }
}

// ---------------------------------------------------------------------------------------------------
// velox: the stages' logic, fused as a tee would run them

const velox = (symbols: number, depth: number) => {
  const store = TickStore.make({ symbols, depth })
  const bars = BarStore.make({ symbols, timeframesMs: TIMEFRAMES_MS })
  const throttle = makeThrottleLogic({ symbols })
  const tickStore = makeTickStoreLogic({ store })
  const barsLogic = makeBarsLogic({ symbols, timeframesMs: TIMEFRAMES_MS, store: bars, timerClose: false })
  const passed = new Scratch(Quote.Quote, BATCH)
  const stored = new Scratch<never>(Quote.Quote as never, 1)
  const closed = new Scratch(Bar.Bar, BATCH * TIMEFRAMES_MS.length * 4)
  let passedCount = 0
  let passedSum = 0
  let barsCount = 0
  let barsSum = 0
  const foldBars = () => {
    const f = closed.view.fields
    for (let i = 0; i < closed.pos; i++) {
      barsSum += f.open.get(i) + f.high.get(i) + f.low.get(i) + f.close.get(i) + f.volume.get(i) + f.ticks.get(i)
    }
    barsCount += closed.pos
    closed.pos = 0
  }
  return {
    store,
    pass(view: RecordLayout.RecordView<QuoteSpec>, count: number): void {
      for (let start = 0; start < count; start += BATCH) {
        const n = Math.min(BATCH, count - start)
        passed.pos = 0
        throttle.onBatch(view, start, n, passed)
        const k = passed.pos
        if (k === 0) continue
        tickStore.onBatch(passed.view, 0, k, stored as never)
        barsLogic.onBatch(passed.view, 0, k, closed)
        const pw = passed.view.words64
        for (let i = 0, at = 0; i < k; i++, at += STRIDE64) passedSum += pw[at + BID64]! + pw[at + TS64]! * 1e-9
        passedCount += k
        if (closed.pos > 0) foldBars()
      }
    },
    result: () => ({ passedCount, passedSum, barsCount, barsSum })
  }
}

// ---------------------------------------------------------------------------------------------------
// The plain loop: the same work with typed arrays, written by hand

const plainLoop = (symbols: number, depth: number) => {
  const lastMid = new Float64Array(symbols).fill(NaN)
  const lastNs = new Float64Array(symbols)
  // Counts per symbol, as the throttle keeps them.
  const passed = new Float64Array(symbols)
  const throttled = new Float64Array(symbols)
  const FIELDS = 10
  const ring = new Float64Array(symbols * depth * FIELDS)
  const ringPos = new Int32Array(symbols)
  const tfs = TIMEFRAMES_MS.map((ms) => ms * 1e6)
  const T = tfs.length
  const barStart = new Float64Array(symbols * T).fill(NaN)
  const bar = new Float64Array(symbols * T * 6) // open, high, low, close, volume, ticks
  // Per symbol: the smallest bar's ticks the larger bars have taken.
  const synced = new Float64Array(symbols)
  let passedCount = 0
  let passedSum = 0
  let barsCount = 0
  let barsSum = 0
  return {
    ring,
    ringPos,
    pass(view: RecordLayout.RecordView<QuoteSpec>, count: number): void {
      const f = view.fields
      const symbolIn = f.symbol, bidIn = f.bid, askIn = f.ask, tsIn = f.exchangeTsNs
      for (let i = 0; i < count; i++) {
        const s = symbolIn.get(i)
        const bid = bidIn.get(i)
        const ask = askIn.get(i)
        const t = tsIn.get(i)
        // What velox refuses: an unknown symbol, a price that is not one.
        if (!(s < symbols) || !(bid > 0 && bid < Infinity && ask > 0 && ask < Infinity)) continue
        const mid = (bid + ask) * 0.5
        const last = lastMid[s]!
        if (!(last !== last || Math.abs(mid - last) >= THRESHOLD * last || t - lastNs[s]! >= MAX_INTERVAL_NS)) {
          throttled[s]! += 1
          continue
        }
        lastMid[s] = mid
        lastNs[s] = t
        passed[s]! += 1
        passedCount++
        passedSum += bid + t * 1e-9
        // The tick ring: ten fields per tick.
        const pos = ringPos[s]!
        let r = (s * depth + pos) * FIELDS
        ring[r++] = f.seq.get(i)
        ring[r++] = t
        ring[r++] = f.receiveTsNs.get(i)
        ring[r++] = bid
        ring[r++] = ask
        ring[r++] = f.bidSize.get(i)
        ring[r++] = f.askSize.get(i)
        ring[r++] = f.last.get(i)
        ring[r++] = f.lastSize.get(i)
        ring[r] = f.epoch.get(i)
        ringPos[s] = pos + 1 === depth ? 0 : pos + 1
        // Bars, as velox's builder keeps them: a tick in its symbol's smallest bar updates that bar
        // and the larger bars' volumes only; the larger bars take the smallest one's high, low, close
        // and ticks when a tick falls outside it, and then every timeframe sees that tick.
        const size = f.lastSize.get(i)
        const b0 = s * T * 6
        const start0 = barStart[s * T]!
        if (t >= start0 && t < start0 + tfs[0]!) {
          if (mid > bar[b0 + 1]!) bar[b0 + 1] = mid
          if (mid < bar[b0 + 2]!) bar[b0 + 2] = mid
          bar[b0 + 3] = mid
          bar[b0 + 5]! += 1
          for (let b = b0 + 4; b < b0 + T * 6; b += 6) bar[b]! += size
          continue
        }
        if (start0 === start0) {
          const fresh = bar[b0 + 5]! - synced[s]!
          for (let b = b0 + 6; b < b0 + T * 6; b += 6) {
            if (bar[b0 + 1]! > bar[b + 1]!) bar[b + 1] = bar[b0 + 1]!
            if (bar[b0 + 2]! < bar[b + 2]!) bar[b + 2] = bar[b0 + 2]!
            bar[b + 3] = bar[b0 + 3]!
            bar[b + 5]! += fresh
          }
        }
        synced[s] = 1 // the tick opens the smallest bar, and every timeframe sees it below
        for (let tf = 0; tf < T; tf++) {
          const k = s * T + tf
          const len = tfs[tf]!
          const start = barStart[k]!
          const b = k * 6
          if (t >= start && t < start + len) {
            if (mid > bar[b + 1]!) bar[b + 1] = mid
            if (mid < bar[b + 2]!) bar[b + 2] = mid
            bar[b + 3] = mid
            bar[b + 4]! += size
            bar[b + 5]! += 1
            continue
          }
          if (start === start) {
            barsSum += bar[b]! + bar[b + 1]! + bar[b + 2]! + bar[b + 3]! + bar[b + 4]! + bar[b + 5]!
            barsCount++
          }
          barStart[k] = t - (t % len)
          bar[b] = bar[b + 1] = bar[b + 2] = bar[b + 3] = mid
          bar[b + 4] = size
          bar[b + 5] = 1
        }
      }
    },
    result: () => ({ passedCount, passedSum, barsCount, barsSum })
  }
}

const same = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a))

export const run = async (params: Params): Promise<Record<string, number>> => {
  const { depth, quotes, symbols, timedPasses } = params
  const { spanNs, view } = generate(symbols, quotes)
  const v = velox(symbols, depth)
  const p = plainLoop(symbols, depth)
  const shift = () => {
    const ts = view.fields.exchangeTsNs
    for (let i = 0; i < quotes; i++) ts.set(i, ts.get(i) + spanNs)
  }
  const veloxRates: Array<number> = []
  const plainRates: Array<number> = []
  for (let pass = -1; pass < timedPasses; pass++) {
    const order = pass % 2 === 0 ? [v, p] : [p, v]
    for (const side of order) {
      const t0 = performance.now()
      side.pass(view, quotes)
      const mqps = quotes / ((performance.now() - t0) * 1e3)
      if (pass >= 0) (side === v ? veloxRates : plainRates).push(mqps)
    }
    shift()
  }
  const a = v.result()
  const b = p.result()
  if (a.passedCount !== b.passedCount || !same(a.passedSum, b.passedSum)) {
    throw new Error(`the quotes passed differ: velox ${a.passedCount} (${a.passedSum}), plain loop ${b.passedCount} (${b.passedSum})`)
  }
  // The plain loop closes a bar when the next one opens; velox the same (no timer here), and keeps
  // each symbol's current bars open: the counts and sums agree.
  if (a.barsCount !== b.barsCount || !same(a.barsSum, b.barsSum)) {
    throw new Error(`the bars differ: velox ${a.barsCount} (${a.barsSum}), plain loop ${b.barsCount} (${b.barsSum})`)
  }
  for (let s = 0; s < symbols; s++) {
    const newest = TickStore.snapshot(v.store, s, 1)[0]!
    const pos = (p.ringPos[s]! - 1 + depth) % depth
    if (newest.seq !== p.ring[(s * depth + pos) * 10]) throw new Error(`symbol ${s}: the newest stored tick differs`)
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!
  return {
    veloxMquotesPerSecond: median(veloxRates),
    plainMquotesPerSecond: median(plainRates),
    passedShare: a.passedCount / ((timedPasses + 1) * quotes),
    barsClosed: a.barsCount
  }
}
