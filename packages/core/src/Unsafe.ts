/**
 * `@velox/core/unsafe`: the kernel — rings, record layouts, doorbells, idle strategies, the nanosecond
 * clock — with no Effect around it, for code that must drive them directly: benchmark peer loops,
 * worker scripts of stress tests, a platform's own threads. **Unstable**: names and signatures follow
 * the kernel and may change in any release; the public modules (`OneToOneRing`, `RecordLayout`,
 * `IdleStrategy`, `NanoClock`, …) are the stable face of the same code.
 *
 * No `effect` import: safe to load in a worker that runs only a hot loop.
 *
 * @example
 * ```ts
 * import { BackoffIdleStrategy, END_OF_STREAM, RingConsumer, type RingHandle } from "@velox/core/unsafe"
 *
 * declare const handle: RingHandle // from the thread that made the ring
 * const consumer = new RingConsumer(handle)
 * const idle = new BackoffIdleStrategy(consumer.consumerBell, () => consumer.hasWork())
 * for (let n = consumer.poll(256); n !== END_OF_STREAM; n = consumer.poll(256)) {
 *   consumer.release(n)
 *   idle.idle(n)
 * }
 * ```
 *
 * @since 0.1.0
 */
export { ARMED, DISARMED, Doorbell, DOORBELL_STRIDE_BYTES, makeDoorbellRef } from "./internal/kernel/doorbell.ts"
export type { DoorbellRef } from "./internal/kernel/doorbell.ts"
export { FanInConsumer } from "./internal/kernel/fanIn.ts"
export type { FanInBatchHandler } from "./internal/kernel/fanIn.ts"
export { BACKOFF_DEFAULTS, BackoffIdleStrategy, BusySpinIdleStrategy, NoOpIdleStrategy } from "./internal/kernel/idleStrategy.ts"
export type { BackoffOptions, IdleStrategy } from "./internal/kernel/idleStrategy.ts"
export { absoluteNs, makeNanoClock } from "./internal/kernel/nanoClock.ts"
export type { NanoClock } from "./internal/kernel/nanoClock.ts"
export { END_OF_STREAM, makeRing, RingConsumer, RingMonitor, RingProducer, ringView } from "./internal/kernel/oneToOneRing.ts"
export type { RingHandle, RingOptions } from "./internal/kernel/oneToOneRing.ts"
export {
  copyRecords,
  FIELD_BYTES,
  layoutFromEntries,
  makeLayout,
  makeView,
  MAX_RECORD_BYTES,
  readRecord,
  RECORD_ALIGNMENT,
  writeRecord
} from "./internal/kernel/recordLayout.ts"
export type {
  FieldAccessor,
  FieldAccessors,
  FieldInfo,
  FieldSpec,
  FieldType,
  Layout,
  RecordOf,
  RecordView
} from "./internal/kernel/recordLayout.ts"
export * from "./internal/kernel/ringDescriptor.ts"
