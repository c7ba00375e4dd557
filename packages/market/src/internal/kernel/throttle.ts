/**
 * The quote throttle (kernel tier): per symbol, a quote passes when its mid moved by at least a
 * relative threshold since the last quote that passed, or when `maxIntervalNs` of exchange time went
 * by since then (a quiet symbol is never left stale), or when it is the symbol's first; otherwise it
 * is throttled. Allocation-free, no `effect`: the state per symbol, and the rule as a function of it.
 *
 * The rule, for a quote of symbol `s` with mid `m = (bid + ask) / 2` at exchange time `t`, against the
 * last passed quote's mid `m₀` and time `t₀`:
 *
 *   pass  ⇔  no quote of `s` passed yet  ∨  |m − m₀| ≥ threshold × m₀  ∨  t − t₀ ≥ maxIntervalNs
 *
 * Time is the quotes' own exchange time, not the clock: the same quotes always throttle the same way
 * (a replay throttles as the live run did).
 */

/** Counter table columns, per symbol. */
export const PASSED_COLUMN = 0
export const THROTTLED_COLUMN = 1
export const COLUMNS = 2
/** Counter table kind of the throttle's statistics. */
export const STATS_KIND = 0x7407

export interface ThrottleOptions {
  readonly symbols: number
  /** The relative move that passes a quote, as a fraction (0.001 % is 0.00001). */
  readonly threshold: number
  readonly maxIntervalNs: number
}

export class QuoteThrottle {
  readonly symbols: number
  readonly threshold: number
  readonly maxIntervalNs: number
  /** Mid of each symbol's last passed quote; NaN before its first. */
  readonly lastMid: Float64Array
  /** Exchange time of each symbol's last passed quote. */
  readonly lastNs: Float64Array

  constructor(options: ThrottleOptions) {
    const { maxIntervalNs, symbols, threshold } = options
    if (!(Number.isInteger(symbols) && symbols >= 1)) throw new RangeError(`symbols must be a positive integer: symbols=${symbols}`)
    if (!(threshold >= 0 && Number.isFinite(threshold))) throw new RangeError(`threshold must be a finite fraction ≥ 0: threshold=${threshold}`)
    if (!(maxIntervalNs > 0)) throw new RangeError(`maxIntervalNs must be > 0: maxIntervalNs=${maxIntervalNs}`)
    this.symbols = symbols
    this.threshold = threshold
    this.maxIntervalNs = maxIntervalNs
    this.lastMid = new Float64Array(symbols).fill(NaN)
    this.lastNs = new Float64Array(symbols)
  }
}

/** A quote the throttle can judge: bid and ask positive and finite (NaN fails every comparison). */
export const validPrices = (bid: number, ask: number): boolean => bid > 0 && bid < Infinity && ask > 0 && ask < Infinity

/**
 * The rule, for a quote of `symbol` (below `symbols`, {@link validPrices}) with mid `mid` at exchange
 * time `exchangeTsNs`: true when it passes, and then it is the symbol's last passed quote. A function
 * of the state's arrays rather than a method, so that a stage's loop holds them in locals (a method
 * inlined there loads and checks its fields again for every quote).
 */
export const passes = (
  lastMid: Float64Array,
  lastNs: Float64Array,
  threshold: number,
  maxIntervalNs: number,
  symbol: number,
  mid: number,
  exchangeTsNs: number
): boolean => {
  const last = lastMid[symbol]!
  if (
    last !== last || // first quote of the symbol (NaN)
    Math.abs(mid - last) >= threshold * last ||
    exchangeTsNs - lastNs[symbol]! >= maxIntervalNs
  ) {
    lastMid[symbol] = mid
    lastNs[symbol] = exchangeTsNs
    return true
  }
  return false
}
