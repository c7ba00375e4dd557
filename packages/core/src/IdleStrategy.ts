/**
 * What a loop does when there is nothing to do: spin for the lowest latency, or back off from spinning
 * to short parks to parking until a peer rings the loop's doorbell, for near-zero idle CPU.
 *
 * Use them as `idle.idle(doWork())`, passing an honest work count (0 when nothing was done).
 * `idle` may block the calling thread: worker loops only. Fibers on the main thread wait with
 * `Atomics.waitAsync` (see `OneToOneRing.reader` / `writer`).
 *
 * @example
 * ```ts
 * import { IdleStrategy, OneToOneRing } from "@velox/core"
 *
 * declare const handle: OneToOneRing.RingHandle // received from the main thread
 * const consumer = new OneToOneRing.RingConsumer(handle)
 * const idle = new IdleStrategy.BackoffIdleStrategy(consumer.consumerBell, () => consumer.hasWork())
 * for (;;) {
 *   const n = consumer.poll(256)
 *   if (n === OneToOneRing.END_OF_STREAM) break
 *   // ... read slots consumer.readIndex .. consumer.readIndex + n - 1
 *   consumer.release(n)
 *   idle.idle(n)
 * }
 * ```
 *
 * @since 0.1.0
 */
export {
  /** @category constructors @since 0.1.0 */
  BACKOFF_DEFAULTS,
  /** @category constructors @since 0.1.0 */
  BackoffIdleStrategy,
  /** @category constructors @since 0.1.0 */
  BusySpinIdleStrategy,
  /** @category constructors @since 0.1.0 */
  NoOpIdleStrategy,
  /** @category constructors @since 0.1.0 */
  PARK_SAFETY_NET_NS
} from "./internal/kernel/idleStrategy.ts"
export type { BackoffOptions, IdleStrategy } from "./internal/kernel/idleStrategy.ts"
