/**
 * Exact duplicate detection over a sliding window of sequence numbers: the anti-replay window of IPsec
 * (RFC 4303, 3.4.3). One bit per sequence in the `size` sequences up to the highest seen; a sequence
 * above the highest slides the window (clearing the bits it passes), one inside it is new unless its
 * bit is set, and one below the window is reported as too old (it cannot be told apart, and is
 * treated as a duplicate). Memory: `size / 8` bytes, whatever the input. No effect import, no
 * allocation per check.
 *
 * Sequences need not be consecutive (a partition sees a subset), only mostly rising.
 */

/** `check` results. */
export const NEW = 0 as const
export const DUPLICATE = 1 as const
export const TOO_OLD = 2 as const
export type CheckResult = typeof NEW | typeof DUPLICATE | typeof TOO_OLD

export class DedupWindow {
  private readonly bits: Uint32Array
  private readonly size: number
  /** The highest sequence seen; -1 before any. */
  private highest = -1

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 32 && (size & (size - 1)) === 0 && size <= 2 ** 30)) {
      throw new RangeError(`a dedup window's size must be a power of two in 32..2^30: size=${size}`)
    }
    this.size = size
    this.bits = new Uint32Array(size >>> 5)
  }

  /** Whether `seq` (a non-negative safe integer) was seen before; marks it seen. */
  check(seq: number): CheckResult {
    const size = this.size
    if (seq > this.highest) {
      if (seq - this.highest >= size) this.bits.fill(0)
      else for (let s = this.highest + 1; s < seq; s++) this.clear(s % size)
      this.highest = seq
      this.set(seq % size)
      return NEW
    }
    if (seq <= this.highest - size) return TOO_OLD
    const i = seq % size
    if ((this.bits[i >>> 5]! & (1 << (i & 31))) !== 0) return DUPLICATE
    this.set(i)
    return NEW
  }

  private set(i: number): void {
    this.bits[i >>> 5]! |= 1 << (i & 31)
  }

  private clear(i: number): void {
    this.bits[i >>> 5]! &= ~(1 << (i & 31))
  }
}
