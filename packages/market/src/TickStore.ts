/**
 * The tick store: per symbol, a ring of its last `depth` ticks (default 50,000) in one
 * `SharedArrayBuffer`, written by the {@link TickStoreSink}'s loop and read from any thread — the HTTP
 * handlers on the main thread — without messages or locks.
 *
 * - **A read is a consistent snapshot**: {@link snapshot} returns a symbol's newest ticks, newest first,
 *   up to `limit`, each one whole (never half old, half new): a tick the writer overwrote while it
 *   was being copied is left out, not returned torn (the protocol is in
 *   `internal/kernel/recordRings.ts`).
 * - **Memory is bounded and known up front**: `symbols × (depth + spare) × 80 bytes` (a `Quote`
 *   record; spare = min(32, depth / 8) slots the sink may be writing) plus 64 bytes per symbol and 64 of header — {@link describe} says it, and {@link make} refuses a store
 *   larger than `maxBytes` (default 1 GiB) instead of exhausting the machine. 8 symbols × 50,000 ticks:
 *   30.5 MiB; 1,000 × 50,000 would be 3.7 GiB.
 * - **Followers**: {@link follower} reads the ticks written after a cursor, oldest first, and says how
 *   many it missed when it fell more than {@link readable} ticks behind (the WebSocket fan-out uses it).
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { TickStore, TickStoreSink } from "@velox/market"
 *
 * const store = TickStore.make({ symbols: 8, depth: 50_000 })
 * console.log(TickStore.format(TickStore.describe(store))) // "8 symbols × 50,000 ticks × 80 bytes = 30.5 MiB"
 * // … .to(TickStoreSink, { store }) … and, from the main thread, while it runs:
 * const newest = TickStore.snapshot(store, 0, 10) // [{ seq, bid, ask, … }, …] newest first
 * ```
 *
 * @since 0.1.0
 */
import * as R from "./internal/kernel/recordRings.ts"
import * as Read from "./internal/storeReading.ts"
import { Quote } from "./Quote.ts"
import type * as QuoteRecord from "./Quote.ts"

/** User word 0 of a rings buffer: what it stores. */
const KIND_TICKS = 0x71c5

/**
 * Ticks kept per symbol unless told otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_DEPTH = 50_000

/**
 * The largest store {@link make} makes unless told otherwise: 1 GiB.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_MAX_BYTES = 2 ** 30

/**
 * A store's size.
 *
 * @category models
 * @since 0.1.0
 */
export interface Description {
  readonly symbols: number
  readonly depth: number
  readonly recordBytes: number
  /** The whole buffer: `64 + symbols × (64 + (depth + spare) × recordBytes)`, spare = min(32, depth / 8) (at least 1). */
  readonly bytes: number
}

/**
 * Bytes a store of `symbols × depth` ticks takes.
 *
 * @category layout
 * @since 0.1.0
 */
export const byteLength = (symbols: number, depth: number = DEFAULT_DEPTH): number =>
  R.byteLength(symbols, depth + R.unpublishedLimit(depth), Quote.byteLength)

/**
 * A store for symbols `0 .. symbols - 1`, `depth` ticks each. Throws `RangeError` for a bad size, or
 * when it would take more than `maxBytes` (saying how much, and what to lower).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly symbols: number; readonly depth?: number; readonly maxBytes?: number }): SharedArrayBuffer => {
  const depth = options.depth ?? DEFAULT_DEPTH
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const bytes = byteLength(options.symbols, depth)
  if (bytes > maxBytes) {
    throw new RangeError(
      `a tick store of ${options.symbols} symbols × ${depth} ticks × ${Quote.byteLength} bytes takes ${Read.mib(bytes)}, ` +
        `more than maxBytes=${Read.mib(maxBytes)}: keep fewer ticks per symbol, or raise maxBytes`
    )
  }
  // User word 1: how many ticks of a symbol the sink writes before it publishes them (see recordRings.ts);
  // each ring has that many slots more than `depth`, so that `depth` ticks are always readable.
  const spare = R.unpublishedLimit(depth)
  return R.makeRings(options.symbols, depth + spare, Quote.byteLength, [KIND_TICKS, spare])
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isStore = (u: unknown): u is SharedArrayBuffer => {
  const g = R.geometry(u)
  return g !== undefined && g.user[0] === KIND_TICKS && g.recordBytes === Quote.byteLength && g.user[1]! >= 1 && g.user[1]! < g.depth
}

const reader = (store: SharedArrayBuffer): R.RingsReader => {
  if (!isStore(store)) throw new TypeError("not a tick store (make one with TickStore.make)")
  return new R.RingsReader(store, R.geometry(store)!.user[1])
}

/**
 * The most ticks of a symbol a {@link snapshot} returns: the store's `depth`. The sink publishes a
 * symbol's ticks once per batch (up to `min(32, depth / 8)` at a time) and the slots it may be writing
 * are never read, so each ring has that many slots more than `depth`.
 *
 * @category models
 * @since 0.1.0
 */
export const readable = (store: SharedArrayBuffer): number => reader(store).readable

/**
 * The store's size, for the line a program prints at start.
 *
 * @category models
 * @since 0.1.0
 */
export const describe = (store: SharedArrayBuffer): Description => {
  const r = reader(store)
  return { symbols: r.keys, depth: r.readable, recordBytes: r.recordBytes, bytes: store.byteLength }
}

/**
 * `8 symbols × 50,000 ticks × 80 bytes = 30.5 MiB`.
 *
 * @category models
 * @since 0.1.0
 */
export const format = (d: Description): string =>
  `${d.symbols.toLocaleString("en-US")} symbols × ${d.depth.toLocaleString("en-US")} ticks × ${d.recordBytes} bytes = ${Read.mib(d.bytes)}`

/**
 * A symbol's newest ticks, newest first, at most `limit` (and at most {@link readable}: the slots
 * being written are never read); each one whole. Throws `RangeError` for a symbol outside the store
 * or a `limit` that is not a non-negative integer.
 *
 * @category models
 * @since 0.1.0
 */
export const snapshot = (store: SharedArrayBuffer, symbol: number, limit: number): Array<QuoteRecord.Record> => snapshotter(store)(symbol, limit)

/**
 * {@link snapshot} for a reader that asks again and again (an HTTP route): the store is checked and
 * its reader made once, and each call reuses one copy buffer (the ticks returned are fresh objects).
 *
 * @example
 * ```ts
 * import { TickStore } from "@velox/market"
 *
 * const store = TickStore.make({ symbols: 8, depth: 1_000 })
 * const newest = TickStore.snapshotter(store)
 * const ticks = newest(0, 10) // symbol 0's ten newest ticks, newest first
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const snapshotter = (store: SharedArrayBuffer): (symbol: number, limit: number) => Array<QuoteRecord.Record> => {
  const r = reader(store)
  const read = Read.snapshotter(Quote, r)
  return (symbol, limit) => {
    if (!(Number.isInteger(symbol) && symbol >= 0 && symbol < r.keys)) {
      throw new RangeError(`symbol must be an index in 0..${r.keys - 1}: symbol=${symbol}`)
    }
    if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be an integer ≥ 0: limit=${limit}`)
    return read(symbol, limit, false)
  }
}

/**
 * Ticks held now (each symbol's total, up to `depth`) and ticks ever written, over every symbol.
 *
 * @category metrics
 * @since 0.1.0
 */
export const stats = (store: SharedArrayBuffer): { readonly held: number; readonly written: number } => Read.totals(reader(store))

/**
 * Reads the ticks written after a cursor, oldest first, for any symbol; one per reader (it reuses
 * its buffers).
 *
 * @category models
 * @since 0.1.0
 */
export interface Follower {
  /** Where a symbol's newest end is now: follow from here to get only what comes next. */
  cursor(symbol: number): number
  /**
   * Up to `max` ticks of `symbol` written after `cursor`, oldest first; `cursor` to pass next time,
   * and `missed`: ticks after `cursor` that were overwritten before this read (it fell behind).
   */
  since(symbol: number, cursor: number, max: number): { readonly ticks: Array<QuoteRecord.Record>; readonly cursor: number; readonly missed: number }
}

/**
 * A {@link Follower} of `store`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const follower = (store: SharedArrayBuffer): Follower => {
  const f = Read.follower(Quote, reader(store))
  return {
    cursor: f.cursor,
    since(symbol, cursor, max) {
      const { cursor: next, missed, records } = f.since(symbol, cursor, max)
      return { ticks: records, cursor: next, missed }
    }
  }
}
