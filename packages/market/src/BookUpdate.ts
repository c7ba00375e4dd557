/**
 * What the order book stage emits per applied transaction: the transaction's identity and time, the
 * level it touched after the change, and the symbol's top of book after it.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"

/**
 * 64 bytes. `bestBid`/`bestAsk` are ticks, 0 when that side is empty.
 *
 * @category layout
 * @since 0.1.0
 */
export const BookUpdate = RecordLayout.make("BookUpdate", {
  txId: "f64",
  tsNs: "f64",
  price: "f64",
  levelSize: "f64",
  bestBid: "f64",
  bestAsk: "f64",
  symbol: "u32",
  side: "u16",
  kind: "u16"
})
