/**
 * One message of a market-by-price (L2) feed: a level added, updated or deleted, or one part of a
 * snapshot (begin, a level, end), with the symbol's sequence number and the exchange's time. What the
 * {@link L2BookStage} reads.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"

/**
 * 40 bytes. `seq`: the symbol's sequence number (an integer ≥ 0; a snapshot's messages all carry the
 * last sequence number the snapshot reflects). `exchangeTsNs`: the exchange's timestamp, in ns (passed
 * through to the top of book it causes, for end-to-end latency). `price`: ticks. `size`: lots.
 * `side`: 0 bid, 1 ask. `op`: one of {@link Op}.
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 * import { L2Update } from "@velox/market"
 *
 * const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(40 * 4), 0, 4)
 * RecordLayout.writeUnsafe(view, 0, { seq: 7, exchangeTsNs: 0, price: 10_001, size: 300, symbol: 42, side: 1, op: L2Update.Op.Add })
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const L2Update = RecordLayout.make("L2Update", {
  seq: "f64",
  exchangeTsNs: "f64",
  price: "f64",
  size: "f64",
  symbol: "u32",
  side: "u16",
  op: "u16"
})

/**
 * The operations: `Add` (a new level), `Update` (a level's size; 0 removes it), `Delete` (a level
 * goes), `SnapshotBegin` (clears the book), `SnapshotLevel` (one level of the snapshot),
 * `SnapshotEnd` (the book is live again).
 *
 * @category models
 * @since 0.1.0
 */
export const Op = {
  Add: 0,
  Update: 1,
  Delete: 2,
  SnapshotBegin: 3,
  SnapshotLevel: 4,
  SnapshotEnd: 5
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type Op = typeof Op[keyof typeof Op]

/**
 * The sides, as in the order book.
 *
 * @category models
 * @since 0.1.0
 */
export const Side = { Bid: 0, Ask: 1 } as const
