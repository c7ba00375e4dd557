/**
 * OHLC bars over several timeframes at once (kernel tier): open, high, low, close, volume and tick
 * count per symbol and timeframe, on exchange time, closed when their interval is over. No `effect`,
 * no allocation per tick; closed bars go to a {@link BarSink} the caller gives.
 *
 * **The event clock.** `clockNs` is the latest exchange time the builder knows: the highest tick time
 * seen, and — when a timer moves it on (`timer`, `advance`) — time that passed since, so that bars
 * close when their interval ends even if no later tick arrives.
 *
 * **Closing.** A bar `[start, start + tf)` closes once `clockNs ≥ start + tf + toleranceNs`: ticks up
 * to `toleranceNs` late are still applied to it. A tick is **late** when the bar it belongs to in the
 * smallest timeframe is already due to close — then it is applied to no timeframe (counted, not
 * applied), so the bars of every timeframe are built from the same ticks: a `1m` bar is exactly its
 * `1s` bars put together. With `toleranceNs` below the smallest timeframe, a symbol has at most two
 * bars open per timeframe (the current one, and the previous one inside its tolerance).
 *
 * **Gaps.** An interval with no tick, once due, is either counted (`fillGaps` off: no bar, a gap in
 * the stats) or filled with a flat bar at the previous close, volume 0, ticks 0, flagged
 * {@link SYNTHETIC} (`fillGaps` on). Gaps are only counted or filled between a symbol's first bar and
 * the event clock, in time order with its bars.
 *
 * **Partial bars.** A bar that may lack ticks of its interval is flagged {@link PARTIAL}: one that
 * `drain` closes before its interval ended, and one whose interval began before the builder's first
 * tick (the builder started, or restarted, in the middle of it).
 *
 * Bars of one symbol and timeframe are closed in time order; across them, in the order the rules
 * above close them (deterministic for the same ticks and the same clock advances).
 *
 * **Rolled up from the smallest bar.** Most ticks fall in their symbol's current bar of the smallest
 * timeframe, and that bar lies inside the current bar of every larger one (each timeframe is a
 * multiple of the smallest). Such a tick updates the smallest bar only, and adds its size to the
 * larger bars' volumes (one add each, in tick order, so a volume is the same sum as tick by tick);
 * the larger bars take the smallest one's high, low, close and new ticks when anything else is about
 * to touch them (`sync`: before a tick outside that bar, a clock advance, a drain). So the bars, their
 * order and the statistics are exactly those of updating every timeframe on every tick (`direct`,
 * the reference the tests hold this to), at about one timeframe's cost per tick.
 */
import { HEADER_BYTES as COUNTS_HEADER_BYTES } from "./counterTable.ts"

/** Where a counter table's rows start, in f64 words. */
const COUNTS_BASE = COUNTS_HEADER_BYTES / 8

/** Bar flag: an interval with no tick, filled at the previous close. */
export const SYNTHETIC = 1
/** Bar flag: may lack ticks of its interval: closed before its interval ended (a drain), or begun before the builder's first tick. */
export const PARTIAL = 2

/** `offer`: applied to the bars of every timeframe. */
export const APPLIED = 0 as const
/** `offer`: late — its bar is closed or due to close; not applied. */
export const LATE = 1 as const
/** `offer` refused: the symbol id is not below `symbols`. */
export const UNKNOWN_SYMBOL = -1 as const
/** `offer` refused: the price is not a positive finite number, or the size not a finite number ≥ 0. */
export const INVALID_PRICE = -2 as const
/** `offer` refused: the exchange time is not a finite number ≥ 0. */
export const INVALID_TIME = -3 as const

/** Counter table kind of the bars' statistics. */
export const STATS_KIND = 0xba75
/** Counter table columns: late ticks (per symbol), then per timeframe closed, synthetic, gaps, partial. */
export const LATE_COLUMN = 0
export const CLOSED_COLUMN = 0
export const SYNTHETIC_COLUMN = 1
export const GAPS_COLUMN = 2
export const PARTIAL_COLUMN = 3
export const PER_TIMEFRAME_COLUMNS = 4
export const statsColumns = (timeframes: number): number => 1 + PER_TIMEFRAME_COLUMNS * timeframes
/** The column of `counter` for timeframe `tf` (its index). */
export const timeframeColumn = (tf: number, counter: number): number => 1 + tf * PER_TIMEFRAME_COLUMNS + counter

/** `offerQuotes`: what a quote is priced at. */
export const PRICE_MID = 0
export const PRICE_BID = 1
export const PRICE_ASK = 2

/** Where a quote's fields are in its record, for {@link BarBuilder.offerQuotes}: in 8-byte words, the symbol (u32) in 4-byte words. */
export interface QuoteWords {
  readonly stride: number
  readonly symbol: number
  readonly exchangeTsNs: number
  readonly bid: number
  readonly ask: number
  readonly lastSize: number
}

/** The most timeframes one builder keeps. */
export const MAX_TIMEFRAMES = 8

/** Where closed bars go. Called in the builder's thread, once per closed (or synthetic) bar. */
export interface BarSink {
  bar(
    symbol: number,
    timeframe: number,
    startNs: number,
    open: number,
    high: number,
    low: number,
    close: number,
    volume: number,
    ticks: number,
    flags: number
  ): void
}

export interface BarBuilderOptions {
  readonly symbols: number
  /**
   * Interval lengths in ns, distinct, each a multiple of the smallest (so every interval of a larger
   * timeframe is made of whole intervals of the smallest, and a tick on time for the smallest is on
   * time for all).
   */
  readonly timeframesNs: ReadonlyArray<number>
  /** How late a tick may be and still be applied; below the smallest timeframe. */
  readonly toleranceNs: number
  readonly fillGaps: boolean
  readonly sink: BarSink
  /** A counter table's f64 words (see `counterTable.ts`), with `statsColumns(timeframes)` columns. */
  readonly counts?: Float64Array | undefined
  /**
   * Update every timeframe on every tick instead of rolling the larger ones up from the smallest bar
   * (the same bars, slower): the reference the rolled-up path is tested against.
   */
  readonly direct?: boolean | undefined
}

// Per key (symbol × timeframes + tf), FIELDS f64 of state.
const CUR = 0 // start (NaN: none), open, high, low, close, volume, ticks
const PREV = 7 // the same, for the previous bar still inside its tolerance
const START = 0
const OPEN = 1
const HIGH = 2
const LOW = 3
const CLOSE = 4
const VOLUME = 5
const TICKS = 6
/** End of the last bar closed or gap counted (NaN: nothing yet); intervals before it are settled. */
const COVERED = 14
/** Close of the last bar closed, for synthetic bars. */
const LAST_CLOSE = 15
const FIELDS = 16

// Per symbol, WINDOW f64: the smallest timeframe's current bar [start, end) while it lies inside the
// current bar of every larger timeframe (NaN otherwise: a tick then takes the direct path), and that
// bar's tick count when the larger timeframes last took its high, low, close and ticks.
const WIN_START = 0
const WIN_END = 1
const WIN_SYNCED = 2
const WINDOW = 3

export class BarBuilder {
  readonly symbols: number
  readonly timeframes: number
  readonly toleranceNs: number
  readonly fillGaps: boolean
  /** The event clock: see the module comment. */
  clockNs = -Infinity
  /** The highest tick time seen. */
  maxSeenNs = -Infinity
  /** The first applied tick's time: a bar that started before it may lack ticks ({@link PARTIAL}). */
  firstNs = NaN
  /** Ticks `offerQuotes` applied and found late (the caller zeroes them), and its last refusal's code. */
  applied = 0
  late = 0
  refused = 0
  /** The timer's anchor: `maxSeenNs` and the caller's clock when the timer last saw it change. */
  private anchorSeenNs = -Infinity
  private anchorNowNs = 0
  private readonly tfNs: Float64Array
  private readonly smallestNs: number
  /** Where the smallest timeframe's current bar starts in a symbol's state row. */
  private readonly smallestAt: number
  private readonly state: Float64Array
  /** Per symbol: the rolled-up window (see WINDOW). */
  private readonly window: Float64Array
  private readonly direct: boolean
  private readonly sink: BarSink
  private readonly counts: Float64Array
  private readonly columns: number

  constructor(options: BarBuilderOptions) {
    const { symbols, timeframesNs, toleranceNs } = options
    if (!(Number.isInteger(symbols) && symbols >= 1)) throw new RangeError(`symbols must be a positive integer: symbols=${symbols}`)
    if (!(timeframesNs.length >= 1 && timeframesNs.length <= MAX_TIMEFRAMES)) {
      throw new RangeError(`between 1 and ${MAX_TIMEFRAMES} timeframes: ${timeframesNs.length}`)
    }
    const smallest = Math.min(...timeframesNs)
    if (new Set(timeframesNs).size !== timeframesNs.length || timeframesNs.some((tf) => !(tf > 0) || tf % smallest !== 0)) {
      throw new RangeError(`timeframes must be distinct multiples of the smallest: ${timeframesNs.join(", ")} ns`)
    }
    if (!(toleranceNs >= 0 && toleranceNs < smallest)) {
      throw new RangeError(`toleranceNs must be ≥ 0 and below the smallest timeframe (${smallest} ns): toleranceNs=${toleranceNs}`)
    }
    this.symbols = symbols
    this.timeframes = timeframesNs.length
    this.toleranceNs = toleranceNs
    this.fillGaps = options.fillGaps
    this.tfNs = Float64Array.from(timeframesNs)
    this.smallestNs = smallest
    this.smallestAt = timeframesNs.indexOf(smallest) * FIELDS + CUR
    this.state = new Float64Array(symbols * this.timeframes * FIELDS)
    for (let k = 0; k < symbols * this.timeframes; k++) {
      const at = k * FIELDS
      this.state[at + CUR + START] = NaN
      this.state[at + PREV + START] = NaN
      this.state[at + COVERED] = NaN
    }
    this.window = new Float64Array(symbols * WINDOW).fill(NaN)
    this.direct = options.direct === true
    this.sink = options.sink
    this.columns = statsColumns(this.timeframes)
    this.counts = options.counts ?? new Float64Array(COUNTS_BASE + symbols * this.columns)
  }

  /**
   * Applies one tick to every timeframe: {@link APPLIED}, {@link LATE}, or a negative refusal code
   * (nothing changed). Closes the symbol's bars the tick shows to be over. For a stream of records,
   * {@link offerQuotes} does the same faster.
   */
  offer(symbol: number, tNs: number, price: number, size: number): number {
    if (!(symbol < this.symbols && tNs >= 0 && tNs < Infinity && price > 0 && price < Infinity && size >= 0 && size < Infinity)) {
      return this.refusal(symbol, tNs)
    }
    if (tNs > this.maxSeenNs) {
      // The clock is never behind the highest tick time: only a new highest can move it.
      this.maxSeenNs = tNs
      if (tNs > this.clockNs) this.clockNs = tNs
    }
    // A tick within the tolerance of the clock (in order: the usual case) is never late.
    if (tNs + this.toleranceNs < this.clockNs && this.isLate(symbol, tNs)) return LATE
    this.offerDirect(symbol, tNs, price, size)
    return APPLIED
  }

  /**
   * Offers records `from .. to - 1` of a record batch (`words64` and `words` of one buffer; where a
   * quote's fields are: `at`) as {@link offer} would each, pricing each at its mid, bid or ask
   * (`price`: {@link PRICE_MID}, {@link PRICE_BID}, {@link PRICE_ASK}; a quote with either side not
   * a positive finite number is refused as {@link INVALID_PRICE}). Stops at the first refused
   * record and returns its index (its code in `refused`), else returns `to`; adds to `applied` and
   * `late`, which the caller zeroes.
   *
   * The usual tick (in order, in its symbol's window: see the module comment) is handled in this
   * loop, so what it costs does not depend on whether V8 inlines anything into the caller; the rest
   * go through `offer`.
   */
  offerQuotes(words64: Float64Array, words: Int32Array, from: number, to: number, at: QuoteWords, price: number): number {
    // Everything the usual tick reads in locals, the clock too (written back before any other path
    // runs, and read again after it).
    const s = this.state
    const window = this.window
    const symbols = this.symbols
    const tolerance = this.toleranceNs
    const row = this.timeframes * FIELDS
    const smallestAt = this.smallestAt
    const stride = at.stride
    const symbolAt = at.symbol
    const tsAt = at.exchangeTsNs
    const bidAt = at.bid
    const askAt = at.ask
    const sizeAt = at.lastSize
    let clock = this.clockNs
    let maxSeen = this.maxSeenNs
    let applied = 0
    let stop = to
    for (let i = from, w = from * stride; i < to; i++, w += stride) {
      const symbol = words[2 * w + symbolAt]! >>> 0
      const tNs = words64[w + tsAt]!
      const bid = words64[w + bidAt]!
      const ask = words64[w + askAt]!
      const size = words64[w + sizeAt]!
      // Both sides must be valid whichever is priced: a quote with a bad side is a bad quote.
      const p = !(bid > 0 && bid < Infinity && ask > 0 && ask < Infinity) ? NaN : price === PRICE_MID ? (bid + ask) * 0.5 : price === PRICE_BID ? bid : ask
      const win = symbol * WINDOW
      if (
        symbol < symbols && tNs >= window[win + WIN_START]! && tNs < window[win + WIN_END]! && p > 0 && p < Infinity && size >= 0 && size < Infinity &&
        tNs + tolerance >= clock
      ) {
        // In the smallest timeframe's current bar, so in every larger one's, and not late: that bar
        // only, and the larger bars' volumes (their high, low, close and ticks follow at the next sync).
        if (tNs > maxSeen) {
          maxSeen = tNs
          if (tNs > clock) clock = tNs
        }
        const first = symbol * row
        const bar = first + smallestAt
        if (p > s[bar + HIGH]!) s[bar + HIGH] = p
        if (p < s[bar + LOW]!) s[bar + LOW] = p
        s[bar + CLOSE] = p
        s[bar + TICKS]! += 1
        for (let v = first + CUR + VOLUME; v < first + row; v += FIELDS) s[v]! += size
        applied++
        continue
      }
      this.clockNs = clock
      this.maxSeenNs = maxSeen
      const r = this.offer(symbol, tNs, p, size)
      clock = this.clockNs
      maxSeen = this.maxSeenNs
      if (r === APPLIED) applied++
      else if (r === LATE) this.late++
      else {
        this.refused = r
        stop = i
        break
      }
    }
    this.clockNs = clock
    this.maxSeenNs = maxSeen
    this.applied += applied
    return stop
  }

  /** A tick outside the rolled-up window: the larger timeframes synced, then every timeframe updated, then the window set again. */
  private offerDirect(symbol: number, tNs: number, price: number, size: number): void {
    this.sync(symbol)
    if (this.firstNs !== this.firstNs) this.firstNs = tNs
    const tfs = this.timeframes
    const s = this.state
    const lengths = this.tfNs
    let at = symbol * tfs * FIELDS
    // The timeframes whose current bar the tick is not in, one bit each: handled after the loop, so
    // the loop makes no call (a call in it costs every timeframe its checks and registers).
    let outside = 0
    for (let tf = 0; tf < tfs; tf++, at += FIELDS) {
      const cur = s[at + CUR + START]!
      // Most ticks fall in the current bar: two comparisons (false for NaN), the update in line.
      if (tNs >= cur && tNs < cur + lengths[tf]!) {
        if (price > s[at + CUR + HIGH]!) s[at + CUR + HIGH] = price
        if (price < s[at + CUR + LOW]!) s[at + CUR + LOW] = price
        s[at + CUR + CLOSE] = price
        s[at + CUR + VOLUME]! += size
        s[at + CUR + TICKS]! += 1
      } else {
        outside |= 1 << tf
      }
    }
    if (outside !== 0) this.applyOutside(symbol, outside, tNs, price, size)
    this.arm(symbol)
  }

  /** The larger timeframes' current bars take what the smallest one's got since the last sync (its ticks are theirs). */
  private sync(symbol: number): void {
    const w = this.window
    const win = symbol * WINDOW
    if (w[win + WIN_START] !== w[win + WIN_START]) return // no window: every tick went the direct way
    const s = this.state
    const row = symbol * this.timeframes * FIELDS
    const small = row + this.smallestAt
    const fresh = s[small + TICKS]! - w[win + WIN_SYNCED]!
    if (fresh === 0) return
    const high = s[small + HIGH]!
    const low = s[small + LOW]!
    for (let tf = 0, at = row + CUR; tf < this.timeframes; tf++, at += FIELDS) {
      if (at === small) continue
      if (high > s[at + HIGH]!) s[at + HIGH] = high
      if (low < s[at + LOW]!) s[at + LOW] = low
      s[at + CLOSE] = s[small + CLOSE]!
      s[at + TICKS]! += fresh
    }
    w[win + WIN_SYNCED] = s[small + TICKS]!
  }

  /** Sets the symbol's window to its smallest current bar when that bar lies inside every larger current bar; else none. */
  private arm(symbol: number): void {
    const w = this.window
    const win = symbol * WINDOW
    const s = this.state
    const row = symbol * this.timeframes * FIELDS + CUR
    const small = row + this.smallestAt
    const start = s[small + START]!
    // The end as offer's direct test computes it, so the window holds exactly the ticks that test would put in this bar.
    const end = start + this.smallestNs
    let inside = !this.direct && start === start
    for (let tf = 0, at = row; inside && tf < this.timeframes; tf++, at += FIELDS) {
      inside = s[at + START]! <= start && end <= s[at + START]! + this.tfNs[tf]!
    }
    w[win + WIN_START] = inside ? start : NaN
    w[win + WIN_END] = inside ? end : NaN
    w[win + WIN_SYNCED] = s[small + TICKS]!
  }

  /** `apply` for each timeframe of `outside` (a bit per timeframe), in timeframe order, as `offer` meets them. */
  private applyOutside(symbol: number, outside: number, tNs: number, price: number, size: number): void {
    for (let tf = 0; tf < this.timeframes; tf++) {
      if ((outside & (1 << tf)) !== 0) this.apply(symbol, tf, tNs, price, size)
    }
  }

  /** Why `offer` refuses a tick (one of its arguments is not a valid one). */
  private refusal(symbol: number, tNs: number): number {
    if (!(symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (!(tNs >= 0 && tNs < Infinity)) return INVALID_TIME
    return INVALID_PRICE
  }

  /**
   * Late: its smallest-timeframe bar is due (its end plus the tolerance is behind the clock); then
   * counted. That end is above `tNs`, so `offer` asks only for a tick behind the clock by more than
   * the tolerance.
   */
  private isLate(symbol: number, tNs: number): boolean {
    const smallest = this.smallestNs
    if (tNs - (tNs % smallest) + smallest + this.toleranceNs > this.clockNs) return false
    this.counts[COUNTS_BASE + symbol * this.columns + LATE_COLUMN]! += 1
    return true
  }

  /** A tick outside the current bar: the previous one, a new one (closing what is over), or the first. */
  private apply(symbol: number, tf: number, tNs: number, price: number, size: number): void {
    const s = this.state
    const at = (symbol * this.timeframes + tf) * FIELDS
    const len = this.tfNs[tf]!
    const cur = s[at + CUR + START]!
    const start = tNs - (tNs % len)
    if (start === s[at + PREV + START]) return this.update(at + PREV, price, size)
    if (cur !== cur) return this.open(at + CUR, start, price, size) // no bar open
    if (start > cur) {
      // A later interval: the previous bar is due (two intervals back); the current one moves back
      // unless it is due as well.
      if (s[at + PREV + START] === s[at + PREV + START]) this.close(symbol, tf, at, at + PREV, 0)
      if (cur + len + this.toleranceNs <= this.clockNs) {
        this.close(symbol, tf, at, at + CUR, 0)
      } else {
        s.copyWithin(at + PREV, at + CUR, at + CUR + 7)
      }
      return this.open(at + CUR, start, price, size)
    }
    // The interval just before the current bar, not yet due (else the tick would be late): reopen it.
    this.open(at + PREV, start, price, size)
  }

  private open(bar: number, start: number, price: number, size: number): void {
    const s = this.state
    s[bar + START] = start
    s[bar + OPEN] = price
    s[bar + HIGH] = price
    s[bar + LOW] = price
    s[bar + CLOSE] = price
    s[bar + VOLUME] = size
    s[bar + TICKS] = 1
  }

  private update(bar: number, price: number, size: number): void {
    const s = this.state
    if (price > s[bar + HIGH]!) s[bar + HIGH] = price
    if (price < s[bar + LOW]!) s[bar + LOW] = price
    s[bar + CLOSE] = price
    s[bar + VOLUME]! += size
    s[bar + TICKS]! += 1
  }

  /** Closes the bar at `bar` (state index) of key `at`, after the gaps before it; emits it. */
  private close(symbol: number, tf: number, at: number, bar: number, drained: number): void {
    const s = this.state
    const start = s[bar + START]!
    // Partial: cut short by a drain, or begun before the builder's first tick (it may lack earlier ones).
    const flags = drained | (start < this.firstNs ? PARTIAL : 0)
    this.gapsUntil(symbol, tf, at, start)
    this.sink.bar(symbol, tf, start, s[bar + OPEN]!, s[bar + HIGH]!, s[bar + LOW]!, s[bar + CLOSE]!, s[bar + VOLUME]!, s[bar + TICKS]!, flags)
    const row = COUNTS_BASE + symbol * this.columns
    this.counts[row + timeframeColumn(tf, (flags & PARTIAL) !== 0 ? PARTIAL_COLUMN : CLOSED_COLUMN)]! += 1
    s[at + COVERED] = start + this.tfNs[tf]!
    s[at + LAST_CLOSE] = s[bar + CLOSE]!
    // The previous bar always closes before the current one (it ends first), so closing the current
    // one never leaves a previous one behind.
    s[bar + START] = NaN
  }

  /** Counts or fills the intervals from the last settled one up to `until` (exclusive). */
  private gapsUntil(symbol: number, tf: number, at: number, until: number): void {
    const s = this.state
    let covered = s[at + COVERED]!
    if (!(covered < until)) return // nothing settled yet (NaN), or no gap
    const len = this.tfNs[tf]!
    const row = COUNTS_BASE + symbol * this.columns
    if (!this.fillGaps) {
      this.counts[row + timeframeColumn(tf, GAPS_COLUMN)]! += (until - covered) / len
    } else {
      const close = s[at + LAST_CLOSE]!
      for (; covered < until; covered += len) {
        this.sink.bar(symbol, tf, covered, close, close, close, close, 0, 0, SYNTHETIC)
        this.counts[row + timeframeColumn(tf, SYNTHETIC_COLUMN)]! += 1
      }
    }
    s[at + COVERED] = until
  }

  /**
   * Moves the clock to `clockNs` (never back) and closes every bar now due, with the gaps before
   * them and the gaps since each symbol's last bar. Cost: one pass over symbols × timeframes.
   */
  advance(clockNs: number): void {
    if (clockNs > this.clockNs) this.clockNs = clockNs
    const clock = this.clockNs
    const tolerance = this.toleranceNs
    const s = this.state
    const tfs = this.timeframes
    for (let symbol = 0; symbol < this.symbols; symbol++) {
      this.sync(symbol)
      for (let tf = 0; tf < tfs; tf++) {
        const at = (symbol * tfs + tf) * FIELDS
        if (s[at + COVERED]! !== s[at + COVERED]! && s[at + CUR + START]! !== s[at + CUR + START]!) continue // never seen
        const len = this.tfNs[tf]!
        if (s[at + PREV + START]! + len + tolerance <= clock) this.close(symbol, tf, at, at + PREV, 0)
        if (s[at + CUR + START]! + len + tolerance <= clock) this.close(symbol, tf, at, at + CUR, 0)
        // Due intervals since the last bar: up to the first interval not due, which is also at or
        // before the start of any bar still open (an open bar is not due).
        const dueEnd = clock - tolerance - ((clock - tolerance) % len)
        if (s[at + COVERED]! < dueEnd) this.gapsUntil(symbol, tf, at, dueEnd)
      }
      this.arm(symbol)
    }
  }

  /**
   * A timer's call, with the caller's monotonic clock (any origin, ns): closes the bars now due. With
   * `extrapolate`, the event clock also moves on by the time elapsed on `nowNs` since the highest tick
   * time last changed — exchange time is taken to follow the clock (a live feed), so bars close when
   * their interval ends even if no later tick arrives; without it, only ticks move the event clock.
   */
  timer(nowNs: number, extrapolate: boolean): void {
    if (this.maxSeenNs !== this.anchorSeenNs) {
      this.anchorSeenNs = this.maxSeenNs
      this.anchorNowNs = nowNs
    }
    this.advance(extrapolate && this.anchorSeenNs > -Infinity ? this.anchorSeenNs + (nowNs - this.anchorNowNs) : this.clockNs)
  }

  /** Closes every open bar (in time order per symbol and timeframe); a bar not yet over is {@link PARTIAL}. */
  drain(): void {
    const s = this.state
    const tfs = this.timeframes
    for (let symbol = 0; symbol < this.symbols; symbol++) {
      this.sync(symbol)
      for (let tf = 0; tf < tfs; tf++) {
        const at = (symbol * tfs + tf) * FIELDS
        const len = this.tfNs[tf]!
        for (const bar of [at + PREV, at + CUR]) {
          const start = s[bar + START]!
          if (start === start) this.close(symbol, tf, at, bar, start + len > this.clockNs ? PARTIAL : 0)
        }
      }
      this.arm(symbol)
    }
  }

  /** Bars open now, over every symbol and timeframe. */
  openBars(): number {
    let n = 0
    for (let k = 0; k < this.symbols * this.timeframes; k++) {
      if (this.state[k * FIELDS + CUR + START] === this.state[k * FIELDS + CUR + START]) n++
      if (this.state[k * FIELDS + PREV + START] === this.state[k * FIELDS + PREV + START]) n++
    }
    return n
  }
}
