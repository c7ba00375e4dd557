/**
 * Latency histograms of the engine's {@link Output} sink and its {@link Bundler}, in a
 * `SharedArrayBuffer`: how long after their ingress timestamps (`tsNs`, the pipeline clock) bundles
 * reach the output, and transactions the bundler. Pass the buffer in the sink's config (`latency`), and
 * in the bundler's for the per-transaction histogram; switch recording on and off from any thread
 * ({@link startRecording}, {@link stopRecording}), and read it with {@link read} once their loops ended.
 *
 * Per bundle, with `receiptNs` the output loop's clock when its `onBatch` starts (one reading per
 * batch, the pipeline clock of that thread, comparable across threads to within its calibration):
 *
 * - **closing**: `receiptNs − closeNs`, for bundles closed by size only. A size-closed bundle's
 *   `closeNs` is the newest `tsNs` in it, which for an in-order source (Ingress) is the timestamp of
 *   the transaction that closed it: so this is how long that transaction took from its ingress
 *   timestamp through the order book, the bundler and the hand-offs to the output — the pipeline's
 *   transit latency, with no waiting for a bundle to fill. (A timeout bundle's `closeNs` is a timer
 *   reading, not an ingress timestamp, and is not recorded here.)
 * - **oldest**: `receiptNs − openNs`, for every bundle: its first transaction's ingress timestamp to
 *   the output, i.e. transit plus the wait for the bundle to close (up to the bundle timeout plus the
 *   bundler's timer period). The end-to-end latency of each bundle's longest-waiting transaction.
 * - **transaction**: recorded by the {@link Bundler} when it is given the same buffer (its own
 *   `latency`), per book update on receipt: `receiptNs − tsNs` with `receiptNs` the bundler loop's
 *   clock when its `onBatch` starts. Every transaction's transit from its ingress timestamp through the
 *   order book to the bundler, with no waiting for a bundle to fill: the unbiased sample of what
 *   **closing** samples only at bundles that fill (which over-weights stalls: a stall's backlog fills
 *   bundles, so a 5 ms stall is 0.25% of the transactions but ~1% of the closing samples).
 *
 * ```
 *  byte  0 ┌──────────────────┬──────────────────┐
 *          │ magic     i32    │ recording  i32   │  magic: make(), plain, once
 *          │ 0x7E1A7001       │ 0 off, 1 on      │  recording: any thread, Atomics.store;
 *  byte  8 ├──────────────────┴──────────────────┤              the sink, Atomics.load once per batch
 *          │ padding to 64: the control word     │
 *          │ and the sink's counts on two lines  │
 *  byte 64 ├─────────────────────────────────────┤  ┐
 *          │ closing: count        f64           │  │
 *  byte 72 │          sumNs        f64           │  │
 *  byte 80 │          maxNs        f64           │  │ plain writes, one writer
 *  byte 88 │          negatives    f64           │  │ each (closing, oldest: the
 *  byte 96 │          buckets      865 × f64     │  │ sink; transaction: the
 * byte 7016├─────────────────────────────────────┤  │ bundler); read after
 *          │ oldest:  the same, 6952 bytes       │  │ their loops ended
 * byte13968├─────────────────────────────────────┤  │
 *          │ transaction: the same, 6952 bytes   │  │
 * byte20920└─────────────────────────────────────┘  ┘
 * ```
 *
 * Buckets: a latency of `v` whole ns lands in bucket `v` below 64 ns (exact); above, in one of 32
 * equal sub-buckets of its power of two (`[2^k, 2^(k+1))`, k = 6 … 30), so a bucket's upper bound is
 * within 1/32 (3.1%) of any value in it; the last bucket holds everything from 2^31 ns (2.1 s) up.
 * A negative reading (two threads' clocks disagree by up to their calibration error) counts in
 * `negatives` and in bucket 0. Recording costs one clock read per batch and a few f64 adds per
 * bundle (per update, at the bundler); nothing is allocated.
 *
 * Reading. Each histogram's counts are plain f64 writes of one thread, so {@link read} is exact once
 * the writers' loops have ended (after the run's drain): stop recording, stop or drain the pipeline,
 * then read. A read while they run may see a count mid-update. JS `Atomics` are sequentially
 * consistent; the recording word is the only one accessed atomically.
 *
 * @since 0.1.0
 */

import { Schema } from "effect"

/**
 * The first word of a latency buffer.
 *
 * @category layout
 * @since 0.1.0
 */
export const MAGIC = 0x7e1a7001

/** @category layout @since 0.1.0 */
export const MAGIC_OFFSET = 0
/** @category layout @since 0.1.0 */
export const RECORDING_OFFSET = 4
/** @category layout @since 0.1.0 */
export const CLOSING_OFFSET = 64

/** Latencies below this many ns have a bucket each. @category layout @since 0.1.0 */
export const EXACT_BELOW_NS = 64
/** Sub-buckets per power of two above {@link EXACT_BELOW_NS}. @category layout @since 0.1.0 */
export const SUB_BUCKETS = 32
/** The largest power of two with its own sub-buckets (2^30 ns ≈ 1.07 s). */
const TOP_EXPONENT = 30
const FIRST_EXPONENT = 31 - Math.clz32(EXACT_BELOW_NS)
const SUB_BITS = 31 - Math.clz32(SUB_BUCKETS)
/** The last bucket: 2^31 ns and above. @category layout @since 0.1.0 */
export const OVERFLOW_BUCKET = EXACT_BELOW_NS + (TOP_EXPONENT - FIRST_EXPONENT + 1) * SUB_BUCKETS
/** Buckets per histogram (865). @category layout @since 0.1.0 */
export const BUCKET_COUNT = OVERFLOW_BUCKET + 1

/** f64 words before a histogram's buckets: count, sumNs, maxNs, negatives. */
const HEADER_WORDS = 4
/** Bytes per histogram (6952). @category layout @since 0.1.0 */
export const HISTOGRAM_BYTES = (HEADER_WORDS + BUCKET_COUNT) * 8
/** @category layout @since 0.1.0 */
export const OLDEST_OFFSET = CLOSING_OFFSET + HISTOGRAM_BYTES
/** @category layout @since 0.1.0 */
export const TRANSACTION_OFFSET = OLDEST_OFFSET + HISTOGRAM_BYTES
/** The size of a latency buffer in bytes (20920). @category layout @since 0.1.0 */
export const BYTE_LENGTH = TRANSACTION_OFFSET + HISTOGRAM_BYTES

/**
 * Which histogram: {@link CLOSING} (size-closed bundles, from the closing transaction), {@link OLDEST}
 * (every bundle, from its first transaction) or {@link TRANSACTION} (every transaction, at the bundler).
 *
 * @category models
 * @since 0.1.0
 */
export type Histogram = typeof CLOSING | typeof OLDEST | typeof TRANSACTION
/** @category models @since 0.1.0 */
export const CLOSING = 0 as const
/** @category models @since 0.1.0 */
export const OLDEST = 1 as const
/** @category models @since 0.1.0 */
export const TRANSACTION = 2 as const

const HISTOGRAM_OFFSETS = [CLOSING_OFFSET, OLDEST_OFFSET, TRANSACTION_OFFSET] as const

const RECORDING_INDEX = RECORDING_OFFSET >> 2
const COUNT = 0
const SUM = 1
const MAX = 2
const NEGATIVES = 3

/**
 * The bucket of a latency of `ns` nanoseconds (fractions are dropped; negative → 0).
 *
 * @example
 * ```ts
 * import { OutputLatency } from "@velox/market"
 *
 * console.log(OutputLatency.bucketOf(40), OutputLatency.bucketOf(1_000)) // 40 ~ a bucket ending at 1023
 * console.log(OutputLatency.bucketUpperNs(OutputLatency.bucketOf(1_000))) // 1007
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const bucketOf = (ns: number): number => {
  if (!(ns >= 1)) return 0 // also NaN
  if (ns < EXACT_BELOW_NS) return Math.floor(ns)
  if (ns >= 2 ** (TOP_EXPONENT + 1)) return OVERFLOW_BUCKET
  const v = Math.floor(ns) // < 2^31: int32 arithmetic from here
  const exponent = 31 - Math.clz32(v)
  const sub = (v >>> (exponent - SUB_BITS)) - SUB_BUCKETS
  return EXACT_BELOW_NS + (exponent - FIRST_EXPONENT) * SUB_BUCKETS + sub
}

/**
 * The largest whole-ns latency in bucket `i` (`Infinity` for the overflow bucket): what a percentile
 * reports, so it is an upper bound within 3.1%.
 *
 * @category layout
 * @since 0.1.0
 */
export const bucketUpperNs = (i: number): number => {
  if (i < EXACT_BELOW_NS) return i
  if (i >= OVERFLOW_BUCKET) return Infinity
  const group = Math.floor((i - EXACT_BELOW_NS) / SUB_BUCKETS)
  const sub = (i - EXACT_BELOW_NS) % SUB_BUCKETS
  const exponent = FIRST_EXPONENT + group
  const width = 2 ** (exponent - SUB_BITS)
  return 2 ** exponent + (sub + 1) * width - 1
}

/**
 * A fresh, zeroed latency buffer (recording off) to pass as the Output sink's `latency`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Bundler, Ingress, OrderBookStage, Output, OutputLatency } from "@velox/market"
 * import { NodePipelineRuntime } from "@velox/node"
 *
 * const latency = OutputLatency.make()
 * const pipeline = Pipeline.from(Ingress, { rate: 100_000 })
 *   .via(OrderBookStage, { symbols: 8 })
 *   .via(Bundler, {})
 *   .to(Output, { latency })
 *
 * NodePipelineRuntime.runMain(Effect.scoped(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* Effect.sleep("500 millis") // warm up
 *   OutputLatency.startRecording(latency)
 *   yield* Effect.sleep("2 seconds")
 *   OutputLatency.stopRecording(latency)
 *   yield* handle.stop
 *   yield* handle.done
 * })).pipe(Effect.andThen(Effect.sync(() => {
 *   const { closing } = OutputLatency.read(latency)
 *   console.log(`p50 ${OutputLatency.percentileNs(closing, 0.5)} ns, p99 ${OutputLatency.percentileNs(closing, 0.99)} ns`)
 * }))))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(BYTE_LENGTH)
  new Int32Array(buffer)[MAGIC_OFFSET >> 2] = MAGIC
  return buffer
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isLatency = (u: unknown): u is SharedArrayBuffer =>
  u instanceof SharedArrayBuffer && u.byteLength === BYTE_LENGTH && new Int32Array(u, 0, 1)[0] === MAGIC

/**
 * A latency buffer in a stage's config (`Output`'s and `Bundler`'s `latency`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const LatencyBuffer = Schema.declare(isLatency, { expected: "a latency buffer from OutputLatency.make()" })

/**
 * Switches recording on: the sink records every batch it starts from now on. Any thread.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startRecording = (buffer: SharedArrayBuffer): void => {
  // publish: the sink's next batch sees it.
  Atomics.store(new Int32Array(buffer), RECORDING_INDEX, 1)
}

/**
 * Switches recording off (the batch the sink is in, if any, still records). Any thread.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stopRecording = (buffer: SharedArrayBuffer): void => {
  // publish: the sink's next batch sees it.
  Atomics.store(new Int32Array(buffer), RECORDING_INDEX, 0)
}

/**
 * One histogram as read: how many bundles, their mean and largest latency, how many readings were
 * negative (clock calibration across threads), and the count per bucket.
 *
 * @category models
 * @since 0.1.0
 */
export interface HistogramSnapshot {
  readonly count: number
  readonly meanNs: number
  readonly maxNs: number
  readonly negatives: number
  readonly buckets: ReadonlyArray<number>
}

/**
 * The three histograms as read.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly closing: HistogramSnapshot
  readonly oldest: HistogramSnapshot
  readonly transaction: HistogramSnapshot
}

const readHistogram = (buffer: SharedArrayBuffer, offset: number): HistogramSnapshot => {
  const f = new Float64Array(buffer, offset, HEADER_WORDS + BUCKET_COUNT)
  const count = f[COUNT]!
  return {
    count,
    meanNs: count > 0 ? f[SUM]! / count : NaN,
    maxNs: count > 0 ? f[MAX]! : NaN,
    negatives: f[NEGATIVES]!,
    buckets: Array.from(f.subarray(HEADER_WORDS))
  }
}

/**
 * Reads the three histograms. Exact once the loops of their writers have ended (see the module comment).
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer): Snapshot => {
  if (!isLatency(buffer)) throw new TypeError(`not a latency buffer from OutputLatency.make() (${BYTE_LENGTH} bytes)`)
  return {
    closing: readHistogram(buffer, CLOSING_OFFSET),
    oldest: readHistogram(buffer, OLDEST_OFFSET),
    transaction: readHistogram(buffer, TRANSACTION_OFFSET)
  }
}

/**
 * The `q`-quantile (0 < q ≤ 1) of a histogram, as the upper bound of the bucket it falls in (within
 * 3.1% above the true value; exact below 64 ns). `NaN` for an empty histogram.
 *
 * @category metrics
 * @since 0.1.0
 */
export const percentileNs = (h: HistogramSnapshot, q: number): number => {
  if (!(q > 0 && q <= 1)) throw new RangeError(`q must be in (0, 1]: q=${q}`)
  if (h.count === 0) return NaN
  const rank = Math.ceil(q * h.count)
  let seen = 0
  for (let i = 0; i < h.buckets.length; i++) {
    seen += h.buckets[i]!
    if (seen >= rank) return Math.min(bucketUpperNs(i), h.maxNs)
  }
  return h.maxNs
}

/**
 * The writing side (the sink; the bundler for {@link TRANSACTION}): checks the recording word once per
 * batch and adds latencies. One thread per histogram.
 *
 * @category unsafe
 * @since 0.1.0
 */
export class Recorder {
  private readonly control: Int32Array
  private readonly histograms: ReadonlyArray<Float64Array>

  constructor(buffer: SharedArrayBuffer) {
    if (!isLatency(buffer)) {
      throw new TypeError(`latency must be a buffer from OutputLatency.make() (${BYTE_LENGTH} bytes, magic ${MAGIC})`)
    }
    this.control = new Int32Array(buffer, 0, 2)
    this.histograms = HISTOGRAM_OFFSETS.map((offset) => new Float64Array(buffer, offset, HEADER_WORDS + BUCKET_COUNT))
  }

  /** Whether to record this batch: one atomic load. */
  recording(): boolean {
    // acquire: a start/stop from another thread.
    return Atomics.load(this.control, RECORDING_INDEX) !== 0
  }

  /** Adds one latency of `ns` to `histogram`. */
  record(histogram: Histogram, ns: number): void {
    const h = this.histograms[histogram]!
    h[COUNT]! += 1
    if (ns < 0) {
      h[NEGATIVES]! += 1
      h[HEADER_WORDS]! += 1
      return
    }
    h[SUM]! += ns
    if (ns > h[MAX]!) h[MAX] = ns
    h[HEADER_WORDS + bucketOf(ns)]! += 1
  }
}
