/**
 * An OHLC bar: open, high, low, close, volume and tick count of one instrument over one interval of a
 * timeframe, on exchange time. What the `Bars` stage emits when a bar closes, and what the bar store
 * keeps.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"

/**
 * 64 bytes, no padding.
 *
 * | field | type | what |
 * |---|---|---|
 * | `startNs` | f64 | the interval's start, exchange time in ns since the Unix epoch; intervals are aligned to the epoch (a `1d` bar starts at 00:00 UTC) |
 * | `open`, `high`, `low`, `close` | f64 | prices of the interval's ticks (the mid, by default), by exchange time; a synthetic bar repeats the previous close four times |
 * | `volume` | f64 | the sum of the ticks' `lastSize` (0 for quotes without trades: FX) |
 * | `symbol` | u32 | the instrument's id |
 * | `timeframeMs` | u32 | the interval's length in ms (`1m`: 60,000; see `Timeframe`) |
 * | `ticks` | u32 | ticks applied to the bar (0 for a synthetic bar) |
 * | `flags` | u32 | {@link Flag} bits |
 *
 * @category layout
 * @since 0.1.0
 */
export const Bar = RecordLayout.make("Bar", {
  startNs: "f64",
  open: "f64",
  high: "f64",
  low: "f64",
  close: "f64",
  volume: "f64",
  symbol: "u32",
  timeframeMs: "u32",
  ticks: "u32",
  flags: "u32"
})

/**
 * Flag bits: `Synthetic` (an interval with no tick, filled with a flat bar at the previous close, when
 * the stage is configured to fill gaps); `Partial` (closed before its interval ended: the stage
 * drained, or the bar store was rebuilt at start while the interval was still running).
 *
 * @category models
 * @since 0.1.0
 */
export const Flag = {
  Synthetic: 1,
  Partial: 2
} as const

/**
 * A bar as a plain object (the edges: JSON, tests).
 *
 * @category models
 * @since 0.1.0
 */
export type Record = RecordLayout.RecordOf<typeof Bar.spec>
