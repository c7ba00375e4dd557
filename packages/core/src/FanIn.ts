/**
 * Fan-in: one consumer drains several producers, one SPSC ring each, polled fairly, parking on one
 * shared consumer bell. Per-producer order is kept; nothing is lost. See the kernel module for why
 * this beats a many-to-one ring here.
 *
 * @example
 * ```ts
 * import { Doorbell, FanIn, OneToOneRing } from "@velox/core"
 *
 * const bell = Doorbell.make()
 * const rings = [0, 1, 2].map(() => OneToOneRing.makeUnsafe({ capacity: 1024, slotBytes: 16, consumerBell: bell }))
 * const fanIn = new FanIn.FanInConsumer(rings)
 * // producers: new OneToOneRing.RingProducer(rings[i]) in their own threads
 * const handled = fanIn.poll(256, (input, consumer, count) => {
 *   // read slots consumer.readIndex .. + count - 1 of input `input`
 * })
 * ```
 *
 * @since 0.1.0
 */
export {
  /** @category unsafe @since 0.1.0 */
  FanInConsumer
} from "./internal/kernel/fanIn.ts"
export type { FanInBatchHandler } from "./internal/kernel/fanIn.ts"
