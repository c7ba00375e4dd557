/**
 * The bar store: per symbol and timeframe, a ring of its last `depth` closed bars (default 1,000) in
 * one `SharedArrayBuffer`, written by the {@link Bars} stage's loop (and by a rebuild at start) and
 * read from any thread without messages or locks, like the {@link TickStore}: a read never returns a
 * torn bar.
 *
 * Memory: `symbols × timeframes × depth × 64 bytes` (a `Bar` record) plus 64 bytes per symbol and
 * timeframe — {@link describe} says it and {@link make} refuses more than `maxBytes` (default 256 MiB).
 * 8 symbols × 5 timeframes × 1,000 bars: 2.5 MiB.
 *
 * @example
 * ```ts
 * import { BarStore, Timeframe } from "@velox/market"
 *
 * const store = BarStore.make({ symbols: 8, timeframesMs: [1_000, 60_000] })
 * // … .via(Bars, { symbols: 8, timeframesMs: [1_000, 60_000], store }) … and, from the main thread:
 * const bars = BarStore.snapshot(store, 0, Timeframe.parse("1m")!, 100) // the last 100 1-minute bars, oldest first
 * ```
 *
 * @since 0.1.0
 */
import { Bar } from "./Bar.ts"
import type * as BarRecord from "./Bar.ts"
import { MAX_TIMEFRAMES } from "./internal/kernel/barBuilder.ts"
import * as R from "./internal/kernel/recordRings.ts"
import * as Read from "./internal/storeReading.ts"
import * as Timeframe from "./Timeframe.ts"

/** User words of a rings buffer: [kind, timeframe count, timeframe ms…]. */
const KIND_BARS = 0xba25

/**
 * Bars kept per symbol and timeframe unless told otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_DEPTH = 1_000

/**
 * The largest store {@link make} makes unless told otherwise: 256 MiB.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_MAX_BYTES = 2 ** 28

/**
 * A store's size.
 *
 * @category models
 * @since 0.1.0
 */
export interface Description {
  readonly symbols: number
  readonly timeframesMs: ReadonlyArray<number>
  readonly depth: number
  readonly recordBytes: number
  readonly bytes: number
}

/**
 * A store for symbols `0 .. symbols - 1` and the given timeframes (ms, each valid: see `Timeframe`),
 * `depth` bars each. Throws `RangeError` for a bad size or timeframe, or beyond `maxBytes`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly symbols: number
  readonly timeframesMs: ReadonlyArray<number>
  readonly depth?: number
  readonly maxBytes?: number
}): SharedArrayBuffer => {
  const { symbols, timeframesMs } = options
  const depth = options.depth ?? DEFAULT_DEPTH
  if (!(timeframesMs.length >= 1 && timeframesMs.length <= MAX_TIMEFRAMES)) {
    throw new RangeError(`between 1 and ${MAX_TIMEFRAMES} timeframes: ${timeframesMs.length}`)
  }
  const bad = timeframesMs.find((ms) => !Timeframe.isValidMs(ms))
  if (bad !== undefined) throw new RangeError(`not a timeframe: ${bad} ms (a whole number of seconds that divides a day)`)
  const keys = symbols * timeframesMs.length
  const bytes = R.byteLength(keys, depth, Bar.byteLength)
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (bytes > maxBytes) {
    throw new RangeError(
      `a bar store of ${symbols} symbols × ${timeframesMs.length} timeframes × ${depth} bars × ${Bar.byteLength} bytes takes ` +
        `${Read.mib(bytes)}, more than maxBytes=${Read.mib(maxBytes)}: keep fewer bars, or raise maxBytes`
    )
  }
  return R.makeRings(keys, depth, Bar.byteLength, [KIND_BARS, timeframesMs.length, ...timeframesMs])
}

const geometry = (u: unknown): { readonly g: R.Geometry; readonly timeframesMs: ReadonlyArray<number> } | undefined => {
  const g = R.geometry(u)
  if (g === undefined || g.user[0] !== KIND_BARS || g.recordBytes !== Bar.byteLength) return undefined
  const n = g.user[1]!
  return { g, timeframesMs: g.user.slice(2, 2 + n) }
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isStore = (u: unknown): u is SharedArrayBuffer => geometry(u) !== undefined

const requireStore = (store: SharedArrayBuffer) => {
  const found = geometry(store)
  if (found === undefined) throw new TypeError("not a bar store (make one with BarStore.make)")
  return found
}

/**
 * The store's timeframes, in ms, in the order of its keys.
 *
 * @category models
 * @since 0.1.0
 */
export const timeframes = (store: SharedArrayBuffer): ReadonlyArray<number> => requireStore(store).timeframesMs

/**
 * The store's size, for the line a program prints at start.
 *
 * @category models
 * @since 0.1.0
 */
export const describe = (store: SharedArrayBuffer): Description => {
  const { g, timeframesMs } = requireStore(store)
  return { symbols: g.keys / timeframesMs.length, timeframesMs, depth: g.depth, recordBytes: g.recordBytes, bytes: store.byteLength }
}

/**
 * `8 symbols × 5 timeframes × 1,000 bars × 64 bytes = 2.5 MiB`.
 *
 * @category models
 * @since 0.1.0
 */
export const format = (d: Description): string =>
  `${d.symbols.toLocaleString("en-US")} symbols × ${d.timeframesMs.length} timeframes × ${d.depth.toLocaleString("en-US")} bars × ` +
  `${d.recordBytes} bytes = ${Read.mib(d.bytes)}`

/**
 * The ring of `symbol` and `timeframeMs` (its key), or -1 when the store does not keep that timeframe
 * or symbol.
 *
 * @category models
 * @since 0.1.0
 */
export const keyOf = (store: SharedArrayBuffer, symbol: number, timeframeMs: number): number => {
  const { g, timeframesMs } = requireStore(store)
  const tf = timeframesMs.indexOf(timeframeMs)
  const symbols = g.keys / timeframesMs.length
  if (tf < 0 || !(Number.isInteger(symbol) && symbol >= 0 && symbol < symbols)) return -1
  return symbol * timeframesMs.length + tf
}

/**
 * The last `limit` closed bars of `symbol` in `timeframeMs`, **oldest first** (the order a chart
 * draws), each one whole. Throws `RangeError` for a timeframe the store does not keep, a symbol
 * outside it, or a bad `limit`.
 *
 * @category models
 * @since 0.1.0
 */
export const snapshot = (store: SharedArrayBuffer, symbol: number, timeframeMs: number, limit: number): Array<BarRecord.Record> => {
  const key = keyOf(store, symbol, timeframeMs)
  if (key < 0) {
    throw new RangeError(`the store keeps no bars of symbol=${symbol} timeframe=${Timeframe.format(timeframeMs)} (it keeps ${timeframes(store).map(Timeframe.format).join(", ")})`)
  }
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be an integer ≥ 0: limit=${limit}`)
  return Read.newest(Bar, new R.RingsReader(store), key, limit, true)
}

/**
 * Bars held now and bars ever written, over every symbol and timeframe.
 *
 * @category metrics
 * @since 0.1.0
 */
export const stats = (store: SharedArrayBuffer): { readonly held: number; readonly written: number } => {
  requireStore(store)
  return Read.totals(new R.RingsReader(store))
}

/**
 * Reads the bars closed after a cursor, oldest first, for any key ({@link keyOf}); one per reader.
 *
 * @category models
 * @since 0.1.0
 */
export interface Follower {
  cursor(key: number): number
  since(key: number, cursor: number, max: number): { readonly bars: Array<BarRecord.Record>; readonly cursor: number; readonly missed: number }
}

/**
 * A {@link Follower} of `store`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const follower = (store: SharedArrayBuffer): Follower => {
  requireStore(store)
  const f = Read.follower(Bar, new R.RingsReader(store))
  return {
    cursor: f.cursor,
    since(key, cursor, max) {
      const { cursor: next, missed, records } = f.since(key, cursor, max)
      return { bars: records, cursor: next, missed }
    }
  }
}
