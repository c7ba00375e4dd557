/**
 * What the {@link Throttle} did, per symbol: quotes passed and quotes throttled, in a
 * `SharedArrayBuffer` the stage writes (plain stores, in its own thread) and any thread reads without
 * messages. Pass the table in the stage's config (`stats`); read the totals with {@link read} (the
 * seed's `Stats: received=…, stored=…, throttled=… (…%)` line) and one symbol with {@link symbol}.
 *
 * Layout (drawn in `internal/kernel/counterTable.ts`): a 64-byte header, then two f64 counts per
 * symbol (16 bytes). Each symbol's row is written by the one stage instance its quotes go to, so one
 * table serves a partitioned throttle. Counts are exact; a read of many symbols is not one instant.
 * Quotes the stage refused (an unknown symbol, a bad price) are not here: they are its dead letters.
 *
 * @example
 * ```ts
 * import { ThrottleStats } from "@velox/market"
 *
 * const stats = ThrottleStats.make(1_000)
 * // … Pipeline.from(feed, …).via(Throttle, { symbols: 1_000, stats }) … while it runs:
 * const { received, passed, throttled, throttledPercent } = ThrottleStats.read(stats)
 * console.log(`Stats: received=${received}, stored=${passed}, throttled=${throttled} (${throttledPercent.toFixed(1)}%)`)
 * ```
 *
 * @since 0.1.0
 */
import * as T from "./internal/kernel/counterTable.ts"
import { COLUMNS, PASSED_COLUMN, STATS_KIND, THROTTLED_COLUMN } from "./internal/kernel/throttle.ts"

/**
 * Quotes the throttle saw (with a known symbol and a valid price), passed and throttled.
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  readonly received: number
  readonly passed: number
  readonly throttled: number
  /** `throttled / received` in percent (0 before any quote). */
  readonly throttledPercent: number
}

const counts = (passed: number, throttled: number): Counts => {
  const received = passed + throttled
  return { received, passed, throttled, throttledPercent: received === 0 ? 0 : (100 * throttled) / received }
}

/**
 * A fresh table for symbols `0 .. symbols - 1`: `64 + 16 × symbols` bytes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (symbols: number): SharedArrayBuffer => T.makeTable(symbols, COLUMNS, STATS_KIND)

/**
 * The table's symbol count, or -1 when `u` is not a throttle statistics table.
 *
 * @category guards
 * @since 0.1.0
 */
export const symbolsOf = (u: unknown): number => T.tableRows(u, STATS_KIND, COLUMNS)

/**
 * @category guards
 * @since 0.1.0
 */
export const isStats = (u: unknown): u is SharedArrayBuffer => symbolsOf(u) >= 1

const requireRows = (buffer: SharedArrayBuffer): number => {
  const rows = symbolsOf(buffer)
  if (rows < 1) throw new TypeError("not a throttle statistics table (make one with ThrottleStats.make)")
  return rows
}

/**
 * Totals over every symbol.
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer): Counts => {
  requireRows(buffer)
  const [passed, throttled] = T.sumColumns(buffer, COLUMNS)
  return counts(passed!, throttled!)
}

/**
 * One symbol's counts. Throws `RangeError` for a symbol outside the table.
 *
 * @category metrics
 * @since 0.1.0
 */
export const symbol = (buffer: SharedArrayBuffer, s: number): Counts => {
  const rows = requireRows(buffer)
  if (!(Number.isInteger(s) && s >= 0 && s < rows)) throw new RangeError(`symbol must be an index in 0..${rows - 1}: symbol=${s}`)
  const c = T.countsOf(buffer)
  return counts(c[T.indexOf(COLUMNS, s, PASSED_COLUMN)]!, c[T.indexOf(COLUMNS, s, THROTTLED_COLUMN)]!)
}
