/**
 * A latency histogram for one writer (the main thread's dispatcher): log-linear buckets, 16 per power
 * of two from 1 µs to 2^37 ns (~137 s), so a quantile read from it is within 1/16 (6.25 %) of the true
 * value above 1 µs. Recording reads the bucket from the number's bits (exponent, top mantissa bits) and adds;
 * nothing is allocated.
 * Negative readings (the publisher's clock ahead of ours) are counted apart and recorded as 0.
 */

const SUB_BUCKETS = 16
const FIRST_EXPONENT = 10 // 2^10 ns ≈ 1 µs: everything below lands in bucket 0
const LAST_EXPONENT = 36
const BUCKETS = 1 + (LAST_EXPONENT - FIRST_EXPONENT + 1) * SUB_BUCKETS + 1
const POWERS: ReadonlyArray<number> = Array.from({ length: 64 }, (_, e) => 2 ** e)

/** The bucket of `ns` (≥ 0), from its bits: the exponent and the top 4 bits of the mantissa (no log). */
const bucketOf = (ns: number, bits: { readonly f64: Float64Array; readonly high: Uint32Array }): number => {
  if (ns < POWERS[FIRST_EXPONENT]!) return 0
  bits.f64[0] = ns
  const high = bits.high[HIGH_WORD]!
  const e = (high >>> 20) - 1023
  if (e > LAST_EXPONENT) return BUCKETS - 1
  return 1 + (e - FIRST_EXPONENT) * SUB_BUCKETS + ((high >>> 16) & (SUB_BUCKETS - 1))
}

/** The word of a double that holds its sign, exponent and top 20 mantissa bits (the platform's byte order). */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0

/** The upper bound of bucket `b`, in ns. */
const upperBoundOf = (b: number): number => {
  if (b === 0) return POWERS[FIRST_EXPONENT]!
  if (b === BUCKETS - 1) return Infinity
  const e = FIRST_EXPONENT + Math.floor((b - 1) / SUB_BUCKETS)
  const sub = (b - 1) % SUB_BUCKETS
  return POWERS[e]! * (1 + (sub + 1) / SUB_BUCKETS)
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS)
  /** A double's memory, read as words. */
  private readonly bits = (() => {
    const f64 = new Float64Array(1)
    return { f64, high: new Uint32Array(f64.buffer) }
  })()
  count = 0
  negatives = 0
  maxNs = 0
  sumNs = 0

  record(ns: number): void {
    if (!(ns >= 0)) {
      this.negatives++
      ns = 0
    }
    this.counts[bucketOf(ns, this.bits)]! += 1
    this.count++
    this.sumNs += ns
    if (ns > this.maxNs) this.maxNs = ns
  }

  /** The upper bound (ns) of the bucket holding the `q`-quantile (0 < q ≤ 1); NaN when empty. */
  quantileNs(q: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!
      if (seen >= rank) return Math.min(upperBoundOf(b), this.maxNs)
    }
    return this.maxNs
  }

  reset(): void {
    this.counts.fill(0)
    this.count = 0
    this.negatives = 0
    this.maxNs = 0
    this.sumNs = 0
  }
}
