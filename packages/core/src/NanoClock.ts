/**
 * A monotonic nanosecond clock comparable across worker threads: each thread calibrates
 * `performance.now()` against the process-wide monotonic clock once, then reads it cheaply.
 *
 * @since 0.1.0
 */
export {
  /** Absolute monotonic nanoseconds, the same clock in every thread. @category constructors @since 0.1.0 */
  absoluteNs,
  /**
   * Calibrates this thread's clock against an epoch (an `absoluteNs()` reading taken once, on the main
   * thread, and handed to workers).
   *
   * @example
   * ```ts
   * import { NanoClock } from "@velox/core"
   *
   * const clock = NanoClock.make(NanoClock.absoluteNs())
   * const t0 = clock.nowNs()
   * console.log(`calibrated to ±${clock.uncertaintyNs.toFixed(0)} ns; now=${t0}`)
   * ```
   * @category constructors
   * @since 0.1.0
   */
  makeNanoClock as make
} from "./internal/kernel/nanoClock.ts"
export type { NanoClock } from "./internal/kernel/nanoClock.ts"
