/**
 * A quote (a tick) of one instrument: the best bid and ask with their sizes, the last trade, the
 * exchange's time and the time velox received it, the feed's epoch and sequence. What a market-data
 * feed emits and what the throttle, the tick store, the bars and feed health read.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"

/**
 * 80 bytes, no padding.
 *
 * | field | type | what |
 * |---|---|---|
 * | `seq` | f64 | the feed's sequence number (an integer; per feed and epoch) |
 * | `exchangeTsNs` | f64 | the exchange's time, ns since the Unix epoch (an f64 holds today's times to 256 ns) |
 * | `receiveTsNs` | f64 | when the feed received it, ns since the Unix epoch |
 * | `bid`, `ask` | f64 | best prices, in the instrument's price units (EURUSD `1.08123`, AAPL `187.25`) |
 * | `bidSize`, `askSize` | f64 | sizes at them (units or lots, as the feed gives them) |
 * | `last`, `lastSize` | f64 | the last trade's price and size; `lastSize` 0 when this quote reports no trade (FX: always) |
 * | `symbol` | u32 | the instrument's id in the program's `Symbols` table |
 * | `epoch` | u32 | the feed's epoch: a count of (re)connections, so `seq` restarting is not a gap |
 *
 * The mid price is `(bid + ask) / 2`. A quote with a bid or ask that is not a positive finite number
 * is refused (dead-lettered) by the stages that price it.
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 * import { Quote } from "@velox/market"
 *
 * const view = RecordLayout.view(Quote.Quote, new ArrayBuffer(Quote.Quote.byteLength), 0, 1)
 * const now = Date.now() * 1e6
 * RecordLayout.writeUnsafe(view, 0, {
 *   seq: 1, exchangeTsNs: now, receiveTsNs: now, bid: 1.08121, ask: 1.08125, bidSize: 1e6, askSize: 2e6,
 *   last: 0, lastSize: 0, symbol: 0, epoch: 1
 * })
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const Quote = RecordLayout.make("Quote", {
  seq: "f64",
  exchangeTsNs: "f64",
  receiveTsNs: "f64",
  bid: "f64",
  ask: "f64",
  bidSize: "f64",
  askSize: "f64",
  last: "f64",
  lastSize: "f64",
  symbol: "u32",
  epoch: "u32"
})

/**
 * A quote as a plain object (the edges: JSON, tests).
 *
 * @category models
 * @since 0.1.0
 */
export type Record = RecordLayout.RecordOf<typeof Quote.spec>
