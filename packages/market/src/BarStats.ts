/**
 * What the {@link Bars} stage did, per symbol: ticks that came too late to be applied, and per
 * timeframe the bars it closed, the synthetic (flat) bars it made for intervals with no tick, the gaps
 * it left (intervals with no tick and no bar, when it does not fill them) and the partial bars. A
 * `SharedArrayBuffer` the stage writes (plain stores, in its own thread) and any thread reads.
 *
 * Layout (drawn in `internal/kernel/counterTable.ts`): a 64-byte header holding the timeframes, then
 * per symbol `1 + 4 × timeframes` f64 counts. One stage instance writes each symbol's row.
 *
 * @example
 * ```ts
 * import { BarStats } from "@velox/market"
 *
 * const stats = BarStats.make(8, [1_000, 60_000])
 * // … .via(Bars, { symbols: 8, timeframesMs: [1_000, 60_000], stats }) … while it runs:
 * console.log(BarStats.read(stats)) // { late: 3, timeframes: [{ timeframeMs: 1000, closed: 5400, synthetic: 0, gaps: 12, partial: 8 }, …] }
 * ```
 *
 * @since 0.1.0
 */
import * as K from "./internal/kernel/barBuilder.ts"
import * as T from "./internal/kernel/counterTable.ts"
import * as Timeframe from "./Timeframe.ts"

/**
 * One timeframe's counts.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimeframeCounts {
  readonly timeframeMs: number
  /** Bars closed with every tick of their interval (not synthetic, not partial). */
  readonly closed: number
  /** Flat bars made for intervals with no tick (`gaps: "flat"`). */
  readonly synthetic: number
  /** Intervals with no tick that got no bar (`gaps: "skip"`). */
  readonly gaps: number
  /** Bars that may lack ticks: cut short by a drain, or begun before the stage's first tick. */
  readonly partial: number
}

/**
 * Counts over every symbol (or of one).
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  /** Ticks refused as late (their bar was closed or due), over every timeframe. */
  readonly late: number
  readonly timeframes: ReadonlyArray<TimeframeCounts>
}

/**
 * A fresh table for symbols `0 .. symbols - 1` and the stage's timeframes (ms, in its order).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (symbols: number, timeframesMs: ReadonlyArray<number>): SharedArrayBuffer => {
  if (!(timeframesMs.length >= 1 && timeframesMs.length <= K.MAX_TIMEFRAMES)) {
    throw new RangeError(`between 1 and ${K.MAX_TIMEFRAMES} timeframes: ${timeframesMs.length}`)
  }
  const bad = timeframesMs.find((ms) => !Timeframe.isValidMs(ms))
  if (bad !== undefined) throw new RangeError(`not a timeframe: ${bad} ms (a whole number of seconds that divides a day)`)
  return T.makeTable(symbols, K.statsColumns(timeframesMs.length), K.STATS_KIND, [timeframesMs.length, ...timeframesMs])
}

/**
 * The table's symbols and timeframes, or undefined when `u` is not a bar statistics table.
 *
 * @category guards
 * @since 0.1.0
 */
export const shapeOf = (u: unknown): { readonly symbols: number; readonly timeframesMs: ReadonlyArray<number> } | undefined => {
  const shape = T.tableShape(u, K.STATS_KIND)
  if (shape === undefined) return undefined
  const n = shape.user[0]!
  if (shape.columns !== K.statsColumns(n)) return undefined
  return { symbols: shape.rows, timeframesMs: shape.user.slice(1, 1 + n) }
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isStats = (u: unknown): u is SharedArrayBuffer => shapeOf(u) !== undefined

const countsOf = (buffer: SharedArrayBuffer, row: (column: number) => number): Counts => {
  const { timeframesMs } = shapeOf(buffer)!
  return {
    late: row(K.LATE_COLUMN),
    timeframes: timeframesMs.map((timeframeMs, tf) => ({
      timeframeMs,
      closed: row(K.timeframeColumn(tf, K.CLOSED_COLUMN)),
      synthetic: row(K.timeframeColumn(tf, K.SYNTHETIC_COLUMN)),
      gaps: row(K.timeframeColumn(tf, K.GAPS_COLUMN)),
      partial: row(K.timeframeColumn(tf, K.PARTIAL_COLUMN))
    }))
  }
}

const requireShape = (buffer: SharedArrayBuffer) => {
  const shape = shapeOf(buffer)
  if (shape === undefined) throw new TypeError("not a bar statistics table (make one with BarStats.make)")
  return shape
}

/**
 * Totals over every symbol.
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer): Counts => {
  const { timeframesMs } = requireShape(buffer)
  const sums = T.sumColumns(buffer, K.statsColumns(timeframesMs.length))
  return countsOf(buffer, (c) => sums[c]!)
}

/**
 * One symbol's counts. Throws `RangeError` for a symbol outside the table.
 *
 * @category metrics
 * @since 0.1.0
 */
export const symbol = (buffer: SharedArrayBuffer, s: number): Counts => {
  const { symbols, timeframesMs } = requireShape(buffer)
  if (!(Number.isInteger(s) && s >= 0 && s < symbols)) throw new RangeError(`symbol must be an index in 0..${symbols - 1}: symbol=${s}`)
  const columns = K.statsColumns(timeframesMs.length)
  const counts = T.countsOf(buffer)
  return countsOf(buffer, (c) => counts[T.indexOf(columns, s, c)]!)
}
