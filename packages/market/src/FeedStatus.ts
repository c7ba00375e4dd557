/**
 * Feed health as any thread sees it: when each symbol last had a quote, its silences (gaps), and
 * whether the feed as a whole is **stale** — no quote of any symbol for `feedGapMs` (default 5 s), or
 * none yet. The {@link FeedHealth} stage writes the table; the main thread reads it without messages
 * (the tick server's `/ready` answers 503 "feed stale" from {@link read}).
 *
 * Staleness is decided when the table is read, from the reader's wall clock and the last quote's
 * arrival time, so it holds even when the pipeline itself is stuck. Symbols are stale after
 * `symbolGapMs` (default 30 s) without a quote; a symbol that never quoted is listed as never seen,
 * not stale. Gap events (a silence past its threshold, counted once) are counted by the stage.
 *
 * Layout (a 64-byte header, 32 bytes per symbol): drawn in `internal/kernel/feedHealth.ts`.
 *
 * @example
 * ```ts
 * import { FeedStatus } from "@velox/market"
 *
 * const status = FeedStatus.make({ symbols: 8, feedGapMs: 5_000 })
 * // … Pipeline.from(feed, …).via(FeedHealth, { status }) … while it runs:
 * const now = FeedStatus.read(status)
 * if (now.stale) console.log(`feed stale: ${now.reason}`) // "no quote for 7.2 s (threshold 5 s)"
 * ```
 *
 * @since 0.1.0
 */
import * as K from "./internal/kernel/feedHealth.ts"

/**
 * The feed's threshold unless told otherwise: 5 s without a quote of any symbol.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_FEED_GAP_MS = 5_000

/**
 * A symbol's threshold unless told otherwise: 30 s without a quote.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_SYMBOL_GAP_MS = 30_000

/**
 * Wall-clock ns since the Unix epoch, as the table's times are kept (comparable across threads).
 *
 * @category models
 * @since 0.1.0
 */
export const wallClockNs: () => number = K.wallClockNs

/**
 * The feed as a whole, now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  /** No quote of any symbol for `feedGapMs`, or none yet. */
  readonly stale: boolean
  /** Why it is stale ("no quote yet", "no quote for 7.2 s (threshold 5 s)"); undefined when live. */
  readonly reason: string | undefined
  /** Since the last quote of any symbol; undefined before the first. */
  readonly lastQuoteAgoMs: number | undefined
  readonly feedGapMs: number
  readonly symbolGapMs: number
  readonly symbols: number
  /** Symbols with at least one quote. */
  readonly seen: number
  /** Symbols seen, then silent for more than `symbolGapMs`, ascending. */
  readonly staleSymbols: ReadonlyArray<number>
  /** Quotes seen, over every symbol. */
  readonly quotes: number
  /** Times the feed went silent for more than `feedGapMs`. */
  readonly feedGaps: number
  /** Times a symbol went silent for more than `symbolGapMs`, over every symbol. */
  readonly symbolGaps: number
}

/**
 * One symbol, now.
 *
 * @category models
 * @since 0.1.0
 */
export interface SymbolHealth {
  readonly symbol: number
  readonly stale: boolean
  /** Since its last quote; undefined when it never quoted. */
  readonly lastQuoteAgoMs: number | undefined
  readonly gaps: number
  /** Its longest silence between two quotes. */
  readonly maxGapMs: number
  readonly quotes: number
}

/**
 * A fresh table for symbols `0 .. symbols - 1`: `64 + 32 × symbols` bytes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly symbols: number; readonly feedGapMs?: number; readonly symbolGapMs?: number }): SharedArrayBuffer =>
  K.makeTable(options.symbols, (options.feedGapMs ?? DEFAULT_FEED_GAP_MS) * 1e6, (options.symbolGapMs ?? DEFAULT_SYMBOL_GAP_MS) * 1e6)

/**
 * @category guards
 * @since 0.1.0
 */
export const isStatus = (u: unknown): u is SharedArrayBuffer => K.tableSymbols(u) >= 1

const requireSymbols = (buffer: SharedArrayBuffer): number => {
  const n = K.tableSymbols(buffer)
  if (n < 1) throw new TypeError("not a feed-health table (make one with FeedStatus.make)")
  return n
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`

/**
 * The feed now (`nowNs`: wall clock, default the current time).
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer, nowNs: number = K.wallClockNs()): Summary => {
  const symbols = requireSymbols(buffer)
  const f64 = new Float64Array(buffer)
  const feedGapNs = f64[K.FEED_GAP_NS_OFFSET >> 3]!
  const symbolGapNs = f64[K.SYMBOL_GAP_NS_OFFSET >> 3]!
  let lastAny = 0
  let seen = 0
  let quotes = 0
  let symbolGaps = 0
  const staleSymbols: Array<number> = []
  for (let s = 0; s < symbols; s++) {
    const last = f64[K.wordOf(s, K.LAST_SEEN)]!
    quotes += f64[K.wordOf(s, K.QUOTES)]!
    symbolGaps += f64[K.wordOf(s, K.GAPS)]!
    if (last === 0) continue
    seen++
    if (last > lastAny) lastAny = last
    if (nowNs - last > symbolGapNs) staleSymbols.push(s)
  }
  const agoMs = lastAny === 0 ? undefined : Math.max(0, (nowNs - lastAny) / 1e6)
  const stale = agoMs === undefined || agoMs * 1e6 > feedGapNs
  return {
    stale,
    reason: !stale ? undefined : agoMs === undefined ? "no quote yet" : `no quote for ${seconds(agoMs)} (threshold ${seconds(feedGapNs / 1e6)})`,
    lastQuoteAgoMs: agoMs,
    feedGapMs: feedGapNs / 1e6,
    symbolGapMs: symbolGapNs / 1e6,
    symbols,
    seen,
    staleSymbols,
    quotes,
    feedGaps: f64[K.FEED_GAPS_OFFSET >> 3]!,
    symbolGaps
  }
}

/**
 * One symbol now. Throws `RangeError` for a symbol outside the table.
 *
 * @category metrics
 * @since 0.1.0
 */
export const symbol = (buffer: SharedArrayBuffer, s: number, nowNs: number = K.wallClockNs()): SymbolHealth => {
  const symbols = requireSymbols(buffer)
  if (!(Number.isInteger(s) && s >= 0 && s < symbols)) throw new RangeError(`symbol must be an index in 0..${symbols - 1}: symbol=${s}`)
  const f64 = new Float64Array(buffer)
  const last = f64[K.wordOf(s, K.LAST_SEEN)]!
  const agoMs = last === 0 ? undefined : Math.max(0, (nowNs - last) / 1e6)
  return {
    symbol: s,
    stale: agoMs !== undefined && agoMs * 1e6 > f64[K.SYMBOL_GAP_NS_OFFSET >> 3]!,
    lastQuoteAgoMs: agoMs,
    gaps: f64[K.wordOf(s, K.GAPS)]!,
    maxGapMs: f64[K.wordOf(s, K.MAX_GAP)]! / 1e6,
    quotes: f64[K.wordOf(s, K.QUOTES)]!
  }
}
