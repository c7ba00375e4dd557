/**
 * The engine's output: it validates, counts and checksums {@link Bundle}s. `Output` is a sink (the end
 * of a pipeline that only counts); {@link OutputRelay} does the same counting and forwards every valid
 * bundle, 1:1, to whatever follows it — a file sink (`NodeFileSink.sink` of `@velox/node`), a journal.
 *
 * ```
 *   Bundler ──Bundle──▶ Output        ──▶ counters (SharedArrayBuffer)
 *   Bundler ──Bundle──▶ OutputRelay   ──Bundle──▶ NodeFileSink (NDJSON)
 *                          └─▶ counters
 * ```
 *
 * Per bundle: {@link Bundle.validateUnsafe} (count in `1..maxCount`, a known flush reason, ordered
 * transaction ids); an invalid bundle is dead-lettered under its {@link Bundle.Reason} and not counted.
 * A valid one is delivered (`out.account`, or emitted by the relay) and counted: bundles, transactions
 * (the sum of the bundles' `count`s — what "transactions in bundles = transactions processed"
 * reconciles), a checksum ({@link OutputCounters.checksumOf}, order-independent), and flushes per
 * reason. The totals go to the `counters` buffer (from {@link OutputCounters.make}) once per batch,
 * readable from any thread with {@link OutputCounters.read}.
 *
 * Latency. With `latency` set (a buffer from {@link OutputLatency.make}) and recording switched on,
 * the stage reads the pipeline clock once per batch (`make`'s `StageContext`) and adds, per valid
 * bundle, its receipt time minus its `openNs` (every bundle) and minus its `closeNs` (bundles closed by
 * size: the closing transaction's ingress timestamp) to two histograms; see {@link OutputLatency}.
 *
 * Counts are at-least-once across a crash of the stage's pass, like any side effect of a sink.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Bundler, Ingress, OrderBookStage, OutputCounters, OutputRelay } from "@velox/market"
 * import { NodeFileSink, NodePipelineRuntime } from "@velox/node"
 *
 * const counters = OutputCounters.make()
 * const pipeline = Pipeline.from(Ingress, { count: 1_000_000, unthrottled: true })
 *   .via(OrderBookStage, { symbols: 8 })
 *   .via(Bundler, {})
 *   .via(OutputRelay, { counters })
 *   .to(NodeFileSink.sink, { path: "bundles.ndjson" })
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* handle.done
 *   console.log(OutputCounters.read(counters)) // { bundles: 62500, transactions: 1000000, … }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import * as BundleModule from "./Bundle.ts"
import { Bundle, FlushReason, MAX_COUNT } from "./Bundle.ts"
import * as OutputCounters from "./OutputCounters.ts"
import * as OutputLatency from "./OutputLatency.ts"

const Counters = Schema.declare((u): u is SharedArrayBuffer => OutputCounters.isCounters(u), {
  expected: "a counters buffer from OutputCounters.make()"
})

const Latency = Schema.declare((u): u is SharedArrayBuffer => OutputLatency.isLatency(u), {
  expected: "a latency buffer from OutputLatency.make()"
})

/**
 * The output configuration, every key optional: `counters` (from {@link OutputCounters.make}),
 * `maxCount` (the largest valid bundle, default {@link MAX_COUNT}), `latency` (from
 * {@link OutputLatency.make}: record how long after their ingress timestamps bundles arrive, while
 * recording is switched on).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  counters: Schema.optional(Counters),
  maxCount: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_COUNT }))),
  latency: Schema.optional(Latency)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

type BundleView = RecordLayout.RecordView<typeof Bundle.spec>

/**
 * The counting both stages share: `count` validates and counts a batch, dead-letters what is invalid,
 * calls `deliver(i)` for each valid bundle and returns how many it delivered; `publish` makes the
 * totals visible (one seqlock update).
 */
const makeCounting = (config: Config, context: Stage.StageContext | undefined) => {
  const maxCount = config.maxCount ?? MAX_COUNT
  const totals = new OutputCounters.Writer(config.counters)
  const latency = config.latency === undefined ? undefined : new OutputLatency.Recorder(config.latency)
  const nowNs = context?.nowNs
  if (latency !== undefined && nowNs === undefined) {
    throw new TypeError("Output: latency recording needs the pipeline clock: make(config, { nowNs }) (a pipeline passes it)")
  }
  return {
    count(input: BundleView, start: number, n: number, out: Stage.Emitter<any>, deliver: (i: number) => void): number {
      const f = input.fields
      let delivered = 0
      // One clock reading per batch, and only while recording: every bundle of the batch arrived now.
      const recording = latency !== undefined && latency.recording()
      const receiptNs = recording ? nowNs!() : 0
      for (let i = start; i < start + n; i++) {
        const code = BundleModule.validateUnsafe(input, i, maxCount)
        if (code !== BundleModule.OK) {
          out.deadLetter(BundleModule.deadLetterCode(code), input, i)
          continue
        }
        const count = f.count.get(i)
        const reason = f.reason.get(i)
        totals.bundles++
        totals.transactions += count
        totals.checksum = OutputCounters.checksumOf(totals.checksum, f.firstTxId.get(i), f.lastTxId.get(i), count)
        if (reason === FlushReason.Size) totals.sizeFlushes++
        else if (reason === FlushReason.Timeout) totals.timeoutFlushes++
        else totals.drainFlushes++
        delivered++
        if (recording) {
          // closeNs of a size flush is its closing transaction's tsNs; a timeout's is a timer reading.
          if (reason === FlushReason.Size) latency!.record(OutputLatency.CLOSING, receiptNs - f.closeNs.get(i))
          latency!.record(OutputLatency.OLDEST, receiptNs - f.openNs.get(i))
        }
        deliver(i)
      }
      return delivered
    },
    publish: () => totals.publish()
  }
}

const nothing = (_i: number) => {}

/**
 * The output sink's logic for a config (what `Output` runs; tests drive it directly).
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context?: Stage.StageContext): Stage.StageLogic<typeof Bundle.spec, never> => {
  const counting = makeCounting(config, context)
  return {
    onBatch(input, start, n, out) {
      out.account(counting.count(input, start, n, out, nothing))
      // One seqlock update per batch.
      counting.publish()
    },
    onDrain() {
      counting.publish()
    }
  }
}

/**
 * The relay's logic for a config (what `OutputRelay` runs): the sink's counting, and every valid
 * bundle emitted unchanged.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeRelayLogic = (
  config: Config,
  context?: Stage.StageContext
): Stage.StageLogic<typeof Bundle.spec, typeof Bundle.spec> => {
  const counting = makeCounting(config, context)
  return {
    onBatch(input, start, n, out) {
      counting.count(input, start, n, out, (i) => RecordLayout.copyRecords(input, i, out.view, out.emit(), 1))
      counting.publish()
    },
    onDrain() {
      counting.publish()
    }
  }
}

/**
 * The output stage (a sink of `Bundle`s). See the module comment.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Output, OutputCounters } from "@velox/market"
 * import { BundleFeed } from "./myStages.ts" // a Bundle source
 *
 * const counters = OutputCounters.make()
 * const pipeline = Pipeline.from(BundleFeed, {}).to(Output, { counters })
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const Output = Stage.sink({
  name: "output",
  module: import.meta.url,
  input: Bundle,
  config: Config,
  errors: BundleModule.reasons,
  make: makeLogic
})
