/**
 * OHLC bars: quotes in, closed bars out, over several timeframes at once (default `1s`, `1m`, `5m`,
 * `1h`, `1d`) — open, high, low, close of the quotes' mid (or bid, or ask), volume (the sum of
 * `lastSize`) and tick count, per symbol, on exchange time.
 *
 *   Quote ─▶ bars ─▶ Bar (each bar when it closes; synthetic flat bars for empty intervals, if asked)
 *              ├─▶ BarStore (optional, shared memory): the last N bars per symbol and timeframe
 *              ├─▶ dropped: Late (its bar had closed: beyond `lateToleranceMs`)
 *              ├─▶ dead letters: UnknownSymbol | InvalidPrice | InvalidTime
 *              └─▶ BarStats (optional, shared memory): late ticks; closed, synthetic, gaps, partial bars
 *
 * - **Closing.** A bar closes when its interval ends — on the stage's timer (every 50 ms), even when
 *   no later tick arrives — plus `lateToleranceMs` (default 0), during which a late tick is still
 *   applied. The timer knows how far exchange time went because it follows the clock from the last
 *   tick's time (`timerClose: true`, the default: a live feed, or a replay at speed 1); with
 *   `timerClose: false` (a replay at another speed) the timer does nothing: a symbol's bars close as
 *   its later ticks arrive, and at the drain, so which bars come out, and in what order, depends on
 *   the ticks alone (not on when a timer ran between two batches).
 * - **Late ticks.** A tick whose bar (in the smallest timeframe) has closed or is due is dropped as
 *   `Late` and applied to no timeframe, so every timeframe is built from the same ticks: a `1m` bar is
 *   its `1s` bars put together. Each timeframe is a multiple of the smallest.
 * - **Gaps.** An interval with no tick gets no bar and counts as a gap in `BarStats` (`gaps: "skip"`,
 *   the default), or gets a flat bar at the previous close flagged `Synthetic` (`gaps: "flat"`).
 * - **Partial bars** (flag `Partial`): cut short by the drain, or begun before the stage's first tick
 *   (after a start or a restart in the middle of an interval).
 *
 * Every quote is applied (accounted: it has no output record of its own), dropped as `Late`, or
 * dead-lettered; each bar is an output record standing for no input (`emit(0)`), so the ledger line is
 * `in = applied + late + refused` and `written` counts the bars. A restart loses the open bars (the
 * next ones are flagged partial); the closed ones are downstream and in the store.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { BarStats, BarStore, Bars, QuoteGenerator, Symbols } from "@velox/market"
 *
 * const symbols = Symbols.make(8, ["EURUSD", "AAPL"])
 * const timeframesMs = [1_000, 60_000, 300_000]
 * const store = BarStore.make({ symbols: 8, timeframesMs })
 * const stats = BarStats.make(8, timeframesMs)
 * const pipeline = Pipeline.from(QuoteGenerator, { symbols, rate: 10_000 })
 *   .via(Bars, { symbols: 8, timeframesMs, lateToleranceMs: 200, gaps: "flat", store, stats })
 * // .to(a Bar sink: a journal, …)
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import { Bar } from "./Bar.ts"
import * as BarStats from "./BarStats.ts"
import * as BarStore from "./BarStore.ts"
import * as K from "./internal/kernel/barBuilder.ts"
import * as T from "./internal/kernel/counterTable.ts"
import { RingsWriter } from "./internal/kernel/recordRings.ts"
import { MAX_CAPACITY } from "./internal/kernel/symbolTable.ts"
import * as Q from "./internal/quoteWords.ts"
import { Quote } from "./Quote.ts"
import * as Timeframe from "./Timeframe.ts"

/**
 * The timeframes a `Bars` stage keeps unless told otherwise: 1 s, 1 m, 5 m, 1 h, 1 d (in ms).
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_TIMEFRAMES_MS: ReadonlyArray<number> = Timeframe.DEFAULTS.map((t) => Timeframe.parse(t)!)

/** How often the timer closes due bars. */
const TIMER_PERIOD_NS = 50e6

const sameTimeframes = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * `symbols` (ids `0 .. symbols - 1`); `timeframesMs` (default {@link DEFAULT_TIMEFRAMES_MS}: distinct,
 * each a multiple of the smallest, at most 8); `price` (`"mid"`, the default, `"bid"` or `"ask"`);
 * `lateToleranceMs` (default 0, below the smallest timeframe); `gaps` (`"skip"`, the default, or
 * `"flat"`); `timerClose` (default true); `store` (a `BarStore` of the same timeframes and at least
 * `symbols` symbols); `stats` (a `BarStats` table of the same timeframes and at least `symbols` rows).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  symbols: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_CAPACITY })),
  timeframesMs: Schema.optional(Schema.Array(Timeframe.Ms).check(Schema.isMinLength(1), Schema.isMaxLength(K.MAX_TIMEFRAMES))),
  price: Schema.optional(Schema.Literals(["mid", "bid", "ask"])),
  lateToleranceMs: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  gaps: Schema.optional(Schema.Literals(["skip", "flat"])),
  timerClose: Schema.optional(Schema.Boolean),
  store: Schema.optional(Schema.declare((u): u is SharedArrayBuffer => BarStore.isStore(u), { expected: "a bar store from BarStore.make" })),
  stats: Schema.optional(Schema.declare((u): u is SharedArrayBuffer => BarStats.isStats(u), { expected: "a statistics table from BarStats.make" }))
}).check(
  Schema.makeFilter((c) => {
    const timeframes = c.timeframesMs ?? DEFAULT_TIMEFRAMES_MS
    const smallest = Math.min(...timeframes)
    if (new Set(timeframes).size !== timeframes.length || timeframes.some((tf) => tf % smallest !== 0)) {
      return `timeframes must be distinct multiples of the smallest: ${timeframes.map(Timeframe.format).join(", ")}`
    }
    if ((c.lateToleranceMs ?? 0) >= smallest) {
      return `lateToleranceMs=${c.lateToleranceMs} must be below the smallest timeframe (${smallest} ms)`
    }
    if (c.store !== undefined) {
      const d = BarStore.describe(c.store)
      if (!sameTimeframes(d.timeframesMs, timeframes) || d.symbols < c.symbols) {
        return `store keeps ${d.symbols} symbols × ${d.timeframesMs.map(Timeframe.format).join(", ")}, not ${c.symbols} symbols × ${timeframes.map(Timeframe.format).join(", ")}`
      }
    }
    if (c.stats !== undefined) {
      const shape = BarStats.shapeOf(c.stats)!
      if (!sameTimeframes(shape.timeframesMs, timeframes) || shape.symbols < c.symbols) {
        return `stats table is for ${shape.symbols} symbols × ${shape.timeframesMs.map(Timeframe.format).join(", ")}, not ${c.symbols} symbols × ${timeframes.map(Timeframe.format).join(", ")}`
      }
    }
    return undefined
  })
)

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * Drop reasons by code: `Late` (0).
 *
 * @category errors
 * @since 0.1.0
 */
export const dropReasons = ["Late"] as const

/**
 * Error tags by code: `UnknownSymbol` (0), `InvalidPrice` (1: bid or ask not > 0 and finite, or
 * `lastSize` not ≥ 0 and finite), `InvalidTime` (2: `exchangeTsNs` not ≥ 0 and finite).
 *
 * @category errors
 * @since 0.1.0
 */
export const errors = ["UnknownSymbol", "InvalidPrice", "InvalidTime"] as const

const LATE = 0
const PRICE = { mid: K.PRICE_MID, bid: K.PRICE_BID, ask: K.PRICE_ASK } as const
const WORDS: K.QuoteWords = { stride: Q.STRIDE, symbol: Q.SYMBOL, exchangeTsNs: Q.EXCHANGE_TS, bid: Q.BID, ask: Q.ASK, lastSize: Q.LAST_SIZE }

/** The kernel's options for a decoded config, closed bars going to `sink`. */
const builderOptions = (config: Config, sink: K.BarSink, counts: Float64Array | undefined): K.BarBuilderOptions => ({
  symbols: config.symbols,
  timeframesNs: (config.timeframesMs ?? DEFAULT_TIMEFRAMES_MS).map((ms) => ms * 1e6),
  toleranceNs: (config.lateToleranceMs ?? 0) * 1e6,
  fillGaps: config.gaps === "flat",
  sink,
  counts
})

/** Hands closed bars to `onBar` (the stage's emitter, or a count for a rebuild) and, when there is a store, writes them there. */
const storeSink = (config: Config, onBar: K.BarSink): K.BarSink => {
  const timeframesMs = config.timeframesMs ?? DEFAULT_TIMEFRAMES_MS
  if (config.store === undefined) return onBar
  const timeframes = timeframesMs.length
  const writer = new RingsWriter(config.store)
  const f = RecordLayout.view(Bar, config.store, writer.dataByteOffset, writer.keys * writer.depth).fields
  return {
    bar(symbol, tf, startNs, open, high, low, close, volume, ticks, flags) {
      onBar.bar(symbol, tf, startNs, open, high, low, close, volume, ticks, flags)
      const key = symbol * timeframes + tf
      const slot = writer.nextSlot(key)
      f.startNs.set(slot, startNs)
      f.open.set(slot, open)
      f.high.set(slot, high)
      f.low.set(slot, low)
      f.close.set(slot, close)
      f.volume.set(slot, volume)
      f.symbol.set(slot, symbol)
      f.timeframeMs.set(slot, timeframesMs[tf]!)
      f.ticks.set(slot, ticks)
      f.flags.set(slot, flags)
      writer.commit(key)
    }
  }
}

/**
 * The stage's logic for a decoded config.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.StageLogic<typeof Quote.spec, typeof Bar.spec> & { readonly builder: K.BarBuilder } => {
  const timeframesMs = config.timeframesMs ?? DEFAULT_TIMEFRAMES_MS
  // The emitter of the call in progress (onBatch, onTimer, onDrain), where closed bars go.
  let out: Stage.Emitter<typeof Bar.spec> | undefined
  const emitting: K.BarSink = {
    bar(symbol, tf, startNs, open, high, low, close, volume, ticks, flags) {
      const o = out!
      const slot = o.emit(0)
      const f = o.view.fields
      f.startNs.set(slot, startNs)
      f.open.set(slot, open)
      f.high.set(slot, high)
      f.low.set(slot, low)
      f.close.set(slot, close)
      f.volume.set(slot, volume)
      f.symbol.set(slot, symbol)
      f.timeframeMs.set(slot, timeframesMs[tf]!)
      f.ticks.set(slot, ticks)
      f.flags.set(slot, flags)
    }
  }
  const counts = config.stats === undefined ? undefined : T.countsOf(config.stats)
  const builder = new K.BarBuilder(builderOptions(config, storeSink(config, emitting), counts))
  const price = PRICE[config.price ?? "mid"]
  const timerClose = config.timerClose ?? true
  return {
    builder,
    onBatch(input, start, count, emitter) {
      out = emitter
      // The builder reads the fields straight from the record words (see quoteWords.ts), and stops
      // at a refused quote for its dead letter.
      builder.applied = 0
      builder.late = 0
      const end = start + count
      let i = builder.offerQuotes(input.words64, input.words, start, end, WORDS, price)
      while (i < end) {
        const r = builder.refused
        emitter.deadLetter(r === K.UNKNOWN_SYMBOL ? 0 : r === K.INVALID_PRICE ? 1 : 2, input, i)
        i = builder.offerQuotes(input.words64, input.words, i + 1, end, WORDS, price)
      }
      const { applied, late } = builder
      if (applied !== 0) emitter.account(applied)
      if (late !== 0) emitter.drop(LATE, late)
    },
    onTimer(nowNs, emitter) {
      // Without timerClose, a timer would close due bars (of every symbol) at moments of the thread's
      // timing, interleaving them with the ticks' own closes in an order no other run repeats.
      if (!timerClose) return
      out = emitter
      builder.timer(nowNs, true)
    },
    onDrain(emitter) {
      out = emitter
      builder.drain()
    }
  }
}

/**
 * Rebuilds a bar store from ticks (persisted ones, at start): the same rules as the stage, with no
 * output but the store. Feed it the ticks in the order they were stored, then `end(nowNs)` with the
 * present exchange time: bars whose interval is over by then are stored; the ones still running are
 * left out (the live stage's first bars for them are flagged partial).
 *
 * @example
 * ```ts
 * import { BarStore, rebuildBars } from "@velox/market"
 *
 * const store = BarStore.make({ symbols: 8, timeframesMs: [60_000] })
 * const rebuild = rebuildBars({ symbols: 8, timeframesMs: [60_000], store })
 * // for each persisted tick: rebuild.offer(tick)
 * const { ticks, bars } = rebuild.end(Date.now() * 1e6)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const rebuild = (config: Config): Rebuild => {
  const decoded = Schema.decodeUnknownSync(Config)(config)
  let bars = 0
  let refused = 0
  const counting: K.BarSink = { bar: () => void bars++ }
  // Bars close (into the store) only once they are over; those still running at `end` stay out.
  const builder = new K.BarBuilder(builderOptions(decoded, storeSink(decoded, counting), undefined))
  const price = PRICE[decoded.price ?? "mid"]
  let ticks = 0
  let late = 0
  return {
    offer(q) {
      const valid = q.bid > 0 && q.bid < Infinity && q.ask > 0 && q.ask < Infinity
      const p = !valid ? NaN : price === 0 ? (q.bid + q.ask) * 0.5 : price === 1 ? q.bid : q.ask
      const r = builder.offer(q.symbol, q.exchangeTsNs, p, q.lastSize)
      if (r === K.APPLIED) ticks++
      else if (r === K.LATE) late++
      else refused++
    },
    end(nowNs) {
      builder.advance(nowNs)
      return { ticks, late, refused, bars, openBars: builder.openBars() }
    }
  }
}

/**
 * A rebuild in progress (see {@link rebuild}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Rebuild {
  /** Applies one persisted tick. */
  offer(quote: { readonly symbol: number; readonly exchangeTsNs: number; readonly bid: number; readonly ask: number; readonly lastSize: number }): void
  /** Closes and stores every bar over by `nowNs` (exchange time, ns since the epoch); what it did. */
  end(nowNs: number): { readonly ticks: number; readonly late: number; readonly refused: number; readonly bars: number; readonly openBars: number }
}

/**
 * The bars stage (name `bars`): `Quote` in, `Bar` out. See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const Bars = Stage.make({
  name: "bars",
  module: import.meta.url,
  input: Quote,
  output: Bar,
  config: Config,
  dropReasons,
  errors,
  timerPeriodNs: TIMER_PERIOD_NS,
  make: makeLogic
})
