/**
 * The engine's output: it validates, counts and checksums {@link Bundle}s. `Output` is a sink (the end
 * of a pipeline that only counts); {@link OutputRelay} does the same counting and forwards every valid
 * bundle, 1:1, to whatever follows it — a file sink (`NodeFileSink.sink` of `@velox/node`), a journal.
 *
 * ```
 *   Bundler ──Bundle──▶ Output        ──▶ its counters (stats(), /metrics)
 *   Bundler ──Bundle──▶ OutputRelay   ──Bundle──▶ NodeFileSink (NDJSON)
 *                          └─▶ its counters
 * ```
 *
 * Per bundle: {@link Bundle.validateUnsafe} (count in `1..maxCount`, a known flush reason, ordered
 * transaction ids); an invalid bundle is dead-lettered under its {@link Bundle.Reason} and not counted.
 * A valid one is delivered (`out.account`, or emitted by the relay) and counted in the stage's own
 * counters ({@link OutputTotals.counters}: bundles, transactions — the sum of the bundles' `count`s, what
 * "transactions in bundles = transactions processed" reconciles — and flushes per reason) and its
 * `checksum` gauge ({@link OutputTotals.checksumOf}, order-independent). Read them in `handle.stats()`
 * (summed over instances by {@link OutputTotals.read}), on the dashboard or in `/metrics` (`velox_stage_counters_total{stage=
 * "output",name="transactions"}`). Like every count of the loop they are exact across a crash of the
 * stage's pass: the pass that threw is not counted, and its bundles come again.
 *
 * Latency. With `latency` set (a buffer from {@link OutputLatency.make}) and recording switched on,
 * the stage reads the pipeline clock once per batch (`make`'s `StageContext`) and adds, per valid
 * bundle, its receipt time minus its `openNs` (every bundle) and minus its `closeNs` (bundles closed by
 * size: the closing transaction's ingress timestamp) to two histograms; see {@link OutputLatency}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Bundler, Ingress, OrderBookStage, OutputRelay, OutputTotals } from "@velox/market"
 * import { NodeFileSink, NodePipelineRuntime } from "@velox/node"
 *
 * const pipeline = Pipeline.from(Ingress, { count: 1_000_000, unthrottled: true })
 *   .via(OrderBookStage, { symbols: 8 })
 *   .via(Bundler, {})
 *   .via(OutputRelay, {})
 *   .to(NodeFileSink.sink, { path: "bundles.ndjson" })
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* handle.done
 *   console.log(OutputTotals.read(handle.stats())) // { bundles: 62500, transactions: 1000000, … }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import * as BundleModule from "./Bundle.ts"
import { Bundle, FlushReason, MAX_COUNT } from "./Bundle.ts"
import * as OutputLatency from "./OutputLatency.ts"
import { checksumOf, counters, gauges, NAME } from "./OutputTotals.ts"

/**
 * The output configuration, every key optional: `maxCount` (the largest valid bundle, default
 * {@link MAX_COUNT}), `latency` (from {@link OutputLatency.make}: record how long after their ingress
 * timestamps bundles arrive, while recording is switched on).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  maxCount: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_COUNT }))),
  latency: Schema.optional(OutputLatency.LatencyBuffer)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

type BundleView = RecordLayout.RecordView<typeof Bundle.spec>

type OutputContext = Stage.StageContext<(typeof counters)[number], (typeof gauges)[number]>

/**
 * The counting both stages share: `count` validates and counts a batch, dead-letters what is invalid,
 * calls `deliver(i)` for each valid bundle and returns how many it delivered. Totals go to the
 * stage's counters once per batch (the loop publishes them with its commit).
 */
const makeCounting = (config: Config, context: OutputContext) => {
  const maxCount = config.maxCount ?? MAX_COUNT
  const latency = config.latency === undefined ? undefined : new OutputLatency.Recorder(config.latency)
  const nowNs = context.nowNs
  const c = context.counters
  const checksum = context.gauges.checksum
  return (input: BundleView, start: number, n: number, out: Stage.Emitter<any>, deliver: (i: number) => void): number => {
    const f = input.fields
    let delivered = 0
    let transactions = 0
    let size = 0
    let timeout = 0
    let sum = checksum.get()
    // One clock reading per batch, and only while recording: every bundle of the batch arrived now.
    const recording = latency !== undefined && latency.recording()
    const receiptNs = recording ? nowNs() : 0
    for (let i = start; i < start + n; i++) {
      const code = BundleModule.validateUnsafe(input, i, maxCount)
      if (code !== BundleModule.OK) {
        out.deadLetter(BundleModule.deadLetterCode(code), input, i)
        continue
      }
      const count = f.count.get(i)
      const reason = f.reason.get(i)
      transactions += count
      sum = checksumOf(sum, f.firstTxId.get(i), f.lastTxId.get(i), count)
      if (reason === FlushReason.Size) size++
      else if (reason === FlushReason.Timeout) timeout++
      delivered++
      if (recording) {
        // closeNs of a size flush is its closing transaction's tsNs; a timeout's is a timer reading.
        if (reason === FlushReason.Size) latency!.record(OutputLatency.CLOSING, receiptNs - f.closeNs.get(i))
        latency!.record(OutputLatency.OLDEST, receiptNs - f.openNs.get(i))
      }
      deliver(i)
    }
    c.bundles.add(delivered)
    c.transactions.add(transactions)
    c.sizeFlushes.add(size)
    c.timeoutFlushes.add(timeout)
    c.drainFlushes.add(delivered - size - timeout)
    checksum.set(sum)
    return delivered
  }
}

const nothing = (_i: number) => {}

/**
 * The output sink's logic for a config (what `Output` runs; tests drive it directly, with a context
 * from `Stage.context(Output)` whose counters they read).
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context: OutputContext): Stage.StageLogic<typeof Bundle.spec, never> => {
  const count = makeCounting(config, context)
  return {
    onBatch(input, start, n, out) {
      out.account(count(input, start, n, out, nothing))
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
export const makeRelayLogic = (config: Config, context: OutputContext): Stage.StageLogic<typeof Bundle.spec, typeof Bundle.spec> => {
  const count = makeCounting(config, context)
  return {
    onBatch(input, start, n, out) {
      count(input, start, n, out, (i) => RecordLayout.copyRecords(input, i, out.view, out.emit(), 1))
    }
  }
}

/**
 * The output stage (a sink of `Bundle`s). See the module comment.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Output, OutputTotals } from "@velox/market"
 * import { BundleFeed } from "./myStages.ts" // a Bundle source
 *
 * const pipeline = Pipeline.from(BundleFeed, {}).to(Output, {})
 * // run it; then OutputTotals.read(handle.stats()).transactions
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const Output = Stage.sink({
  name: NAME,
  module: import.meta.url,
  input: Bundle,
  config: Config,
  errors: BundleModule.reasons,
  counters,
  gauges,
  make: makeLogic
})
