/**
 * Synthetic order flow for the engine's ingress (kernel tier): a seeded, deterministic generator of
 * transactions near a walking mid price per symbol, which an exact order book accepts in full.
 *
 * Per symbol there is a mid price (ticks) that walks ±1 tick now and then. Resting size lives in a
 * band of {@link BAND_TICKS} ticks on each side of the mid: bids at `mid - BAND_TICKS .. mid - 1`, asks
 * at `mid + 1 .. mid + BAND_TICKS`. Each transaction is one of
 *
 * - **Add**: size 1..100 at 1..BAND_TICKS ticks from the mid, mostly near the top (distance
 *   `1 + ⌊u²·BAND_TICKS⌋`, u uniform);
 * - **Cancel**: part or all of a resting level (a random level in the band, else the best level);
 * - **Trade**: part of the best level of a side (`side` is the resting side the trade takes from,
 *   `price` its best tick — what `OrderBooks.trade(symbol, side, size)` takes);
 *
 * in proportions {@link ADD_SHARE}/{@link CANCEL_SHARE}/the rest. When the mid walks, one tick leaves
 * the band at each end: the level there (if any) is **swept** before anything else happens to that
 * symbol — a level the mid walked through is traded away in full (the price moved through it), a level
 * that fell off the far end is cancelled in full (a stale order pulled). The mid walks only when no
 * sweep is pending.
 *
 * Exactness: the generator keeps, per symbol and side, the size it has put at each tick (a ring-indexed
 * ladder of {@link LADDER_TICKS} slots, like the order book's own), so every cancel and trade takes at
 * most what the level holds, and every trade's side is non-empty. By the band rule a side's live levels
 * never span more than `BAND_TICKS + 1` ticks, so any exact book whose window holds 32 ticks or more
 * (every `OrderBooks` window) accepts every valid transaction. Memory is bounded:
 * `symbols × 2 × LADDER_TICKS × 8` bytes (4096 symbols: 2 MiB), allocated once.
 *
 * Invalid transactions. With `invalidFraction > 0`, that fraction of transactions carry exactly one
 * defect, cycling through {@link INVALID_VARIANTS} (bad side, bad kind, zero / NaN / fractional /
 * unsafe price, zero / infinite / fractional size, an out-of-range symbol). They do not touch the
 * tracked book; a validating stage dead-letters them.
 *
 * The generator is `next()`: it writes the transaction into the public fields (`id`, `symbol`, `side`,
 * `kind`, `price`, `size`). No allocation, no closure per transaction, no `effect` import.
 */

/** Ticks on each side of the mid where resting size may live. */
export const BAND_TICKS = 16
/** Slots per tracked ladder: a power of two above the widest live span (`BAND_TICKS + 1`). */
export const LADDER_TICKS = 32
const LADDER_MASK = LADDER_TICKS - 1
/** Largest add, in lots. */
export const MAX_ADD_SIZE = 100
/** Largest partial trade, in lots (sweeps take the whole level). */
export const MAX_TRADE_SIZE = 50
/** Share of regular transactions that are adds (512/1024). */
export const ADD_SHARE = 0.5
/** Share of regular transactions that are cancels (358/1024; the rest, about 0.15, are trades). */
export const CANCEL_SHARE = 358 / 1024
/** Chance, per transaction of a symbol with no pending sweep, that its mid walks one tick first. */
export const WALK_PROBABILITY = 1 / 32
const ADD_BELOW = ADD_SHARE * 1024
const CANCEL_BELOW = ADD_BELOW + CANCEL_SHARE * 1024
/**
 * Add distances from the mid, by 8 random bits: `1 + ⌊u²·BAND_TICKS⌋` for u = i/256 — a table instead
 * of a multiply and a floor per add, and most adds land near the top.
 */
const ADD_DISTANCE = Uint8Array.from({ length: 256 }, (_, i) => 1 + Math.floor((i / 256) ** 2 * BAND_TICKS))
/** Most symbols a generator tracks. */
export const MAX_SYMBOLS = 65_536
/** The mid of symbol `s` starts at `FIRST_MID + s * MID_SPACING` ticks. */
export const FIRST_MID = 10_000
export const MID_SPACING = 100
/** The mid stays within `MIN_MID .. MAX_MID`, so every band tick is a valid price (≥ 1, < 2^31). */
const MIN_MID = BAND_TICKS + 2
const MAX_MID = 0x7fffffff - BAND_TICKS - 2

/** The defects invalid transactions carry, in the order they cycle. */
export const INVALID_VARIANTS = [
  "BadSide",
  "BadKind",
  "NonPositivePrice",
  "NonFinitePrice",
  "NonIntegerPrice",
  "Overflow",
  "NonPositiveSize",
  "NonFiniteSize",
  "NonIntegerSize",
  "SymbolOutOfRange"
] as const

const BID = 0
const ASK = 1
const ADD = 0
const CANCEL = 1
const TRADE = 2
/** `hi` of an empty side: below every tick. */
const EMPTY_HI = 0
/** `lo` of an empty side: above every tick. */
const EMPTY_LO = 0x7fffffff
const TWO_POW_32 = 4294967296

/**
 * A small fast PRNG (sfc32, 128 bits of state), seeded through splitmix32. Allocation-free.
 */
export class Sfc32 {
  private a = 0
  private b = 0
  private c = 0
  private d = 0

  constructor(seed: number) {
    let s = seed | 0
    const mix = (): number => {
      // splitmix32: spreads a small seed over the whole state.
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
      return z ^ (z >>> 15)
    }
    this.a = mix()
    this.b = mix()
    this.c = mix()
    this.d = mix()
    for (let i = 0; i < 16; i++) this.nextU32()
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A uniform number in [0, 1). */
  nextUnit(): number {
    return this.nextU32() / TWO_POW_32
  }

  /** A uniform number in (0, 1]: never 0, so `-log(u)` is finite. */
  nextOpenUnit(): number {
    return (this.nextU32() + 1) / TWO_POW_32
  }

  /** A uniform integer in `0 .. n - 1` (n ≤ 2^32). */
  nextInt(n: number): number {
    return Math.floor(this.nextUnit() * n)
  }
}

export interface OrderFlowOptions {
  /** Symbols `0 .. symbols - 1`, chosen uniformly. */
  readonly symbols: number
  /** Any integer; the same seed gives the same flow. */
  readonly seed: number
  /** Fraction of transactions carrying one defect, in [0, 1]; default 0. */
  readonly invalidFraction?: number
}

/** Generates transactions; see the module comment. One thread. */
export class OrderFlow {
  readonly symbols: number
  readonly invalidFraction: number

  // The transaction `next()` produced.
  id = -1
  symbol = 0
  side = 0
  kind = 0
  price = 0
  size = 0

  /** Transactions generated per kind (valid ones), and invalid ones: for tests and statistics. */
  adds = 0
  cancels = 0
  trades = 0
  sweeps = 0
  invalid = 0

  private readonly random: Sfc32
  private readonly mids: Int32Array
  /** Tracked size per tick: ladder `l = symbol * 2 + side` owns slots `l * LADDER_TICKS ..`. */
  private readonly sizes: Float64Array
  /** Highest live tick per ladder (`EMPTY_HI` when empty). */
  private readonly his: Int32Array
  /** Lowest live tick per ladder (`EMPTY_LO` when empty). */
  private readonly los: Int32Array
  /** Per symbol, 1 while a walk may have left a level to sweep. */
  private readonly pending: Uint8Array
  private nextInvalid = 0

  constructor(options: OrderFlowOptions) {
    const { seed, symbols } = options
    const invalidFraction = options.invalidFraction ?? 0
    if (!Number.isInteger(symbols) || symbols < 1 || symbols > MAX_SYMBOLS) {
      throw new RangeError(`symbols must be an integer in 1..${MAX_SYMBOLS}: symbols=${symbols}`)
    }
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer: seed=${seed}`)
    if (!(invalidFraction >= 0 && invalidFraction <= 1)) {
      throw new RangeError(`invalidFraction must be in 0..1: invalidFraction=${invalidFraction}`)
    }
    this.symbols = symbols
    this.invalidFraction = invalidFraction
    this.random = new Sfc32(seed)
    this.mids = new Int32Array(symbols)
    for (let s = 0; s < symbols; s++) this.mids[s] = FIRST_MID + s * MID_SPACING
    this.sizes = new Float64Array(symbols * 2 * LADDER_TICKS)
    this.his = new Int32Array(symbols * 2).fill(EMPTY_HI)
    this.los = new Int32Array(symbols * 2).fill(EMPTY_LO)
    this.pending = new Uint8Array(symbols)
  }

  /** The mid price of `symbol`, in ticks. */
  mid(symbol: number): number {
    return this.mids[symbol]!
  }

  /** The size the generator has resting at `price` on `side` of `symbol` (what an exact book holds). */
  levelSize(symbol: number, side: number, price: number): number {
    const l = symbol * 2 + side
    if (price < this.los[l]! || price > this.his[l]!) return 0
    return this.sizes[l * LADDER_TICKS + (price & LADDER_MASK)]!
  }

  /** Best tick of a side (0 when empty). */
  best(symbol: number, side: number): number {
    const l = symbol * 2 + side
    if (this.his[l] === EMPTY_HI) return 0
    return side === BID ? this.his[l]! : this.los[l]!
  }

  /** Produces the next transaction into `id`, `symbol`, `side`, `kind`, `price`, `size`. */
  next(): void {
    const r = this.random
    this.id++
    // Two draws per transaction: the symbol, and 32 bits sliced for the rest (side: bit 0, walk: bits
    // 1-5, walk direction: bit 6, kind: bits 7-16, add distance: bits 17-24) — fewer PRNG calls.
    const s = Math.floor(r.nextUnit() * this.symbols)
    this.symbol = s
    if (this.invalidFraction > 0 && r.nextUnit() < this.invalidFraction) {
      this.makeInvalid(s)
      return
    }
    // A flag, not the four comparisons of sweep(): only a walk leaves levels to sweep.
    if (this.pending[s] !== 0) {
      if (this.sweep(s)) return
      this.pending[s] = 0
    }
    const bits = r.nextU32()
    if (((bits >>> 1) & 31) === 0) {
      const m = this.mids[s]!
      let step = (bits & 64) === 0 ? -1 : 1
      if (m + step < MIN_MID || m + step > MAX_MID) step = -step
      this.mids[s] = m + step
      if (this.sweep(s)) {
        this.pending[s] = 1
        return
      }
    }
    const side = bits & 1
    const k = (bits >>> 7) & 1023
    const l = s * 2 + side
    if (k < ADD_BELOW || this.his[l] === EMPTY_HI) this.add(s, side, ADD_DISTANCE[(bits >>> 17) & 255]!)
    else if (k < CANCEL_BELOW) this.cancel(s, side)
    else this.trade(s, side)
  }

  /** Emits the sweep of one level the mid left behind, if any; returns whether it did. */
  private sweep(s: number): boolean {
    const m = this.mids[s]!
    const bid = s * 2 + BID
    const ask = s * 2 + ASK
    // Only the tick that just left the band can be out of it: one level per side end at most.
    if (this.his[bid] !== EMPTY_HI) {
      if (this.his[bid]! >= m) return this.sweepLevel(s, BID, this.his[bid]!, TRADE)
      if (this.los[bid]! < m - BAND_TICKS) return this.sweepLevel(s, BID, this.los[bid]!, CANCEL)
    }
    if (this.his[ask] !== EMPTY_HI) {
      if (this.los[ask]! <= m) return this.sweepLevel(s, ASK, this.los[ask]!, TRADE)
      if (this.his[ask]! > m + BAND_TICKS) return this.sweepLevel(s, ASK, this.his[ask]!, CANCEL)
    }
    return false
  }

  private sweepLevel(s: number, side: number, price: number, kind: number): boolean {
    const l = s * 2 + side
    const size = this.sizes[l * LADDER_TICKS + (price & LADDER_MASK)]!
    this.emitValid(s, side, kind, price, size)
    this.remove(l, price, size)
    this.sweeps++
    return true
  }

  private add(s: number, side: number, distance: number): void {
    const m = this.mids[s]!
    // Bids below the mid, asks above: side 0 → -1, side 1 → +1.
    const price = m + (2 * side - 1) * distance
    const size = 1 + this.random.nextInt(MAX_ADD_SIZE)
    const l = s * 2 + side
    this.sizes[l * LADDER_TICKS + (price & LADDER_MASK)]! += size
    if (price > this.his[l]!) this.his[l] = price
    if (price < this.los[l]!) this.los[l] = price
    this.emitValid(s, side, ADD, price, size)
    this.adds++
  }

  private cancel(s: number, side: number): void {
    const r = this.random
    const l = s * 2 + side
    const base = l * LADDER_TICKS
    const distance = 1 + r.nextInt(BAND_TICKS)
    const m = this.mids[s]!
    let price = side === BID ? m - distance : m + distance
    let level = price >= this.los[l]! && price <= this.his[l]! ? this.sizes[base + (price & LADDER_MASK)]! : 0
    if (level === 0) {
      // Nothing rests there: cancel at the best level instead (the side is not empty).
      price = side === BID ? this.his[l]! : this.los[l]!
      level = this.sizes[base + (price & LADDER_MASK)]!
    }
    const size = 1 + r.nextInt(level)
    this.emitValid(s, side, CANCEL, price, size)
    this.remove(l, price, size)
    this.cancels++
  }

  private trade(s: number, side: number): void {
    const l = s * 2 + side
    const price = side === BID ? this.his[l]! : this.los[l]!
    const level = this.sizes[l * LADDER_TICKS + (price & LADDER_MASK)]!
    const size = 1 + this.random.nextInt(level < MAX_TRADE_SIZE ? level : MAX_TRADE_SIZE)
    this.emitValid(s, side, TRADE, price, size)
    this.remove(l, price, size)
    this.trades++
  }

  /** Takes `size` (≤ the level) off `price` of ladder `l`; when the level empties, moves hi / lo inward. */
  private remove(l: number, price: number, size: number): void {
    const base = l * LADDER_TICKS
    const left = this.sizes[base + (price & LADDER_MASK)]! - size
    this.sizes[base + (price & LADDER_MASK)] = left
    if (left !== 0) return
    const hi = this.his[l]!
    const lo = this.los[l]!
    if (hi === lo) {
      this.his[l] = EMPTY_HI
      this.los[l] = EMPTY_LO
    } else if (price === hi) {
      // lo is live, so the scan stops by it: at most LADDER_TICKS steps.
      let t = price - 1
      while (this.sizes[base + (t & LADDER_MASK)] === 0) t--
      this.his[l] = t
    } else if (price === lo) {
      let t = price + 1
      while (this.sizes[base + (t & LADDER_MASK)] === 0) t++
      this.los[l] = t
    }
  }

  private emitValid(s: number, side: number, kind: number, price: number, size: number): void {
    this.symbol = s
    this.side = side
    this.kind = kind
    this.price = price
    this.size = size
  }

  /** An add near the top with exactly one defect; the tracked book is unchanged. */
  private makeInvalid(s: number): void {
    const side = this.random.nextU32() & 1
    const m = this.mids[s]!
    this.emitValid(s, side, ADD, side === BID ? m - 1 : m + 1, 1)
    const variant = this.nextInvalid
    this.nextInvalid = variant === INVALID_VARIANTS.length - 1 ? 0 : variant + 1
    switch (variant) {
      case 0:
        this.side = 2
        break
      case 1:
        this.kind = 3
        break
      case 2:
        this.price = 0
        break
      case 3:
        this.price = NaN
        break
      case 4:
        this.price += 0.5
        break
      case 5:
        this.price = 2 ** 53 + 2
        break
      case 6:
        this.size = 0
        break
      case 7:
        this.size = Infinity
        break
      case 8:
        this.size = 1.5
        break
      default:
        // Past any book's symbols: books hold at most 2^24.
        this.symbol = 0xffffffff
        break
    }
    this.invalid++
  }
}
