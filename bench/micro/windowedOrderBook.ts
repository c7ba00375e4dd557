/**
 * BASELINE, for the `orderbook` suite only: the windowed book as it stood before the book took levels
 * at any distance (`packages/market/src/internal/kernel/orderBook.ts` at commit 13c0893), kept verbatim
 * but for this paragraph and the class name (`WindowedOrderBooks`), so that the suite measures today's
 * book and this one in the same run. Not used by any package.
 *
 * Exact price-level order books for many symbols (kernel tier).
 *
 * A level-based (L2) book: each side of each symbol holds, per integer price tick, the aggregate size
 * resting there. Updates are "add size at a price", "cancel size at a price", "trade size off the best
 * level" and "set a level's size". Best bid / best ask and every level are exact — unlike the bucketed
 * book of the original engine (16 ticks per level, best prices off by up to 15 ticks, a cancel at one
 * price zeroing another's size).
 *
 * Ladder. One ladder per (symbol, side): `windowTicks` f64 slots (a power of two) plus a bitmap of
 * non-empty slots. Tick `p` lives in slot `p & (windowTicks - 1)`, a ring over the price axis, so the
 * window *is* wherever the live levels are: when the price walks, the window re-centres for free —
 * nothing is copied, nothing is lost. The one rule that keeps this exact:
 *
 *   the live levels of one side span fewer than `windowTicks` ticks (worst − best < windowTicks).
 *
 * Then no two live ticks share a slot, and every empty tick inside the span reads an empty slot. An
 * update that would break the rule (a new level `windowTicks` or more away from the far end of its
 * side) is refused with {@link PRICE_OUT_OF_RANGE} and the book is unchanged. A stale far level does
 * hold the window back: cancel it (or {@link WindowedOrderBooks.clear} the symbol on a feed reset) and the
 * window moves on. Bids and asks have separate ladders, so only one side's own spread counts.
 *
 * Best prices are kept incrementally: each ladder keeps its highest and lowest live tick. An add is
 * the same code whether it opens a level or not (no data-dependent branch to mispredict). A scan
 * happens only when the best (or worst) level empties; it walks the bitmap 32 ticks per step and stops
 * at the next live level, which the rule above puts within `windowTicks` ticks. `levelCount` counts
 * the bitmap (a query, O(windowTicks / 32)); nothing else is O(levels).
 *
 * Sizes are integer lots in f64: integer sums are exact up to `Number.MAX_SAFE_INTEGER`, so a level
 * that received `a + b` and lost `a` then `b` is exactly empty. (Fractional sizes would leave dust and
 * are refused with {@link INVALID_SIZE}.) A crossed book (best bid ≥ best ask) is accepted: this is a
 * mirror of a feed, not a matching engine.
 *
 * Contract: every mutation returns the affected level's new size (≥ 0) or a negative code, and a
 * refused update leaves the book unchanged. Queries return a value ≥ 0 or a negative code. Not thread
 * safe: one thread owns a `WindowedOrderBooks`. No `effect` import, no allocation, closure or throw per update;
 * only the constructor throws (`RangeError` naming the bad value).
 *
 * Memory: `symbols × 2 × windowTicks × 8` bytes of sizes (plus 1/64 of that for bitmaps), allocated
 * once — 64 symbols with the default 4096-tick window is 4 MiB.
 */

/** The bid side (buyers). */
export const BID = 0 as const
/** The ask side (sellers). */
export const ASK = 1 as const
export type Side = typeof BID | typeof ASK

/** `bestBid` / `bestAsk` / `best` result for a side with no levels (valid ticks start at 1). */
export const EMPTY = 0 as const
/** `clear` result. */
export const OK = 0 as const

/**
 * The price is not an integer tick in `1 .. maxTick`, or taking it would make the side's live levels
 * span `windowTicks` ticks or more.
 */
export const PRICE_OUT_OF_RANGE = -1 as const
/** The size is not a positive integer (zero is allowed by `set` only), or is NaN / infinite. */
export const INVALID_SIZE = -2 as const
/** The level (or the size given) would exceed `Number.MAX_SAFE_INTEGER`, past which f64 sums are inexact. */
export const SIZE_OVERFLOW = -3 as const
/** A cancel (or trade) of more than the level holds; an empty level holds 0, an empty side has no best level. */
export const CANCEL_EXCEEDS_LEVEL = -4 as const
/** The symbol is not an integer index in `0 .. symbols - 1`. */
export const UNKNOWN_SYMBOL = -5 as const
/** The side is neither {@link BID} (0) nor {@link ASK} (1). */
export const INVALID_SIDE = -6 as const

export type ErrorCode =
  | typeof PRICE_OUT_OF_RANGE
  | typeof INVALID_SIZE
  | typeof SIZE_OVERFLOW
  | typeof CANCEL_EXCEEDS_LEVEL
  | typeof UNKNOWN_SYMBOL
  | typeof INVALID_SIDE

/** Default ladder length per side: 4096 ticks. */
export const DEFAULT_WINDOW_TICKS = 4096
/** Smallest ladder: one 32-bit bitmap word. */
export const MIN_WINDOW_TICKS = 32
/** Largest ladder: 2^24 ticks (128 MiB per side). */
export const MAX_WINDOW_TICKS = 1 << 24
/** Highest tick a book accepts: ticks are int32 so slot indexing is one `&`. Rebase larger grids. */
export const MAX_TICK = 0x7fffffff
/** Largest size a level may hold. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER

export interface OrderBooksOptions {
  /** Number of symbols; they are indexed `0 .. symbols - 1`. */
  readonly symbols: number
  /** Ladder length per side, a power of two in `32 .. 2^24`; default {@link DEFAULT_WINDOW_TICKS}. */
  readonly windowTicks?: number
  /** Highest valid tick, `1 .. 2^31 - 1`; default {@link MAX_TICK}. */
  readonly maxTick?: number
}

/** The code for a size that failed the good-path test (`min` ≤ size ≤ MAX_SIZE, an integer). */
const sizeCode = (size: number, min: number): number => {
  if (!(size >= min) || size === Infinity) return INVALID_SIZE // NaN, too small, infinite
  return size > MAX_SIZE ? SIZE_OVERFLOW : INVALID_SIZE // else it was not an integer
}

/** `lo` of an empty side: above every tick, so `min(lo, price)` opens the first level. */
const EMPTY_LO = 0x7fffffff

/**
 * The exact books of `symbols` symbols, both sides each: `add` / `cancel` / `trade` / `set` return the
 * level's new size or a negative code; `bestBid` / `bestAsk` / `levelSize` / `depth` read. One thread.
 */
export class WindowedOrderBooks {
  readonly symbols: number
  readonly windowTicks: number
  readonly maxTick: number
  /** Bytes held by ladders, bitmaps and best/worst words. */
  readonly byteLength: number
  /** Level sizes: ladder `l = symbol * 2 + side` owns slots `l * windowTicks ..`. */
  private readonly sizes: Float64Array
  /** Bit `i` of a ladder's bitmap is set iff slot `i` is non-empty. */
  private readonly bits: Int32Array
  /**
   * Per ladder, `[hi, lo]` at `2l`, `2l + 1`: the highest and lowest live ticks. An empty side is
   * `hi = 0, lo = EMPTY_LO` (ticks start at 1), so `hi === 0` means empty, `bestBid` is `hi` as is,
   * and the first add needs no special case: `max(0, p) = min(EMPTY_LO, p) = p`.
   */
  private readonly span: Int32Array
  private readonly mask: number
  private readonly shift: number
  private readonly wordShift: number
  private readonly wordMask: number

  constructor(options: OrderBooksOptions) {
    const symbols = options.symbols
    const windowTicks = options.windowTicks ?? DEFAULT_WINDOW_TICKS
    const maxTick = options.maxTick ?? MAX_TICK
    if (!Number.isInteger(symbols) || symbols < 1 || symbols > 1 << 24) {
      throw new RangeError(`symbols must be an integer in 1..${1 << 24}: symbols=${symbols}`)
    }
    if (
      !Number.isInteger(windowTicks) || windowTicks < MIN_WINDOW_TICKS || windowTicks > MAX_WINDOW_TICKS ||
      (windowTicks & (windowTicks - 1)) !== 0
    ) {
      throw new RangeError(
        `windowTicks must be a power of two in ${MIN_WINDOW_TICKS}..${MAX_WINDOW_TICKS}: windowTicks=${windowTicks}`
      )
    }
    if (!Number.isInteger(maxTick) || maxTick < 1 || maxTick > MAX_TICK) {
      throw new RangeError(`maxTick must be an integer in 1..${MAX_TICK}: maxTick=${maxTick}`)
    }
    const ladders = symbols * 2
    // Slot offsets are computed as int32 (`l << shift`): keep every ladder below 2^31 slots in all.
    if (ladders * windowTicks > 2 ** 31) {
      throw new RangeError(
        `symbols * 2 * windowTicks must be at most 2^31 slots: symbols=${symbols} windowTicks=${windowTicks}`
      )
    }
    this.symbols = symbols
    this.windowTicks = windowTicks
    this.maxTick = maxTick
    this.mask = windowTicks - 1
    this.shift = 31 - Math.clz32(windowTicks)
    this.wordShift = this.shift - 5
    this.wordMask = (windowTicks >>> 5) - 1
    this.sizes = new Float64Array(ladders * windowTicks)
    this.bits = new Int32Array(ladders * (windowTicks >>> 5))
    this.span = new Int32Array(ladders * 2)
    for (let l = 0; l < ladders; l++) this.span[2 * l + 1] = EMPTY_LO
    this.byteLength = this.sizes.byteLength + this.bits.byteLength + this.span.byteLength
  }

  // ---------------------------------------------------------------------------------------------
  // Mutations: new level size (>= 0) or a negative code; a refused update changes nothing.
  //
  // Validation is written inline, in the order symbol, side, price, size, with one combined test
  // on the good path (the JIT inlines these methods into a stage's loop; a call per check would not).

  /** Adds `size` lots at `price`. Returns the level's new size or a code. */
  add(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)) return sizeCode(size, 1)
    const l = symbol * 2 + side
    const span = this.span
    const hi = span[2 * l]!
    const lo = span[2 * l + 1]!
    // No branch on "is this a new level": a tick outside the live span reads an empty slot as long
    // as the new span fits the window, so opening a level and adding to one are the same code.
    const newHi = price > hi ? price : hi
    const newLo = price < lo ? price : lo
    if (newHi - newLo >= this.windowTicks) return PRICE_OUT_OF_RANGE
    const i = price & this.mask
    const at = (l << this.shift) + i
    const next = this.sizes[at]! + size
    if (next > MAX_SIZE) return SIZE_OVERFLOW
    this.sizes[at] = next
    span[2 * l] = newHi
    span[2 * l + 1] = newLo
    this.bits[(l << this.wordShift) + (i >>> 5)]! |= 1 << (i & 31)
    return next
  }

  /** Removes `size` lots at `price`; more than the level holds is refused. Returns the level's new size or a code. */
  cancel(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)) return sizeCode(size, 1)
    const l = symbol * 2 + side
    const hi = this.span[2 * l]!
    const lo = this.span[2 * l + 1]!
    // Outside the live span (or an empty side: hi = 0) the level is empty, whatever the slot holds.
    if (price > hi || price < lo) return CANCEL_EXCEEDS_LEVEL
    return this.take(l, price, hi, lo, size)
  }

  /**
   * Removes `size` lots from the best level of `side` (a trade against resting liquidity). More than
   * the best level holds, or an empty side, is refused. Returns that level's new size or a code; read
   * `best(symbol, side)` first for the traded price.
   */
  trade(symbol: number, side: number, size: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK))) {
      return this.checkCode(symbol, side)
    }
    if (!(size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)) return sizeCode(size, 1)
    const l = symbol * 2 + side
    const hi = this.span[2 * l]!
    if (hi === 0) return CANCEL_EXCEEDS_LEVEL
    const lo = this.span[2 * l + 1]!
    return this.take(l, side === BID ? hi : lo, hi, lo, size)
  }

  /** Sets the level at `price` to `size` lots (0 removes it), as L2 feeds send. Returns `size` or a code. */
  set(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 0 && size <= MAX_SIZE && Math.floor(size) === size)) return sizeCode(size, 0)
    const l = symbol * 2 + side
    const span = this.span
    const hi = span[2 * l]!
    const lo = span[2 * l + 1]!
    if (size === 0) {
      if (price > hi || price < lo) return 0
      const old = this.sizes[(l << this.shift) + (price & this.mask)]!
      return old === 0 ? 0 : this.take(l, price, hi, lo, old)
    }
    const newHi = price > hi ? price : hi
    const newLo = price < lo ? price : lo
    if (newHi - newLo >= this.windowTicks) return PRICE_OUT_OF_RANGE
    const i = price & this.mask
    this.sizes[(l << this.shift) + i] = size
    span[2 * l] = newHi
    span[2 * l + 1] = newLo
    this.bits[(l << this.wordShift) + (i >>> 5)]! |= 1 << (i & 31)
    return size
  }

  /** Empties both sides of `symbol` (a feed reset or snapshot start). Returns {@link OK} or a code. */
  clear(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    for (let l = symbol * 2; l < symbol * 2 + 2; l++) {
      const hi = this.span[2 * l]!
      if (hi === 0) continue
      // Zero only the live span (at most one full ladder), wrapping at the ladder's end.
      const base = l << this.shift
      const length = hi - this.span[2 * l + 1]! + 1
      const from = this.span[2 * l + 1]! & this.mask
      const first = Math.min(length, this.windowTicks - from)
      this.sizes.fill(0, base + from, base + from + first)
      if (length > first) this.sizes.fill(0, base, base + length - first)
      const wordBase = l << this.wordShift
      this.bits.fill(0, wordBase, wordBase + (this.windowTicks >>> 5))
      this.span[2 * l] = 0
      this.span[2 * l + 1] = EMPTY_LO
    }
    return OK
  }

  // ---------------------------------------------------------------------------------------------
  // Queries.

  /** Highest bid tick, {@link EMPTY} (0) when there are no bids, or {@link UNKNOWN_SYMBOL}. */
  bestBid(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    return this.span[4 * symbol]! // hi of the bid ladder: 0 (EMPTY) when empty
  }

  /** Lowest ask tick, {@link EMPTY} (0) when there are no asks, or {@link UNKNOWN_SYMBOL}. */
  bestAsk(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    return this.span[4 * symbol + 2] === 0 ? EMPTY : this.span[4 * symbol + 3]!
  }

  /** Best tick of `side` (highest bid, lowest ask), {@link EMPTY} when the side is empty, or a code. */
  best(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return INVALID_SIDE
    const l = symbol * 2 + side
    const hi = this.span[2 * l]!
    return hi === 0 ? EMPTY : side === BID ? hi : this.span[2 * l + 1]!
  }

  /** Worst (farthest from the top) tick of `side`, {@link EMPTY} when the side is empty, or a code. */
  worst(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return INVALID_SIDE
    const l = symbol * 2 + side
    const hi = this.span[2 * l]!
    return hi === 0 ? EMPTY : side === BID ? this.span[2 * l + 1]! : hi
  }

  /** Size resting at `price` (0 when no level), or a code ({@link PRICE_OUT_OF_RANGE} for a non-tick price). */
  levelSize(symbol: number, side: number, price: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    const l = symbol * 2 + side
    // Outside the live span the slot may hold another tick's level (the ring wraps): read 0.
    if (price > this.span[2 * l]! || price < this.span[2 * l + 1]!) return 0
    return this.sizes[(l << this.shift) + (price & this.mask)]!
  }

  /** Number of non-empty levels on `side`, or a code. Counts the bitmap: O(windowTicks / 32), a query, not for every update. */
  levelCount(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return INVALID_SIDE
    const from = (symbol * 2 + side) << this.wordShift
    let n = 0
    for (let w = from; w < from + (this.windowTicks >>> 5); w++) {
      let x = this.bits[w]!
      x = x - ((x >>> 1) & 0x55555555)
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
      n += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
    }
    return n
  }

  /**
   * Writes the top `n` levels of `side`, best first, into `out` as `price, size` pairs
   * (`out[2k]` = price, `out[2k + 1]` = size). Writes at most `out.length >> 1` levels and touches
   * nothing past them. Returns the number of levels written, or a code.
   */
  depth(symbol: number, side: number, n: number, out: Float64Array): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return INVALID_SIDE
    const l = symbol * 2 + side
    const hi = this.span[2 * l]!
    let k = Math.min(n, out.length >> 1)
    if (!(k >= 1) || hi === 0) return 0 // also n <= 0 or NaN
    k = Math.floor(k)
    const lo = this.span[2 * l + 1]!
    const base = l << this.shift
    const mask = this.mask
    const sizes = this.sizes
    let price = side === BID ? hi : lo
    const last = side === BID ? lo : hi
    for (let i = 0; ; ) {
      out[2 * i] = price
      out[2 * i + 1] = sizes[base + (price & mask)]!
      if (++i === k || price === last) return i
      // A live level remains before `last`, so the scan ends within the window.
      price = side === BID ? this.below(l, price) : this.above(l, price)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals.

  /** The code for a failed symbol / side / price test (the price is the only one left). */
  private checkCode(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return INVALID_SIDE
    return PRICE_OUT_OF_RANGE
  }

  /** Takes `size` (> 0) off the live-span level at `price`; empties it (moving hi / lo) when it reaches 0. */
  private take(l: number, price: number, hi: number, lo: number, size: number): number {
    const i = price & this.mask
    const at = (l << this.shift) + i
    const old = this.sizes[at]!
    if (size > old) return CANCEL_EXCEEDS_LEVEL // also an empty level inside the span
    const next = old - size
    this.sizes[at] = next
    if (next !== 0) return next
    this.bits[(l << this.wordShift) + (i >>> 5)]! &= ~(1 << (i & 31))
    if (price === hi) {
      if (price === lo) {
        this.span[2 * l] = 0
        this.span[2 * l + 1] = EMPTY_LO
      } else this.span[2 * l] = this.below(l, price)
    } else if (price === lo) this.span[2 * l + 1] = this.above(l, price)
    return 0
  }

  /** Highest live tick below `price`. Precondition: one exists (≥ lo). */
  private below(l: number, price: number): number {
    const bits = this.bits
    const wordBase = l << this.wordShift
    let t = price - 1
    const idx = t & this.mask
    let w = idx >>> 5
    let bit = idx & 31
    let word = bits[wordBase + w]! & ~(-2 << bit) // bits 0..bit (int32 all the way, also for bit 31)
    while (word === 0) {
      t -= bit + 1 // now the tick at bit 31 of the previous word
      w = (w - 1) & this.wordMask
      word = bits[wordBase + w]!
      bit = 31
    }
    return t - (bit - (31 - Math.clz32(word)))
  }

  /** Lowest live tick above `price`. Precondition: one exists (≤ hi). */
  private above(l: number, price: number): number {
    const bits = this.bits
    const wordBase = l << this.wordShift
    let t = price + 1
    const idx = t & this.mask
    let w = idx >>> 5
    let bit = idx & 31
    let word = bits[wordBase + w]! & (-1 << bit) // bits bit..31
    while (word === 0) {
      t += 32 - bit // now the tick at bit 0 of the next word
      w = (w + 1) & this.wordMask
      word = bits[wordBase + w]!
      bit = 0
    }
    return t + ((31 - Math.clz32(word & -word)) - bit)
  }
}
