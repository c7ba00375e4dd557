/**
 * Feed health (kernel tier): when each symbol last had a quote, its gaps, and whether the feed as a
 * whole is stale, in a `SharedArrayBuffer` the feed-health stage writes and any thread reads — `/ready`
 * answers 503 "feed stale" from it.
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once (magic last, Atomics)
 *          │ 0xFEED0A17           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ symbols  i32         │ feedInGap i32        │  symbols: make(); feedInGap: the stage's
 *          │                      │ 1 while the feed is  │  timer, Atomics.store
 *          │                      │ silent past its gap  │
 *  byte 16 ├──────────────────────┴──────────────────────┤
 *          │ feedGapNs     f64  the feed's gap threshold │  make(), plain, once
 *  byte 24 │ symbolGapNs   f64  a symbol's threshold     │  make(), plain, once
 *  byte 32 │ feedGaps      f64  times the feed went      │  the stage (timer, or the quote that ended
 *          │                    silent past feedGapNs    │  the silence), plain
 *  byte 40 │ startedNs     f64  when the stage started   │  the stage, plain, once per start
 *  byte 48 │ reserved (16 bytes)                         │
 *  byte 64 ├─────────────────────────────────────────────┤
 *          │ symbol 0 (32 bytes):                        │  the stage, plain (one thread per symbol)
 *          │   +0  lastSeenNs f64  wall clock of its     │
 *          │                       last quote (0: never) │
 *          │   +8  gaps       f64  silences past the     │
 *          │                       symbol's threshold    │
 *          │   +16 maxGapNs   f64  its longest silence   │
 *          │   +24 quotes     f64  quotes seen           │
 *          ├─────────────────────────────────────────────┤
 *          │ symbol 1 …                                  │
 *          └─────────────────────────────────────────────┘  64 + 32 × symbols bytes
 * ```
 *
 * Times are wall-clock ns since the Unix epoch (`performance.timeOrigin + performance.now()`, which
 * every thread reads alike), so a reader on another thread compares them with its own clock: staleness
 * is decided by the reader, at the time of reading, and holds even if the stage's loop stopped. The
 * stage's timer only counts gap events (a silence past the threshold, counted once, when the timer
 * sees it or when the quote that ends it arrives). f64 words are written whole and read whole (aligned);
 * `feedInGap` is the only word read for a decision by the writer's own timer, and is atomic.
 */

/** First word of a feed-health table. */
export const MAGIC = 0xfeed0a17 | 0
export const VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const SYMBOLS_OFFSET = 8
export const FEED_IN_GAP_OFFSET = 12
export const FEED_GAP_NS_OFFSET = 16
export const SYMBOL_GAP_NS_OFFSET = 24
export const FEED_GAPS_OFFSET = 32
export const STARTED_NS_OFFSET = 40
/** Where symbol 0 starts. */
export const HEADER_BYTES = 64
export const SYMBOL_BYTES = 32
export const LAST_SEEN = 0
export const GAPS = 1
export const MAX_GAP = 2
export const QUOTES = 3
const SYMBOL_WORDS = SYMBOL_BYTES / 8

export const byteLength = (symbols: number): number => HEADER_BYTES + SYMBOL_BYTES * symbols

/** Wall-clock ns since the Unix epoch, comparable across this process's threads. */
export const wallClockNs = (): number => (performance.timeOrigin + performance.now()) * 1e6

export const makeTable = (symbols: number, feedGapNs: number, symbolGapNs: number): SharedArrayBuffer => {
  if (!(Number.isInteger(symbols) && symbols >= 1 && symbols <= 1 << 24)) {
    throw new RangeError(`symbols must be an integer in 1..${1 << 24}: symbols=${symbols}`)
  }
  if (!(feedGapNs > 0 && symbolGapNs > 0)) {
    throw new RangeError(`gap thresholds must be > 0: feedGapNs=${feedGapNs}, symbolGapNs=${symbolGapNs}`)
  }
  const buffer = new SharedArrayBuffer(byteLength(symbols))
  const words = new Int32Array(buffer, 0, HEADER_BYTES / 4)
  const f64 = new Float64Array(buffer, 0, HEADER_BYTES / 8)
  words[VERSION_OFFSET >> 2] = VERSION
  words[SYMBOLS_OFFSET >> 2] = symbols
  f64[FEED_GAP_NS_OFFSET >> 3] = feedGapNs
  f64[SYMBOL_GAP_NS_OFFSET >> 3] = symbolGapNs
  // publish: a table whose header is complete (readers check the magic first).
  Atomics.store(words, MAGIC_OFFSET >> 2, MAGIC)
  return buffer
}

/** The symbol count of a feed-health table, or -1 when `u` is not one. */
export const tableSymbols = (u: unknown): number => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return -1
  const words = new Int32Array(u, 0, HEADER_BYTES / 4)
  // acquire: the header, complete once the magic is there.
  if (Atomics.load(words, MAGIC_OFFSET >> 2) !== MAGIC || words[VERSION_OFFSET >> 2] !== VERSION) return -1
  const symbols = words[SYMBOLS_OFFSET >> 2]!
  return u.byteLength === byteLength(symbols) ? symbols : -1
}

/** Index of a symbol's field in the table's f64 words. */
export const wordOf = (symbol: number, field: number): number => HEADER_BYTES / 8 + symbol * SYMBOL_WORDS + field

/** The writing side: the feed-health stage. */
export class FeedMonitor {
  readonly symbols: number
  readonly feedGapNs: number
  readonly symbolGapNs: number
  private readonly f64: Float64Array
  private readonly i32: Int32Array
  /** Symbols whose current silence was already counted as a gap (by the timer). */
  private readonly inGap: Uint8Array
  /** The latest quote of any symbol (wall clock ns); 0 before the first. */
  private lastAnyNs = 0

  constructor(buffer: SharedArrayBuffer, startedNs: number) {
    const symbols = tableSymbols(buffer)
    if (symbols < 1) throw new TypeError("not a feed-health table (make one with FeedStatus.make)")
    this.symbols = symbols
    this.f64 = new Float64Array(buffer)
    this.i32 = new Int32Array(buffer)
    this.feedGapNs = this.f64[FEED_GAP_NS_OFFSET >> 3]!
    this.symbolGapNs = this.f64[SYMBOL_GAP_NS_OFFSET >> 3]!
    this.inGap = new Uint8Array(symbols)
    this.f64[STARTED_NS_OFFSET >> 3] = startedNs
    // A restarted stage carries on from what the table holds.
    for (let s = 0; s < symbols; s++) {
      const last = this.f64[wordOf(s, LAST_SEEN)]!
      if (last > this.lastAnyNs) this.lastAnyNs = last
    }
  }

  /** A quote of `symbol` arrived at `nowNs` (wall clock). Symbols outside the table are ignored. */
  seen(symbol: number, nowNs: number): void {
    if (!(symbol < this.symbols)) return
    const f64 = this.f64
    const at = wordOf(symbol, 0)
    const last = f64[at + LAST_SEEN]!
    if (last > 0) {
      const silence = nowNs - last
      if (silence > f64[at + MAX_GAP]!) f64[at + MAX_GAP] = silence
      // A silence past the threshold the timer did not see: count it now.
      if (this.inGap[symbol] === 0 && silence > this.symbolGapNs) f64[at + GAPS]! += 1
    }
    this.inGap[symbol] = 0
    f64[at + LAST_SEEN] = nowNs
    f64[at + QUOTES]! += 1
    if (nowNs > this.lastAnyNs) {
      if (this.lastAnyNs > 0 && nowNs - this.lastAnyNs > this.feedGapNs && Atomics.load(this.i32, FEED_IN_GAP_OFFSET >> 2) === 0) {
        f64[FEED_GAPS_OFFSET >> 3]! += 1
      }
      this.lastAnyNs = nowNs
    }
    if (Atomics.load(this.i32, FEED_IN_GAP_OFFSET >> 2) !== 0) {
      // publish: the feed is live again.
      Atomics.store(this.i32, FEED_IN_GAP_OFFSET >> 2, 0)
    }
  }

  /** The timer: counts the silences that just passed their threshold (each once). */
  check(nowNs: number): void {
    const f64 = this.f64
    for (let s = 0; s < this.symbols; s++) {
      const last = f64[wordOf(s, LAST_SEEN)]!
      if (last > 0 && this.inGap[s] === 0 && nowNs - last > this.symbolGapNs) {
        this.inGap[s] = 1
        f64[wordOf(s, GAPS)]! += 1
      }
    }
    if (this.lastAnyNs > 0 && nowNs - this.lastAnyNs > this.feedGapNs && Atomics.load(this.i32, FEED_IN_GAP_OFFSET >> 2) === 0) {
      f64[FEED_GAPS_OFFSET >> 3]! += 1
      // publish: the feed went silent past its threshold.
      Atomics.store(this.i32, FEED_IN_GAP_OFFSET >> 2, 1)
    }
  }
}
