/**
 * The quote throttle (kernel tier): per symbol, a quote passes when its mid moved by at least a
 * relative threshold since the last quote that passed, or when `maxIntervalNs` of exchange time went
 * by since then (a quiet symbol is never left stale), or when it is the symbol's first; otherwise it
 * is throttled. Allocation-free, no `effect`: one call per quote, a numeric result.
 *
 * The rule, for a quote of symbol `s` with mid `m = (bid + ask) / 2` at exchange time `t`, against the
 * last passed quote's mid `m₀` and time `t₀`:
 *
 *   pass  ⇔  no quote of `s` passed yet  ∨  |m − m₀| ≥ threshold × m₀  ∨  t − t₀ ≥ maxIntervalNs
 *
 * Time is the quotes' own exchange time, not the clock: the same quotes always throttle the same way
 * (a replay throttles as the live run did).
 */

/** The quote passes. */
export const PASS = 1 as const
/** The quote is throttled. */
export const THROTTLED = 0 as const
/** Refused: the symbol id is not below the throttle's `symbols`. */
export const UNKNOWN_SYMBOL = -1 as const
/** Refused: the bid or the ask is not a positive finite number. */
export const INVALID_PRICE = -2 as const

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
  private readonly lastMid: Float64Array
  /** Exchange time of each symbol's last passed quote. */
  private readonly lastNs: Float64Array

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

  /** {@link PASS}, {@link THROTTLED}, or a negative refusal code (the state unchanged). */
  offer(symbol: number, bid: number, ask: number, exchangeTsNs: number): number {
    if (!(symbol < this.symbols)) return UNKNOWN_SYMBOL
    // Positive and finite, in one comparison each (NaN fails both).
    if (!(bid > 0 && bid < Infinity && ask > 0 && ask < Infinity)) return INVALID_PRICE
    const mid = (bid + ask) * 0.5
    const last = this.lastMid[symbol]!
    if (
      last !== last || // first quote of the symbol (NaN)
      Math.abs(mid - last) >= this.threshold * last ||
      exchangeTsNs - this.lastNs[symbol]! >= this.maxIntervalNs
    ) {
      this.lastMid[symbol] = mid
      this.lastNs[symbol] = exchangeTsNs
      return PASS
    }
    return THROTTLED
  }
}
