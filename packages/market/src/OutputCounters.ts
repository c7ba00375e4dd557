/**
 * The counters of the engine's {@link Output} sink, in a `SharedArrayBuffer` the sink writes (in its
 * own thread) and any thread reads: bundles and transactions received, their checksum, flushes per
 * reason. Pass the buffer in the sink's config (`counters`); read it with {@link read}.
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic  i32           │ sequence  i32        │  magic: make(), plain, once
 *          │ 0x7E1B0C01           │ (seqlock)            │  sequence: the sink, Atomics.store
 *  byte  8 ├──────────────────────┴──────────────────────┤
 *          │ bundles         f64                         │  ┐
 *  byte 16 ├─────────────────────────────────────────────┤  │
 *          │ transactions    f64  (sum of bundle counts) │  │
 *  byte 24 ├─────────────────────────────────────────────┤  │
 *          │ checksum        f64  (see checksumOf)       │  │ the sink, Atomics.store of
 *  byte 32 ├─────────────────────────────────────────────┤  │ both 32-bit halves, between
 *          │ sizeFlushes     f64                         │  │ the two sequence stores
 *  byte 40 ├─────────────────────────────────────────────┤  │
 *          │ timeoutFlushes  f64                         │  │
 *  byte 48 ├─────────────────────────────────────────────┤  │
 *          │ drainFlushes    f64                         │  ┘
 *  byte 56 └─────────────────────────────────────────────┘
 * ```
 *
 * One writer (the sink's loop), so no padding between fields. The counts are f64 (exact to 2^53) and
 * no f64 can be stored atomically, so the sink updates them once per batch inside a seqlock: the
 * sequence goes odd, each count is stored as its two 32-bit halves, the sequence goes even again —
 * every one of those an `Atomics.store`. A reader takes the sequence, loads the halves, and takes the
 * sequence again (all `Atomics.load`); an odd or changed sequence means it raced an update, and it
 * retries. The halves are atomic too: JS `Atomics` are sequentially consistent among themselves, but
 * the memory model does not order plain accesses against them for another thread's racing reads, so
 * only all-atomic accesses make an unchanged even sequence mean a consistent snapshot. Fourteen atomic
 * stores per batch, not per record. A reader never gives up on a live writer (a sequence that keeps
 * moving); only a sequence stuck odd — a sink killed mid-update — ends the retries, with the counts as
 * they stand.
 *
 * A restarted sink continues from the counts in the buffer. The counts are of delivered bundles:
 * across a crash of the sink's pass they may count a redelivered bundle twice (at-least-once, like any
 * side effect of a sink).
 *
 * @since 0.1.0
 */

/**
 * The first word of a counters buffer.
 *
 * @category layout
 * @since 0.1.0
 */
export const MAGIC = 0x7e1b0c01

/**
 * Byte offsets of the fields (see the drawing).
 *
 * @category layout
 * @since 0.1.0
 */
export const MAGIC_OFFSET = 0
/** @category layout @since 0.1.0 */
export const SEQUENCE_OFFSET = 4
/** @category layout @since 0.1.0 */
export const BUNDLES_OFFSET = 8
/** @category layout @since 0.1.0 */
export const TRANSACTIONS_OFFSET = 16
/** @category layout @since 0.1.0 */
export const CHECKSUM_OFFSET = 24
/** @category layout @since 0.1.0 */
export const SIZE_FLUSHES_OFFSET = 32
/** @category layout @since 0.1.0 */
export const TIMEOUT_FLUSHES_OFFSET = 40
/** @category layout @since 0.1.0 */
export const DRAIN_FLUSHES_OFFSET = 48

/**
 * The size of a counters buffer in bytes.
 *
 * @category layout
 * @since 0.1.0
 */
export const BYTE_LENGTH = 56

const SEQUENCE_INDEX = SEQUENCE_OFFSET >> 2
/** Int32 index of the low half of each count, in Snapshot order. */
const BUNDLES = BUNDLES_OFFSET >> 2
const TRANSACTIONS = TRANSACTIONS_OFFSET >> 2
const CHECKSUM = CHECKSUM_OFFSET >> 2
const SIZE_FLUSHES = SIZE_FLUSHES_OFFSET >> 2
const TIMEOUT_FLUSHES = TIMEOUT_FLUSHES_OFFSET >> 2
const DRAIN_FLUSHES = DRAIN_FLUSHES_OFFSET >> 2

/** Splits an f64 into its 32-bit halves and back (platform byte order, as the buffer's Float64Array). */
class Halves {
  private readonly f64 = new Float64Array(1)
  private readonly i32 = new Int32Array(this.f64.buffer)

  store(words: Int32Array, index: number, value: number): void {
    this.f64[0] = value
    Atomics.store(words, index, this.i32[0]!)
    Atomics.store(words, index + 1, this.i32[1]!)
  }

  load(words: Int32Array, index: number): number {
    this.i32[0] = Atomics.load(words, index)
    this.i32[1] = Atomics.load(words, index + 1)
    return this.f64[0]!
  }
}

const readerHalves = new Halves()

/**
 * The checksum is a sum modulo 2^48, so it does not depend on the order bundles arrive in and every
 * step is exact in f64.
 *
 * @category layout
 * @since 0.1.0
 */
export const CHECKSUM_MODULUS = 2 ** 48

const mod = (x: number): number => {
  const r = x % CHECKSUM_MODULUS
  return r < 0 ? r + CHECKSUM_MODULUS : r
}

/**
 * Folds one bundle into a checksum: `(acc + firstTxId + lastTxId + count) mod 2^48`, each term reduced
 * first so the sum stays exact. A reference (a plain loop, a test) computes the same value.
 *
 * @example
 * ```ts
 * import { OutputCounters } from "@velox/market"
 *
 * let sum = 0
 * sum = OutputCounters.checksumOf(sum, 0, 15, 16)
 * sum = OutputCounters.checksumOf(sum, 16, 19, 4)
 * console.log(sum) // 70
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const checksumOf = (acc: number, firstTxId: number, lastTxId: number, count: number): number =>
  mod(acc + mod(firstTxId) + mod(lastTxId) + count)

/**
 * A consistent reading of the counters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly bundles: number
  readonly transactions: number
  readonly checksum: number
  readonly sizeFlushes: number
  readonly timeoutFlushes: number
  readonly drainFlushes: number
}

/**
 * A fresh, zeroed counters buffer to pass as the Output sink's `counters`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Output, OutputCounters } from "@velox/market"
 *
 * const counters = OutputCounters.make()
 * // … Pipeline.from(…).via(…).to(Output, { counters }) … run it, then:
 * console.log(OutputCounters.read(counters).transactions)
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
export const isCounters = (u: unknown): u is SharedArrayBuffer =>
  u instanceof SharedArrayBuffer && u.byteLength === BYTE_LENGTH && new Int32Array(u, 0, 1)[0] === MAGIC

/**
 * Reads a consistent snapshot (retrying while the sink is mid-update). Any thread.
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer): Snapshot => {
  const words = new Int32Array(buffer)
  const h = readerHalves
  let stuck = 0
  let previous = NaN
  for (;;) {
    // acquire: an even sequence means the counts of the update that set it are visible.
    const before = Atomics.load(words, SEQUENCE_INDEX)
    const snapshot: Snapshot = {
      bundles: h.load(words, BUNDLES),
      transactions: h.load(words, TRANSACTIONS),
      checksum: h.load(words, CHECKSUM),
      sizeFlushes: h.load(words, SIZE_FLUSHES),
      timeoutFlushes: h.load(words, TIMEOUT_FLUSHES),
      drainFlushes: h.load(words, DRAIN_FLUSHES)
    }
    // acquire: unchanged, so no update overlapped the loads above.
    if ((before & 1) === 0 && Atomics.load(words, SEQUENCE_INDEX) === before) return snapshot
    // A writer that keeps updating is alive: retry. One stuck mid-update (odd, unchanging) died there.
    stuck = before === previous ? stuck + 1 : 0
    previous = before
    if (stuck >= MAX_STUCK_READS) return snapshot
  }
}

/** An update takes nanoseconds: this many reads of the same odd sequence mean its writer died. */
const MAX_STUCK_READS = 1_000_000

/**
 * The sink's side: running totals in locals, published to the buffer once per batch. One thread.
 *
 * @category unsafe
 * @since 0.1.0
 */
export class Writer {
  bundles: number
  transactions: number
  checksum: number
  sizeFlushes: number
  timeoutFlushes: number
  drainFlushes: number
  private readonly words: Int32Array | undefined
  private readonly halves = new Halves()

  /** Starts from the buffer's counts (a restarted sink continues), or from zero without a buffer. */
  constructor(buffer: SharedArrayBuffer | undefined) {
    if (buffer !== undefined && !isCounters(buffer)) {
      throw new TypeError(`counters must be a buffer from OutputCounters.make() (${BYTE_LENGTH} bytes, magic ${MAGIC})`)
    }
    this.words = buffer === undefined ? undefined : new Int32Array(buffer)
    const start = buffer === undefined ? undefined : read(buffer)
    this.bundles = start?.bundles ?? 0
    this.transactions = start?.transactions ?? 0
    this.checksum = start?.checksum ?? 0
    this.sizeFlushes = start?.sizeFlushes ?? 0
    this.timeoutFlushes = start?.timeoutFlushes ?? 0
    this.drainFlushes = start?.drainFlushes ?? 0
  }

  /** Publishes the totals: one seqlock update. */
  publish(): void {
    const words = this.words
    if (words === undefined) return
    const h = this.halves
    // Even, also after a predecessor died mid-update (odd).
    const sequence = Atomics.load(words, SEQUENCE_INDEX) & ~1
    // publish: odd, readers retry until the update below is complete.
    Atomics.store(words, SEQUENCE_INDEX, (sequence + 1) | 0)
    h.store(words, BUNDLES, this.bundles)
    h.store(words, TRANSACTIONS, this.transactions)
    h.store(words, CHECKSUM, this.checksum)
    h.store(words, SIZE_FLUSHES, this.sizeFlushes)
    h.store(words, TIMEOUT_FLUSHES, this.timeoutFlushes)
    h.store(words, DRAIN_FLUSHES, this.drainFlushes)
    // publish: even again, the counts above are one consistent snapshot.
    Atomics.store(words, SEQUENCE_INDEX, (sequence + 2) | 0)
  }
}
