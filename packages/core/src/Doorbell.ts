/**
 * A doorbell is the one shared word an agent parks on and its peers ring after publishing: a wake-up
 * that costs a busy peer one load and no notify. Every ring names the bells of its two agents, so an
 * agent with many inputs and outputs parks on a single word.
 *
 * @since 0.1.0
 */
export {
  /** @category layout @since 0.1.0 */
  DOORBELL_STRIDE_BYTES,
  /** @category unsafe @since 0.1.0 */
  Doorbell,
  /** @category constructors @since 0.1.0 */
  makeDoorbellRef as make
} from "./internal/kernel/doorbell.ts"
export type { DoorbellRef } from "./internal/kernel/doorbell.ts"
