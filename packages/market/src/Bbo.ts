/**
 * The top of one symbol's book as the {@link L2BookStage} publishes it: a record each time the best
 * bid, the best offer or one of their sizes changes, when the book goes out of sync with its feed
 * (flagged `Stale`), and when a snapshot brings it back (flagged `Snapshot`). Crossed and locked books
 * are flagged, not corrected.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"

/**
 * 56 bytes. `seq`: the sequence number of the update that changed the top of book (a stale record: of
 * the update that showed the book out of sync). `exchangeTsNs`: that update's exchange time.
 * `bidPrice` / `askPrice`: ticks, 0 for an empty side; `bidSize` / `askSize`: lots at them (0 for an
 * empty side). `flags`: {@link Flag} bits.
 *
 * @category layout
 * @since 0.1.0
 */
export const Bbo = RecordLayout.make("Bbo", {
  seq: "f64",
  exchangeTsNs: "f64",
  bidPrice: "f64",
  bidSize: "f64",
  askPrice: "f64",
  askSize: "f64",
  symbol: "u32",
  flags: "u32"
})

/**
 * Flag bits: `Locked` (best bid = best ask) and `Crossed` (best bid > best ask), when both sides have
 * levels; `Stale` (the book went out of sync with the feed: the prices are the last ones published,
 * no longer live, until a record flagged `Snapshot`); `Snapshot` (the first top of book after a
 * snapshot).
 *
 * @category models
 * @since 0.1.0
 */
export const Flag = {
  Locked: 1,
  Crossed: 2,
  Stale: 4,
  Snapshot: 8
} as const
