/**
 * The engine's output: a sink of {@link Bundle}s that validates, counts and checksums them and,
 * optionally, writes each as one NDJSON line to a file or to stdout.
 *
 * ```
 *   Bundler ──Bundle──▶ Output ──▶ counters (SharedArrayBuffer) · NDJSON file / stdout
 * ```
 *
 * Per bundle: {@link Bundle.validateUnsafe} (count in `1..maxCount`, a known flush reason, ordered
 * transaction ids); an invalid bundle is dead-lettered under its {@link Bundle.Reason} and not counted.
 * A valid one is delivered (`out.account`) and counted: bundles, transactions (the sum of the bundles'
 * `count`s — what "transactions in bundles = transactions processed" reconciles), a checksum
 * ({@link OutputCounters.checksumOf}, order-independent), and flushes per reason. The totals go to
 * the `counters` buffer (from {@link OutputCounters.make}) once per batch, readable from any thread
 * with {@link OutputCounters.read}.
 *
 * Latency. With `latency` set (a buffer from {@link OutputLatency.make}) and recording switched on,
 * the sink reads the pipeline clock once per batch (`make`'s `StageContext`) and adds, per valid bundle,
 * its receipt time minus its `openNs` (every bundle) and minus its `closeNs` (bundles closed by size:
 * the closing transaction's ingress timestamp) to two histograms; see {@link OutputLatency}.
 *
 * Writing. With `file` set (`"-"` is stdout) each batch becomes one string of lines —
 * `{"id":0,"firstTxId":0,"lastTxId":15,"openNs":…,"closeNs":…,"count":16,"reason":"size"}` — written
 * with one synchronous `fs.writeSync` on a descriptor opened once, when the logic is made (truncating,
 * unless `append` is set or the counters show a predecessor already wrote: a restarted sink appends).
 * The descriptor is closed on drain. The sink runs in a worker by default, where a synchronous write
 * blocks only its own loop; use `placement: "fiber"` only for output that never blocks. `node:fs` is
 * loaded with `process.getBuiltinModule` when a file is configured, so `@velox/core` keeps no static
 * Node-only import. Lines (and counts) are at-least-once across a crash of the sink's pass, like any
 * side effect of a sink.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Bundler, Ingress, OrderBookStage, Output, OutputCounters } from "@velox/market"
 * import { NodePipelineRuntime } from "@velox/node"
 *
 * const counters = OutputCounters.make()
 * const pipeline = Pipeline.from(Ingress, { count: 1_000_000, unthrottled: true })
 *   .via(OrderBookStage, { symbols: 8 })
 *   .via(Bundler, {})
 *   .to(Output, { counters, file: "bundles.ndjson" })
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
import type * as NodeFs from "node:fs"
import { Stage } from "@velox/core"
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
 * The output configuration, every key optional: `file` (a path, or `"-"` for stdout; no file: count
 * only), `append` (keep what the file holds; default `false`), `counters` (from
 * {@link OutputCounters.make}), `maxCount` (the largest valid bundle, default {@link MAX_COUNT}),
 * `latency` (from {@link OutputLatency.make}: record how long after their ingress timestamps bundles
 * arrive, while recording is switched on).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  file: Schema.optional(Schema.String),
  append: Schema.optional(Schema.Boolean),
  counters: Schema.optional(Counters),
  maxCount: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_COUNT }))),
  latency: Schema.optional(Latency)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/** A finite number as JSON, else `null` (JSON has no NaN or ∞). */
const json = (x: number): string => (x - x === 0 ? String(x) : "null")

const REASON_NAMES = ["size", "timeout", "drain"] as const

const loadFs = (): typeof NodeFs => {
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule?.("node:fs") as typeof NodeFs | undefined
  if (fs === undefined) throw new TypeError("Output: writing a file needs Node's fs (process.getBuiltinModule)")
  return fs
}

/** Writes all of `bytes`, retrying a partial write and EAGAIN (stdout may be a non-blocking pipe). */
const writeAll = (fs: typeof NodeFs, fd: number, bytes: Uint8Array): void => {
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.length - offset)
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EAGAIN") throw e
      // The pipe is full: wait a millisecond for the reader (this loop is the sink's own).
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

/**
 * The output logic for a config (what the stage runs; tests drive it directly).
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context?: Stage.StageContext): Stage.StageLogic<typeof Bundle.spec, never> => {
  const maxCount = config.maxCount ?? MAX_COUNT
  const totals = new OutputCounters.Writer(config.counters)
  const latency = config.latency === undefined ? undefined : new OutputLatency.Recorder(config.latency)
  const nowNs = context?.nowNs
  if (latency !== undefined && nowNs === undefined) {
    throw new TypeError("Output: latency recording needs the pipeline clock: make(config, { nowNs }) (a pipeline passes it)")
  }
  const file = config.file
  let fs: typeof NodeFs | undefined
  let fd = -1
  if (file !== undefined) {
    fs = loadFs()
    if (file === "-") {
      fd = 1
    } else {
      // A restarted sink (its predecessor counted bundles) appends to what was written.
      const append = (config.append ?? false) || totals.bundles > 0
      fd = fs.openSync(file, append ? "a" : "w")
    }
  }
  const encoder = file === undefined ? undefined : new TextEncoder()
  return {
    onBatch(input, start, n, out) {
      const f = input.fields
      let delivered = 0
      let lines = ""
      // One clock reading per batch, and only while recording: every bundle of the batch arrived now.
      const recording = latency !== undefined && latency.recording()
      const receiptNs = recording ? nowNs!() : 0
      for (let i = start; i < start + n; i++) {
        const code = BundleModule.validateUnsafe(input, i, maxCount)
        if (code !== BundleModule.OK) {
          out.deadLetter(BundleModule.deadLetterCode(code), input, i)
          continue
        }
        const first = f.firstTxId.get(i)
        const last = f.lastTxId.get(i)
        const count = f.count.get(i)
        const reason = f.reason.get(i)
        totals.bundles++
        totals.transactions += count
        totals.checksum = OutputCounters.checksumOf(totals.checksum, first, last, count)
        if (reason === FlushReason.Size) totals.sizeFlushes++
        else if (reason === FlushReason.Timeout) totals.timeoutFlushes++
        else totals.drainFlushes++
        delivered++
        if (recording) {
          // closeNs of a size flush is its closing transaction's tsNs; a timeout's is a timer reading.
          if (reason === FlushReason.Size) latency!.record(OutputLatency.CLOSING, receiptNs - f.closeNs.get(i))
          latency!.record(OutputLatency.OLDEST, receiptNs - f.openNs.get(i))
        }
        if (fd >= 0) {
          lines += `{"id":${json(f.id.get(i))},"firstTxId":${first},"lastTxId":${last},"openNs":${json(f.openNs.get(i))},` +
            `"closeNs":${json(f.closeNs.get(i))},"count":${count},"reason":"${REASON_NAMES[reason]}"}\n`
        }
      }
      if (lines.length > 0) {
        const bytes = encoder!.encode(lines)
        writeAll(fs!, fd, bytes)
        totals.bytesWritten += bytes.length
      }
      out.account(delivered)
      // One seqlock update per batch, after the lines are written.
      totals.publish()
    },
    onDrain() {
      totals.publish()
      if (fs !== undefined && fd > 2) {
        fs.closeSync(fd)
        fd = -1
      }
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
 * const pipeline = Pipeline.from(BundleFeed, {}).to(Output, { counters, file: "-" }) // NDJSON on stdout
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
