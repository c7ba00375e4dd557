/**
 * The engine's bundler: groups consecutive {@link BookUpdate}s into {@link Bundle}s.
 *
 * ```
 *   order book ──BookUpdate──▶ Bundler ──Bundle──▶ Output
 * ```
 *
 * A bundle opens with its first update (`openNs` = that update's `tsNs`) and closes
 *
 * - at `maxSize` updates (reason `Size`), inside `onBatch`;
 * - on the timer, once `nowNs - openNs ≥ timeoutNs` (reason `Timeout`): the timer runs every
 *   {@link TIMER_PERIOD_NS} (25 µs, a quarter of the default timeout), so a bundle closes at most
 *   about 25 µs after its deadline; a `timeoutNs` below that is honoured at the timer's resolution;
 * - on drain, if one is open (reason `Drain`).
 *
 * A bundle is never empty, and every update ends in exactly one bundle, in order: bundle `k + 1`'s
 * `firstTxId` follows bundle `k`'s `lastTxId` in the input. Bundles depend only on the input sequence
 * and the timer readings — not on how the input is split into batches. Each bundle's `reason` field
 * says why it closed, so a sink counts flushes per reason; `id` counts bundles from 0 (per stage
 * instance: a restarted bundler starts again at 0). `closeNs` is the newest `tsNs` in the bundle for
 * a size or drain flush (`onBatch` and `onDrain` get no clock, and a timer reading would make the
 * bundle depend on when timers happened to run), and the timer's reading for a timeout. So with no
 * timeout firing, the bundles depend on the input alone.
 *
 * The updates of the open bundle are retained (`retained()` = its size, at most `maxSize`): they stay
 * unreleased in the input ring, so a crash redelivers them and the restarted bundler rebuilds the
 * bundle. `emit(count)` accounts for a bundle's updates when it closes. Per update the work is three
 * field reads and a compare; nothing is allocated.
 *
 * Latency. With `latency` set (a buffer from {@link OutputLatency.make}, usually the one given to
 * {@link Output}) and recording switched on, the bundler reads its loop's pipeline clock once per batch
 * and adds, per update, that receipt time minus the update's `tsNs` to the buffer's
 * {@link OutputLatency.TRANSACTION} histogram: every transaction's transit from its ingress timestamp
 * to the bundler, with no waiting for a bundle to fill.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Bundler, OrderBookStage, Output, Ingress } from "@velox/market"
 *
 * const pipeline = Pipeline.from(Ingress, { rate: 100_000 })
 *   .via(OrderBookStage, { symbols: 8 })
 *   .via(Bundler, { maxSize: 16, timeoutNs: 100_000 })
 *   .to(Output, { file: "bundles.ndjson" })
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { BookUpdate } from "./BookUpdate.ts"
import { Bundle, FlushReason, MAX_COUNT } from "./Bundle.ts"
import * as OutputLatency from "./OutputLatency.ts"

/**
 * The default largest bundle: 16 updates.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_MAX_SIZE = 16

/**
 * The default timeout: 100 µs from a bundle's open time.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_TIMEOUT_NS = 100_000

/**
 * How often the bundler's timer runs: a quarter of the default timeout.
 *
 * @category models
 * @since 0.1.0
 */
export const TIMER_PERIOD_NS = DEFAULT_TIMEOUT_NS / 4

/**
 * The bundler configuration: `maxSize` (1 .. {@link MAX_COUNT}, default {@link DEFAULT_MAX_SIZE}),
 * `timeoutNs` (> 0, default {@link DEFAULT_TIMEOUT_NS}; `Infinity` disables the timeout) and `latency`
 * (from {@link OutputLatency.make}: record every transaction's transit to the bundler, while recording
 * is switched on).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  maxSize: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_COUNT }))),
  timeoutNs: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  latency: Schema.optional(OutputLatency.LatencyBuffer)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/** Slots of the open bundle's times. */
const OPEN = 0
const NEWEST = 1

/**
 * The bundler logic for a config (what the stage runs; tests drive it directly). With `latency` set it
 * needs the loop's clock: the pipeline passes its {@link Stage.StageContext}.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (
  config: Config,
  context?: Pick<Stage.StageContext, "nowNs">
): Stage.StageLogic<typeof BookUpdate.spec, typeof Bundle.spec> => {
  const maxSize = config.maxSize ?? DEFAULT_MAX_SIZE
  const timeoutNs = config.timeoutNs ?? DEFAULT_TIMEOUT_NS
  if (config.latency !== undefined && context === undefined) {
    throw new TypeError("Bundler: recording latency needs the loop's clock (a StageContext)")
  }
  const latency = config.latency === undefined ? undefined : new OutputLatency.Recorder(config.latency)
  const nowNs = context?.nowNs
  // The open bundle, held as scalars: no record copies, nothing allocated per update. Its two times
  // live in a typed array: a closure's `let` holding a double is boxed afresh on every write.
  let count = 0
  let firstTxId = 0
  let lastTxId = 0
  /** [OPEN]: the open bundle's first timestamp; [NEWEST]: its newest. */
  const times = new Float64Array(2)
  let nextId = 0
  const flush = (out: Stage.Emitter<typeof Bundle.spec>, reason: number, closeNs: number): void => {
    const slot = out.emit(count)
    const f = out.view.fields
    f.id.set(slot, nextId++)
    f.firstTxId.set(slot, firstTxId)
    f.lastTxId.set(slot, lastTxId)
    f.openNs.set(slot, times[OPEN]!)
    f.closeNs.set(slot, closeNs)
    f.count.set(slot, count)
    f.reason.set(slot, reason)
    count = 0
  }
  return {
    onBatch(input, start, n, out) {
      const txId = input.fields.txId
      const tsNs = input.fields.tsNs
      const end = start + n
      // One clock reading per batch, and only while recording: every update of the batch arrived now.
      if (latency !== undefined && latency.recording()) {
        const receiptNs = nowNs!()
        for (let i = start; i < end; i++) {
          latency.record(OutputLatency.TRANSACTION, receiptNs - tsNs.get(i))
        }
      }
      for (let i = start; i < end; i++) {
        const ts = tsNs.get(i)
        if (count === 0) {
          firstTxId = txId.get(i)
          times[OPEN] = ts
          times[NEWEST] = ts
        }
        lastTxId = txId.get(i)
        // A comparison, not Math.max: a NaN timestamp never becomes the newest.
        if (ts > times[NEWEST]!) times[NEWEST] = ts
        if (++count === maxSize) flush(out, FlushReason.Size, times[NEWEST]!)
      }
    },
    onTimer(nowNs, out) {
      const newestNs = times[NEWEST]!
      if (count > 0 && nowNs - times[OPEN]! >= timeoutNs) flush(out, FlushReason.Timeout, nowNs > newestNs ? nowNs : newestNs)
    },
    onDrain(out) {
      if (count > 0) flush(out, FlushReason.Drain, times[NEWEST]!)
    },
    retained: () => count,
    // Only an open bundle has a deadline: an idle bundler lets its loop sleep.
    nextWakeNs: () => (count > 0 ? times[OPEN]! + timeoutNs : Infinity)
  }
}

/**
 * The bundler stage (`BookUpdate` → `Bundle`). See the module comment.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Bundler } from "@velox/market"
 * import { BookUpdateFeed, BundleSink } from "./myStages.ts" // a BookUpdate source, a Bundle sink
 *
 * const pipeline = Pipeline.from(BookUpdateFeed, {}).via(Bundler, { maxSize: 32 }).to(BundleSink, {})
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const Bundler = Stage.make({
  name: "bundler",
  module: import.meta.url,
  input: BookUpdate,
  output: Bundle,
  config: Config,
  timerPeriodNs: TIMER_PERIOD_NS,
  maxRetained: ({ maxSize }) => maxSize ?? DEFAULT_MAX_SIZE,
  make: makeLogic
})
