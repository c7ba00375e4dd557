/**
 * A seeded synthetic market-by-price (L2) feed: Zipf activity across symbols, about 50 levels per side
 * near a walking mid, now and then a level far from the touch, bursts, and — when asked — lost messages
 * (sequence gaps) and invalid records, each followed by a snapshot that resyncs the symbol. What the
 * `l2` benchmark runs and what {@link L2Feed} emits; see `internal/kernel/l2Flow.ts` for the process.
 *
 * `flow.next()` writes one message into the flow's fields (`symbol`, `op`, `side`, `price`, `size`,
 * `seq`, `exchangeTsNs`), allocation-free; the same options and seed give the same messages on every
 * machine. `flow.book(symbol, side)` is the flow's own book: what a consumer in sync holds once it has
 * every message generated so far (`flow.pendingMessages === 0`; an event can queue several).
 *
 * @example
 * ```ts
 * import { L2Flow } from "@velox/market"
 *
 * const flow = new L2Flow.L2Flow({ symbols: 10_000, seed: 7, gapProbability: 1e-5 })
 * for (let i = 0; i < 1_000_000; i++) {
 *   flow.next()
 *   // write flow.seq, flow.exchangeTsNs, flow.price, flow.size, flow.symbol, flow.side, flow.op …
 * }
 * console.log(flow.snapshots, flow.lost) // snapshots sent (initial and recovery), messages lost
 * ```
 *
 * @since 0.1.0
 */
export {
  /** @category models @since 0.1.0 */
  DEFECTS,
  /** @category models @since 0.1.0 */
  FAR_PER_SIDE,
  /** @category unsafe @since 0.1.0 */
  L2Flow,
  /** @category models @since 0.1.0 */
  MAX_SYMBOLS
} from "./internal/kernel/l2Flow.ts"
export type { L2FlowOptions } from "./internal/kernel/l2Flow.ts"
