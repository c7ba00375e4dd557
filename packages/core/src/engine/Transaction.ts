/**
 * A transaction of the engine: an order-flow event for one symbol — a new resting order (`Add`), a
 * cancel of resting size (`Cancel`), or a trade against the best level (`Trade`).
 *
 * @since 0.1.0
 */
import * as RecordLayout from "../RecordLayout.ts"

/**
 * What a transaction does to the book.
 *
 * @category layout
 * @since 0.1.0
 */
export const Kind = { Add: 0, Cancel: 1, Trade: 2 } as const

/**
 * Which side of the book: bids (buy) or asks (sell).
 *
 * @category layout
 * @since 0.1.0
 */
export const Side = { Bid: 0, Ask: 1 } as const

/**
 * 40 bytes: `id` and `tsNs` (nanoseconds from the pipeline epoch) as f64 (exact to 2^53), `price` in
 * ticks and `size` in lots as f64 holding integers.
 *
 * @category layout
 * @since 0.1.0
 */
export const Transaction = RecordLayout.make("Transaction", {
  id: "f64",
  tsNs: "f64",
  price: "f64",
  size: "f64",
  symbol: "u32",
  side: "u16",
  kind: "u16"
})
