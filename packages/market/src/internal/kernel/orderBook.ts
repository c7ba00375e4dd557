/**
 * Exact price-level order books for many symbols (kernel tier).
 *
 * A level-based (L2) book: each side of each symbol holds, per integer price tick, the aggregate size
 * resting there. Updates are "add size at a price", "cancel size at a price", "trade size off the best
 * level" and "set a level's size". Best bid / best ask and every level are exact, and every valid level
 * is accepted, however far from the touch (a resting order 10⁶ ticks away, a price that jumps past
 * anything seen before).
 *
 * Keys. Internally a price becomes a key where smaller is better on both sides: an ask's key is its
 * price, a bid's key is `0x7fffffff - price` (`price ^ 0x7fffffff`). So "nearer the touch" is always
 * "smaller key", and one code path serves both sides.
 *
 * Each side of a symbol keeps its levels in two places:
 *
 *   near: a dense ladder of `windowTicks` 16-bit slots covering keys `anchor .. anchor + windowTicks - 1`,
 *         ring-indexed (`key & (windowTicks - 1)`); a live level is a non-zero slot (no bitmap). The
 *         best level is always here (when the side has levels). Most updates land here: one load and
 *         one store in one line, as in a plain ladder.
 *   far:  every level with key ≥ `anchor + windowTicks`, in a sorted array (keys descending, so the
 *         level nearest the touch is last): binary search to find, a shift to open or close a level.
 *
 *     better ◀──────────────────── key ────────────────────▶ worse
 *        (empty)    │ anchor ........ near ........ │ far (sorted array, nearest last) ...
 *                   │ best                          │ anchor + windowTicks
 *
 * No live level has a key below `anchor`. The window follows the touch:
 * - a new level better than `anchor` (the price improved past the window) moves the window there,
 *   leaving a quarter of the window as room above the new best; levels that fall off the window's far edge
 *   are appended to the far array, which they all precede (farthest first, so it stays sorted);
 * - when the best level empties, the next one is found by scanning the slots after it (two per load,
 *   within the window); if it is deeper than half the window, or the window is empty and the far array is not,
 *   the window moves on to it and the far levels it now covers are popped off the far array's end.
 * Each move costs a scan of the ticks it passes and O(1) per level moved; nothing is ever
 * copied wholesale, nothing lost, no level refused for its distance.
 *
 * Memory grows with what the books hold, not with symbols × window:
 * - per symbol, always: a 64-byte block (one cache line where Node on Linux places the array, see
 *   `LINE_SKEW`: both sides' headers and 40 bytes a subclass
 *   may use for its own per-symbol state) and 24 bytes of far-array headers (read only on the far
 *   path), whatever the window;
 * - per side with levels: one ladder of `windowTicks × 2` bytes (16-bit lots) and a 4-byte free-list
 *   slot — 260 B with the default 128-tick window (a 64-tick ladder of f64 sizes took
 *   532); a side with no level gives its ladder back to a free list (the
 *   pool never shrinks: it holds the most sides ever live at once), unless `reserveLadders` gave every
 *   side its own from the start;
 * - per far level: 12 bytes (i32 key, f64 size) in power-of-two blocks of at least 4 that are shrunk
 *   when a quarter full, so at most 48 bytes and usually 12–24.
 * Pools grow by doubling when they run out — the only allocations, amortised and rare; size them up
 * front ({@link OrderBooksOptions.reservedSideCount}, `reservedFarLevelCount`) to never grow while
 * running. {@link OrderBooks.byteLength} is what the pools hold now.
 *
 * Costs: an update in the window is O(1); the best level emptying scans at most `windowTicks / 2`
 * words of slots (in the l2 suite's flow the next level is a tick or two on); a far update is a binary search, and opening or closing a far level shifts the far
 * levels nearer than it (a short loop, `copyWithin` past 32). A side whose depth lives mostly beyond the window pays the far
 * path; widen `windowTicks` for such books.
 *
 * Sizes are integer lots, exact up to `Number.MAX_SAFE_INTEGER`, so a level that received `a + b` and
 * lost `a` then `b` is exactly empty. (Fractional sizes would leave dust and are refused with
 * {@link INVALID_SIZE}.) A ladder slot holds 16-bit lots — 32 ticks per cache line, four times an f64's,
 * which is what keeps a busy book's hot lines in the caches (at 10,000 symbols the time of an update is
 * its cache misses); a level past 65,534 lots takes the overflow path: its slot is marked and its size
 * kept in an f64 array parallel to the ladder pool, made the first time a book holds such a level (8
 * more bytes per ladder slot from then on, and a second line for the updates of such levels). Far levels keep f64
 * sizes. A crossed book (best bid ≥ best ask) is accepted: this is a mirror of a feed, not a matching
 * engine.
 *
 * Contract: every mutation returns the affected level's new size (≥ 0) or a negative code, and a
 * refused update leaves the book unchanged. Queries return a value ≥ 0 or a negative code. Not thread
 * safe: one thread owns an `OrderBooks`. No `effect` import, no allocation, closure or throw per update
 * (a pool growing is the exception above); only the constructor throws (`RangeError` naming the bad
 * value), and a pool that cannot grow any more (2^31 slots) throws `RangeError`.
 */

// Module-local constants for the hot paths. V8 reads an exported binding through its module cell, with
// a hole check, at every use (never folded), and folds a module-local `const` into the code: the
// exported constants below are defined from these, and the class uses these.
const BID_SIDE = 0
const ASK_SIDE = 1
const NO_BEST = 0
const ANY_LEVEL = 0
const NEW_LEVEL = 1
const OLD_LEVEL = 2
const BEST_W = 1
const SIDE_W = 3
const WORDS = 16
const SIZE_MAX = Number.MAX_SAFE_INTEGER

/** The bid side (buyers). */
export const BID = BID_SIDE
/** The ask side (sellers). */
export const ASK = ASK_SIDE
export type Side = typeof BID | typeof ASK

/** `bestBid` / `bestAsk` / `best` result for a side with no levels (valid ticks start at 1). */
export const EMPTY = NO_BEST
/** `clear` result. */
export const OK = 0 as const

/**
 * The price is not an integer tick in `1 .. maxTick`. (Before the book took far levels, a level that
 * would make a side span `windowTicks` or more was refused with this code too; no level is now.)
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
/** `put` with {@link ABSENT}: a level rests at the price already. */
export const LEVEL_EXISTS = -7 as const
/** `put` with {@link PRESENT}: no level rests at the price. */
export const LEVEL_MISSING = -8 as const

/** `putNear`: not its case (the book unchanged); `put` handles it. */
const NOT_NEAR = -1
/** `putNear`: applied, the side's best unchanged. */
const NEAR_KEPT = 0
/** `putNear`: applied, and the side's best moved (a better level, or the best emptied) or was resized. */
const NEAR_BEST = 1
/** `putNear`'s outcomes, for a subclass. */
export const NEAR_OUTCOMES = { NOT_NEAR, NEAR_KEPT, NEAR_BEST } as const
/** Largest size a ladder slot holds itself (16-bit lots); larger ones take the overflow path. */
const SMALL_MAX = 0xfffe
/** A ladder slot whose size is past {@link SMALL_MAX}: the size is in the overflow array. */
const BIG = 0xffff

/** `put` presence: the level may or may not exist (what `set` does). */
export const ANY = ANY_LEVEL
/** `put` presence: the level must not exist (a feed's "new level"). */
export const ABSENT = NEW_LEVEL
/** `put` presence: the level must exist (a feed's "change" or "delete"). */
export const PRESENT = OLD_LEVEL

export type ErrorCode =
  | typeof PRICE_OUT_OF_RANGE
  | typeof INVALID_SIZE
  | typeof SIZE_OVERFLOW
  | typeof CANCEL_EXCEEDS_LEVEL
  | typeof UNKNOWN_SYMBOL
  | typeof INVALID_SIDE
  | typeof LEVEL_EXISTS
  | typeof LEVEL_MISSING

/** Default near window per side: 128 ticks (a 256-byte ladder of 16-bit lots). */
export const DEFAULT_WINDOW_TICKS = 128
/** Smallest window: 32 ticks (one 64-byte line of 16-bit lots). */
export const MIN_WINDOW_TICKS = 32
/** Largest window: 2^24 ticks (64 MiB per side with levels). */
export const MAX_WINDOW_TICKS = 1 << 24
/** Highest tick a book accepts: ticks are int32 so keys are one `^`. Rebase larger grids. */
export const MAX_TICK = 0x7fffffff
/** Largest size a level may hold. */
export const MAX_SIZE = SIZE_MAX
/** Most symbols one `OrderBooks` holds. */
export const MAX_SYMBOLS = 1 << 24

export interface OrderBooksOptions {
  /** Number of symbols; they are indexed `0 .. symbols - 1`. */
  readonly symbols: number
  /**
   * Ticks of the dense near window per side, a power of two in `32 .. 2^24`; default
   * {@link DEFAULT_WINDOW_TICKS}. Not a limit on prices: levels beyond it are kept in the far array.
   * Wider windows put more of a deep book on the fast path and cost `windowTicks × 2` bytes per side
   * with levels.
   */
  readonly windowTicks?: number
  /** Highest valid tick, `1 .. 2^31 - 1`; default {@link MAX_TICK}. */
  readonly maxTick?: number
  /** Sides with levels the ladder pool holds before it grows; default `min(2 × symbols, 256)`. */
  readonly reservedSideCount?: number
  /**
   * Reserve a ladder for every side up front (`symbols × 2 × windowTicks × 2` bytes from the start,
   * whatever the books hold; `reservedSideCount` is then `2 × symbols`), each at an address computed
   * from its symbol and side: an update's ladder slot is loaded alongside the symbol's block, not after
   * it. For books whose symbols are all busy. Default `false`: ladders come from the pool as sides fill.
   */
  readonly reserveLadders?: boolean
  /** Far levels the far pool holds before it grows; default 1024. */
  readonly reservedFarLevelCount?: number
}

/** The code for a size that failed the good-path test (`min` ≤ size ≤ MAX_SIZE, an integer). */
export const sizeCode = (size: number, min: number): number => {
  if (!(size >= min) || size === Infinity) return INVALID_SIZE // NaN, too small, infinite
  return size > MAX_SIZE ? SIZE_OVERFLOW : INVALID_SIZE // else it was not an integer
}

// Symbol blocks (Int32Array `head`): 16 words (64 bytes, one cache line) per symbol — the bid side's
// header at word 0, the ask side's at word 3, and words 6..15 left to a subclass for its own per-symbol
// state (the L2 books keep their sequencing there, so an update touches one line of per-symbol state).
// A side's header `h` is `symbol * SYMBOL_WORDS + side * SIDE_WORDS`.
/** Key of the window's first tick; {@link NO_ANCHOR} while the side is empty (and has no ladder). */
const ANCHOR = 0
/** Best price (a tick, not a key), 0 while the side is empty. */
export const BEST = BEST_W
/** Index of the side's ladder's first slot in `sizes`. */
const LADDER = 2
/** Int32 words per side header. */
export const SIDE_WORDS = SIDE_W
/** Int32 words per symbol block. */
export const SYMBOL_WORDS = WORDS
/** The first word of a symbol's block free for a subclass (words 6..15: 40 bytes, f64 slots 3..7). */
export const OWNER_WORD = 6

// Far headers (Int32Array `far`, cold: read on the far path and when the window moves), side `h` at
// `farOf(h)` = `symbol * 6 + side * 3`.
/** Index of the side's far block in `farKeys` / `farSizes`. */
const FAR_AT = 0
/** Far levels held. */
const FAR_LENGTH = 1
/** Far block capacity, a power of two ≥ {@link MIN_FAR_BLOCK}; 0 with no block. */
const FAR_CAPACITY = 2

/**
 * Anchor of an empty side: `key - NO_ANCHOR ≥ 2^31` for every key, so the window test
 * `(key - anchor) >>> 0 < windowTicks` fails without a branch of its own.
 */
const NO_ANCHOR = -0x80000000
/** `price ^ KEY_FLIP` turns a bid price into its key and back. */
const KEY_FLIP = 0x7fffffff
/** Smallest far block: 4 levels (48 bytes). */
const MIN_FAR_BLOCK = 4
/** Free lists per far block size class (`capacity = 2^class`). */
const FAR_CLASSES = 32
/** Pools are indexed as int32: at most 2^31 slots each. */
const MAX_POOL_SLOTS = 2 ** 31

/**
 * Bytes skipped at the start of the symbol blocks' and the ladder pool's buffers. Node on Linux puts a
 * large typed array's data 16 bytes into a page (glibc's `mmap`ed blocks; `%DebugPrint`: `data_ptr`
 * ending in `…010`), so 64-byte blocks there span two lines each; 48 bytes on, each block and each
 * ladder starts on a line. JavaScript cannot see an address: elsewhere this is 48 bytes of padding.
 */
const LINE_SKEW = 48

/** An `Int32Array` of `length` words, `LINE_SKEW` bytes into its buffer. */
const int32OnLines = (length: number): Int32Array => new Int32Array(new ArrayBuffer(LINE_SKEW + length * 4), LINE_SKEW, length)

/** A `Uint16Array` of `length` slots, `LINE_SKEW` bytes into its buffer; `pairsOf` reads it two slots a word. */
const uint16OnLines = (length: number): Uint16Array => new Uint16Array(new ArrayBuffer(LINE_SKEW + length * 2), LINE_SKEW, length)

/** `sizes` as int32 words (an even number of slots). */
const pairsOf = (sizes: Uint16Array): Int32Array => new Int32Array(sizes.buffer, sizes.byteOffset, sizes.length >>> 1)

/** `flip` of a side: the mask that turns its prices into keys (BID: KEY_FLIP, ASK: 0). */
const flipOf = (side: number): number => (side - 1) & KEY_FLIP

/**
 * The exact books of `symbols` symbols, both sides each: `add` / `cancel` / `trade` / `set` return the
 * level's new size or a negative code; `bestBid` / `bestAsk` / `levelSize` / `depth` read. One thread.
 */
export class OrderBooks {
  // The fields the constructor sets are `declare`d: a plain declaration is a class field, defined as
  // `undefined` before the constructor runs, so its first store would change it — and V8 then treats
  // it as a mutable field of any type: a hot path reloads it, and checks it, at every use (a tag test
  // for a number, all of `ToBoolean` for `homes`). Set once, it stays a constant field, which the JIT
  // folds into a loop that holds the book as a constant (a stage's batch loop).
  declare readonly symbols: number
  declare readonly windowTicks: number
  declare readonly maxTick: number
  declare private readonly mask: number
  /** How far above the window's first tick a moved window puts the best level. */
  declare private readonly slack: number
  /**
   * `reserveLadders`: each side's ladder is its own, at `(symbol × 2 + side) × windowTicks`, an address
   * the hot path computes without reading the symbol's block first.
   */
  declare private readonly homes: boolean
  /** Symbol blocks: both side headers, and words a subclass may use (see {@link OWNER_WORD}). */
  declare protected readonly head: Int32Array
  /** Far headers per side (cold). */
  declare private readonly far: Int32Array
  /**
   * Ladder pool: ladder `k` owns slots `k * windowTicks ..`; empty slots hold 0. Sizes in 16-bit lots;
   * {@link BIG} marks a size past {@link SMALL_MAX}, held in `big` at the same index.
   */
  declare private sizes: Uint16Array
  /** Sizes past {@link SMALL_MAX} (the overflow path), parallel to `sizes`; empty until a book first holds one. */
  private big = new Float64Array(0)
  /**
   * `sizes` read two slots at a time (slots `2j`, `2j + 1` in word `j`), for the scans for the next
   * live level: a live slot is a non-zero one, so no bitmap is kept (a level opened or closed writes
   * its slot alone).
   */
  declare private pairs: Int32Array
  /** Ladders handed out so far (free ones included). */
  private ladderTop = 0
  /** Free ladders (their first slot index), a stack. */
  declare private ladderFree: Int32Array
  private ladderFreeCount = 0
  /** Far pool: keys and sizes of far levels, in per-side blocks. */
  declare private farKeys: Int32Array
  declare private farSizes: Float64Array
  /** First never-used far slot. */
  private farTop = 0
  /** Head of the free list of each size class (-1: none); a free block's first key links to the next. */
  declare private readonly farFree: Int32Array

  constructor(options: OrderBooksOptions) {
    const symbols = options.symbols
    const windowTicks = options.windowTicks ?? DEFAULT_WINDOW_TICKS
    const maxTick = options.maxTick ?? MAX_TICK
    if (!Number.isInteger(symbols) || symbols < 1 || symbols > MAX_SYMBOLS) {
      throw new RangeError(`symbols must be an integer in 1..${MAX_SYMBOLS}: symbols=${symbols}`)
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
    const homes = options.reserveLadders === true
    const sides = homes ? 2 * symbols : options.reservedSideCount ?? Math.min(2 * symbols, 256)
    const farLevels = options.reservedFarLevelCount ?? 1024
    if (!Number.isInteger(sides) || sides < 1 || sides * windowTicks > MAX_POOL_SLOTS) {
      throw new RangeError(
        `reservedSideCount must be an integer ≥ 1 with reservedSideCount * windowTicks ≤ 2^31: reservedSideCount=${sides} windowTicks=${windowTicks}`
      )
    }
    if (!Number.isInteger(farLevels) || farLevels < MIN_FAR_BLOCK || farLevels > MAX_POOL_SLOTS) {
      throw new RangeError(
        `reservedFarLevelCount must be an integer in ${MIN_FAR_BLOCK}..2^31: reservedFarLevelCount=${farLevels}`
      )
    }
    this.symbols = symbols
    this.windowTicks = windowTicks
    this.maxTick = maxTick
    this.mask = windowTicks - 1
    this.slack = windowTicks >>> 2
    this.head = int32OnLines(symbols * WORDS)
    for (let h = 0; h < this.head.length; h += WORDS) {
      this.head[h + ANCHOR] = NO_ANCHOR
      this.head[h + SIDE_W + ANCHOR] = NO_ANCHOR
    }
    this.far = new Int32Array(symbols * 2 * SIDE_W)
    this.sizes = uint16OnLines(sides * windowTicks)
    this.pairs = pairsOf(this.sizes)
    this.ladderFree = new Int32Array(sides)
    this.homes = homes
    if (this.homes) this.ladderTop = 2 * symbols * windowTicks
    this.farKeys = new Int32Array(farLevels)
    this.farSizes = new Float64Array(farLevels)
    this.farFree = new Int32Array(FAR_CLASSES).fill(-1)
  }

  /** Bytes the books hold now: headers, ladder pool, far pool (grows with what the books hold). */
  get byteLength(): number {
    return this.head.byteLength + this.far.byteLength + this.sizes.byteLength + this.big.byteLength +
      this.ladderFree.byteLength +
      this.farKeys.byteLength +
      this.farSizes.byteLength + this.farFree.byteLength
  }

  // ---------------------------------------------------------------------------------------------
  // Mutations: new level size (>= 0) or a negative code; a refused update changes nothing.
  //
  // Validation is written inline, in the order symbol, side, price, size, with one combined test
  // on the good path (the JIT inlines these methods into a stage's loop; a call per check would not).

  /** Adds `size` lots at `price`. Returns the level's new size or a code. */
  add(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID_SIDE || side === ASK_SIDE) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 1 && size <= SIZE_MAX && Math.floor(size) === size)) return sizeCode(size, 1)
    const h = symbol * WORDS + side * SIDE_W
    const head = this.head
    const flip = flipOf(side)
    const key = price ^ flip
    // In the window (one unsigned compare; an empty side's anchor fails it): the ladder's fast path.
    // Opening a level and adding to one are the same code: an empty slot holds 0.
    if (((key - head[h + ANCHOR]!) >>> 0) < this.windowTicks) {
      const at = head[h + LADDER]! + (key & this.mask)
      const next = this.sizeAt(at) + size
      if (next > SIZE_MAX) return SIZE_OVERFLOW
      this.store(at, next)
      if (key < (head[h + BEST_W]! ^ flip)) head[h + BEST_W] = price
      return next
    }
    return this.putOutside(h, flip, key, size, true)
  }

  /** Removes `size` lots at `price`; more than the level holds is refused. Returns the level's new size or a code. */
  cancel(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID_SIDE || side === ASK_SIDE) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 1 && size <= SIZE_MAX && Math.floor(size) === size)) return sizeCode(size, 1)
    const h = symbol * WORDS + side * SIDE_W
    const flip = flipOf(side)
    const key = price ^ flip
    const head = this.head
    const anchor = head[h + ANCHOR]!
    if (((key - anchor) >>> 0) < this.windowTicks) {
      // The level's own take inline (the common partial cancel stays small enough to inline here).
      const at = head[h + LADDER]! + (key & this.mask)
      const old = this.sizeAt(at)
      if (size > old) return CANCEL_EXCEEDS_LEVEL // also an empty level
      const next = old - size
      this.store(at, next)
      return next !== 0 ? next : this.emptied(h, flip, key)
    }
    // Below the window nothing rests; beyond it (or on an empty side) the far array says.
    return key < anchor ? CANCEL_EXCEEDS_LEVEL : this.takeFar(h, key, size)
  }

  /**
   * Removes `size` lots from the best level of `side` (a trade against resting liquidity). More than
   * the best level holds, or an empty side, is refused. Returns that level's new size or a code; read
   * `best(symbol, side)` first for the traded price.
   */
  trade(symbol: number, side: number, size: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID_SIDE || side === ASK_SIDE))) {
      return this.checkCode(symbol, side)
    }
    if (!(size >= 1 && size <= SIZE_MAX && Math.floor(size) === size)) return sizeCode(size, 1)
    const h = symbol * WORDS + side * SIDE_W
    const head = this.head
    const best = head[h + BEST_W]!
    if (best === NO_BEST) return CANCEL_EXCEEDS_LEVEL
    const flip = flipOf(side)
    const key = best ^ flip
    const at = head[h + LADDER]! + (key & this.mask) // the best level is always in the window
    const old = this.sizeAt(at)
    if (size > old) return CANCEL_EXCEEDS_LEVEL
    const next = old - size
    this.store(at, next)
    return next !== 0 ? next : this.emptied(h, flip, key)
  }

  /** Sets the level at `price` to `size` lots (0 removes it), as L2 feeds send. Returns `size` or a code. */
  set(symbol: number, side: number, price: number, size: number): number {
    return this.put(symbol, side, price, size, ANY_LEVEL)
  }

  /**
   * Sets the level at `price` to `size` lots (0 removes it) if the level's presence is as required:
   * {@link ABSENT} (a new level; else {@link LEVEL_EXISTS}), {@link PRESENT} (a change or a removal;
   * else {@link LEVEL_MISSING}) or {@link ANY}. One lookup for the check and the change. Returns `size`
   * or a code (checked in the order symbol, side, price, size, presence; a refusal changes nothing).
   */
  put(symbol: number, side: number, price: number, size: number, presence: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID_SIDE || side === ASK_SIDE) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    if (!(size >= 0 && size <= SIZE_MAX && Math.floor(size) === size)) return sizeCode(size, 0)
    const h = symbol * WORDS + side * SIDE_W
    const head = this.head
    const flip = flipOf(side)
    const key = price ^ flip
    const anchor = head[h + ANCHOR]!
    if (((key - anchor) >>> 0) < this.windowTicks) {
      const at = head[h + LADDER]! + (key & this.mask)
      const old = this.sizes[at]!
      if (presence !== ANY_LEVEL && (old === 0) !== (presence === NEW_LEVEL)) return old === 0 ? LEVEL_MISSING : LEVEL_EXISTS
      if (size === 0) {
        if (old === 0) return 0
        this.sizes[at] = 0
        return this.emptied(h, flip, key)
      }
      this.store(at, size)
      if (key < (head[h + BEST_W]! ^ flip)) head[h + BEST_W] = price
      return size
    }
    if (key < anchor) { // better than every level (or an empty side's): nothing rests there
      if (presence === OLD_LEVEL) return LEVEL_MISSING
      return size === 0 ? 0 : this.putOutside(h, flip, key, size, false)
    }
    const found = this.farFind(h, key)
    if (presence !== ANY_LEVEL && (found < 0) !== (presence === NEW_LEVEL)) return found < 0 ? LEVEL_MISSING : LEVEL_EXISTS
    const at = this.far[this.farOf(h) + FAR_AT]!
    if (size === 0) return found < 0 ? 0 : this.takeFar(h, key, this.farSizes[at + found]!)
    if (found >= 0) {
      this.farSizes[at + found] = size
      return size
    }
    return this.putOutside(h, flip, key, size, false)
  }

  /**
   * `put`'s common case, for a subclass's hot path: a valid level of a valid side (the caller checked
   * symbol and side; `h` is the side's header) that is new (`add`: {@link ABSENT}, size ≥ 1) or present
   * ({@link PRESENT}), in the near window, that does not move the window (a best level that empties
   * leaves its successor in the window's nearer half). Returns {@link NEAR_KEPT} (the side's best
   * unchanged), {@link NEAR_BEST} (the best moved, or its level was resized), or {@link NOT_NEAR} — the
   * book unchanged — for anything else, which `put` handles; `h < 0` is always `NOT_NEAR`. A size
   * level opened, resized or closed writes one ladder slot, all the update touches of the ladder.
   *
   * Small on purpose, and meant to be called for every update, `h < 0` when the caller's own tests
   * failed: the JIT inlines a call into a stage's batch loop only if it fits the loop's inlining budget
   * (920 bytes of bytecode) and the call was frequent when the loop was compiled — which a call made
   * only when the caller's tests pass is not, while a feed starts with snapshots.
   */
  protected putNear(h: number, side: number, price: number, size: number, add: boolean): number {
    if (h < 0) return NOT_NEAR
    const head = this.head
    const flip = (side - 1) >>> 1 // flipOf(side): bid 2^31 - 1, ask 0
    const key = price ^ flip
    // The slot's address does not wait for the block's load when the ladders are reserved (the slot's
    // miss overlaps the block's); it is in the pool whatever the key, so it is read before the tests.
    const at = (this.homes ? ((h >>> 4) * 2 + side) * this.windowTicks : head[h + LADDER]!) + (key & this.mask)
    const sizes = this.sizes
    const old = sizes[at]!
    const best = head[h + BEST_W]!
    if (
      // The price an int32 tick in 1..maxTick in the window; the size 16-bit lots (0..SMALL_MAX). An
      // Add's slot is empty and its size ≥ 1; another's holds lots (not BIG, a size on the overflow path).
      !((key ^ flip) === price && price >= 1 && price <= this.maxTick &&
        (size >>> 0) === size && size <= SMALL_MAX && ((key - head[h + ANCHOR]!) >>> 0) < this.windowTicks &&
        (add ? old === 0 && size !== 0 : old !== 0 && old !== BIG) &&
        (size !== 0 || price !== best || this.bestEmptiesNear(h, flip, key)))
    ) return NOT_NEAR
    sizes[at] = size
    if (price === best) return size === old ? NEAR_KEPT : NEAR_BEST // resized, or emptied (the best moved on)
    if (key > (best ^ flip)) return NEAR_KEPT
    head[h + BEST_W] = price // a better level
    return NEAR_BEST
  }

  /**
   * `putNear`'s best level empties: the next best is the window's next live tick, unless the window
   * must move (none there, or deeper than half the window), which `put` does (false, nothing changed).
   * Out of `putNear`, to keep it small enough for the JIT to inline into a caller's loop.
   */
  private bestEmptiesNear(h: number, flip: number, key: number): boolean {
    const next = this.nextLive(h, key)
    if (next < 0 || next - this.head[h + ANCHOR]! >= this.windowTicks >>> 1) return false
    this.head[h + BEST_W] = next ^ flip
    return true
  }

  /** Empties both sides of `symbol` (a feed reset or snapshot start). Returns {@link OK} or a code. */
  clear(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    const head = this.head
    const far = this.far
    for (let h = symbol * WORDS; h < symbol * WORDS + 2 * SIDE_W; h += SIDE_W) {
      const fh = this.farOf(h)
      if (head[h + ANCHOR] === NO_ANCHOR) continue
      const ladder = head[h + LADDER]!
      this.sizes.fill(0, ladder, ladder + this.windowTicks)
      this.releaseLadder(h)
      if (far[fh + FAR_CAPACITY] !== 0) this.freeFar(far[fh + FAR_AT]!, far[fh + FAR_CAPACITY]!)
      far[fh + FAR_LENGTH] = 0
      far[fh + FAR_CAPACITY] = 0
    }
    return OK
  }

  // ---------------------------------------------------------------------------------------------
  // Queries.

  /** Highest bid tick, {@link EMPTY} (0) when there are no bids, or {@link UNKNOWN_SYMBOL}. */
  bestBid(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    return this.head[symbol * WORDS + BEST_W]!
  }

  /** Lowest ask tick, {@link EMPTY} (0) when there are no asks, or {@link UNKNOWN_SYMBOL}. */
  bestAsk(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    return this.head[symbol * WORDS + SIDE_W + BEST_W]!
  }

  /** Best tick of `side` (highest bid, lowest ask), {@link EMPTY} when the side is empty, or a code. */
  best(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    return this.head[symbol * WORDS + side * SIDE_W + BEST_W]!
  }

  /**
   * Writes the top of book of `symbol` into `out` at `offset`: best bid, its size, best ask, its size
   * (0, 0 for an empty side). Returns {@link OK} or {@link UNKNOWN_SYMBOL}. One call for what a
   * top-of-book publisher reads after every update.
   */
  readTop(symbol: number, out: Float64Array, offset: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    const head = this.head
    const h = symbol * WORDS
    const bid = head[h + BEST_W]!
    const ask = head[h + SIDE_W + BEST_W]!
    out[offset] = bid
    // The best level is always in the window. Bid keys are `price ^ KEY_FLIP`, ask keys the price.
    out[offset + 1] = bid === NO_BEST ? 0 : this.sizeAt(head[h + LADDER]! + ((bid ^ KEY_FLIP) & this.mask))
    out[offset + 2] = ask
    out[offset + 3] = ask === NO_BEST ? 0 : this.sizeAt(head[h + SIDE_W + LADDER]! + (ask & this.mask))
    return OK
  }

  /** Size resting at the best level of `side` (0 when the side is empty), or a code. */
  bestSize(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    const h = symbol * WORDS + side * SIDE_W
    const best = this.head[h + BEST_W]!
    // The best level is always in the window.
    return best === NO_BEST ? 0 : this.sizeAt(this.head[h + LADDER]! + ((best ^ flipOf(side)) & this.mask))
  }

  /** Worst (farthest from the top) tick of `side`, {@link EMPTY} when the side is empty, or a code. */
  worst(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    const h = symbol * WORDS + side * SIDE_W
    const far = this.far
    const fh = this.farOf(h)
    const head = this.head
    if (head[h + BEST_W] === NO_BEST) return NO_BEST
    const flip = flipOf(side)
    if (far[fh + FAR_LENGTH] !== 0) return this.farKeys[far[fh + FAR_AT]!]! ^ flip
    const anchor = head[h + ANCHOR]!
    return this.prevLive(h, anchor + this.windowTicks, anchor) ^ flip
  }

  /** Size resting at `price` (0 when no level), or a code ({@link PRICE_OUT_OF_RANGE} for a non-tick price). */
  levelSize(symbol: number, side: number, price: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID_SIDE || side === ASK_SIDE) &&
        (price | 0) === price && price >= 1 && price <= this.maxTick)
    ) return this.checkCode(symbol, side)
    const h = symbol * WORDS + side * SIDE_W
    const far = this.far
    const fh = this.farOf(h)
    const key = price ^ flipOf(side)
    const anchor = this.head[h + ANCHOR]!
    if (((key - anchor) >>> 0) < this.windowTicks) return this.sizeAt(this.head[h + LADDER]! + (key & this.mask))
    if (key < anchor) return 0
    const found = this.farFind(h, key)
    return found < 0 ? 0 : this.farSizes[far[fh + FAR_AT]! + found]!
  }

  /** Number of non-empty levels on `side`, or a code. Counts the window's slots: O(windowTicks). */
  levelCount(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    const h = symbol * WORDS + side * SIDE_W
    const far = this.far
    const fh = this.farOf(h)
    let n = far[fh + FAR_LENGTH]!
    if (this.head[h + ANCHOR] === NO_ANCHOR) return n
    const from = this.head[h + LADDER]!
    for (let j = from; j < from + this.windowTicks; j++) if (this.sizes[j] !== 0) n++
    return n
  }

  /**
   * Writes the top `n` levels of `side`, best first, into `out` as `price, size` pairs
   * (`out[2k]` = price, `out[2k + 1]` = size). Writes at most `out.length >> 1` levels and touches
   * nothing past them. Returns the number of levels written, or a code.
   */
  depth(symbol: number, side: number, n: number, out: Float64Array): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    const h = symbol * WORDS + side * SIDE_W
    const far = this.far
    const fh = this.farOf(h)
    const head = this.head
    let k = Math.min(n, out.length >> 1)
    if (!(k >= 1) || head[h + BEST_W] === NO_BEST) return 0 // also n <= 0 or NaN
    k = Math.floor(k)
    const flip = flipOf(side)
    const ladder = head[h + LADDER]!
    let i = 0
    for (let key = head[h + BEST_W]! ^ flip; ; ) {
      out[2 * i] = key ^ flip
      out[2 * i + 1] = this.sizeAt(ladder + (key & this.mask))
      if (++i === k) return i
      key = this.nextLive(h, key)
      if (key < 0) break
    }
    const at = far[fh + FAR_AT]!
    for (let f = at + far[fh + FAR_LENGTH]! - 1; f >= at && i < k; f--) {
      out[2 * i] = this.farKeys[f]! ^ flip
      out[2 * i + 1] = this.farSizes[f]!
      i++
    }
    return i
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: the window.

  /** The size in ladder slot `at` (a size past {@link SMALL_MAX} is in `big`). */
  private sizeAt(at: number): number {
    const v = this.sizes[at]!
    return v !== BIG ? v : this.big[at]!
  }

  /** Stores `size` (≥ 0) in slot `at`: 16-bit lots in the ladder, a larger size in `big` (made on first use). */
  private store(at: number, size: number): void {
    if (size <= SMALL_MAX) {
      this.sizes[at] = size
      return
    }
    if (this.big.length === 0) this.big = new Float64Array(this.sizes.length)
    this.big[at] = size
    this.sizes[at] = BIG
  }

  /** The far header of the side whose header is `h`. */
  private farOf(h: number): number {
    return (h >>> 4) * 6 + (h & 15)
  }

  /** The code for a failed symbol / side / price test (the price is the only one left). */
  private checkCode(symbol: number, side: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return UNKNOWN_SYMBOL
    if (side !== BID_SIDE && side !== ASK_SIDE) return INVALID_SIDE
    return PRICE_OUT_OF_RANGE
  }

  /** Puts `size` at a key outside the window: adds to it (`add`) or sets it; `size > 0`. */
  private putOutside(h: number, flip: number, key: number, size: number, add: boolean): number {
    const head = this.head
    const anchor = head[h + ANCHOR]!
    if (anchor === NO_ANCHOR) {
      // The side's first level: a ladder, and a window with room above the new best.
      this.acquireLadder(h)
      head[h + ANCHOR] = Math.max(0, key - this.slack)
    } else if (key >= anchor + this.windowTicks) {
      return this.putFar(h, key, size, add)
    } else {
      // Better than the window: the price improved past it. Move the window down to the new best.
      this.moveWindowDown(h, Math.max(0, key - this.slack))
    }
    const at = head[h + LADDER]! + (key & this.mask)
    this.store(at, size)
    head[h + BEST_W] = key ^ flip
    return size
  }

  /**
   * The window level at `key` just emptied (its slot is 0): if it was the best, finds
   * the next best (moving the window if it is deep or the window emptied; releasing the ladder if the
   * side did). Returns 0, the level's new size.
   */
  private emptied(h: number, flip: number, key: number): number {
    if (key === (this.head[h + BEST_W]! ^ flip)) this.bestEmptied(h, flip, key)
    return 0
  }

  /** The best level (at `key`) just emptied: set the next best, moving the window if needed. */
  private bestEmptied(h: number, flip: number, key: number): void {
    const far = this.far
    const fh = this.farOf(h)
    const head = this.head
    const next = this.nextLive(h, key)
    if (next >= 0) {
      head[h + BEST_W] = next ^ flip
      // Deeper than half the window: move it on, so the depth behind the new best is on the fast path.
      if (next - head[h + ANCHOR]! >= this.windowTicks >>> 1) this.moveWindowUp(h, next - this.slack)
      return
    }
    const length = far[fh + FAR_LENGTH]!
    if (length === 0) {
      this.releaseLadder(h) // the side is empty
      return
    }
    const nearest = this.farKeys[far[fh + FAR_AT]! + length - 1]!
    this.moveWindowUp(h, nearest - this.slack)
    head[h + BEST_W] = nearest ^ flip
  }

  /**
   * Moves the window to start at `anchor` < the current anchor (better prices): window levels at keys
   * `anchor + windowTicks` and beyond leave it for the far array, farthest first, so they land nearest
   * last — ahead of every far level already there, which are all beyond the old window.
   */
  private moveWindowDown(h: number, anchor: number): void {
    const head = this.head
    const old = head[h + ANCHOR]!
    const cut = Math.max(anchor + this.windowTicks, old)
    for (let key = old + this.windowTicks; ; ) {
      key = this.prevLive(h, key, cut)
      if (key < 0) break
      const at = head[h + LADDER]! + (key & this.mask)
      this.farPush(h, key, this.sizeAt(at))
      this.sizes[at] = 0
    }
    head[h + ANCHOR] = anchor
  }

  /**
   * Moves the window to start at `anchor` > the current anchor (worse prices). Precondition: no window
   * level below `anchor` (they are better than the best). Far levels the window now covers are popped
   * off the far array's end (nearest first) into their slots, which are empty.
   */
  private moveWindowUp(h: number, anchor: number): void {
    const far = this.far
    const fh = this.farOf(h)
    const head = this.head
    head[h + ANCHOR] = anchor
    const end = anchor + this.windowTicks
    const at = far[fh + FAR_AT]!
    let length = far[fh + FAR_LENGTH]!
    const ladder = head[h + LADDER]!
    while (length > 0) {
      const key = this.farKeys[at + length - 1]!
      if (key >= end) break
      const slot = ladder + (key & this.mask)
      this.store(slot, this.farSizes[at + length - 1]!)
      length--
    }
    this.setFarLength(h, length)
  }

  /**
   * Smallest live window key above `key`, or -1. Keys below `key` are never visited (the scan stops at
   * the window's end). A live slot is a non-zero one: the scan reads two slots per int32 load.
   */
  private nextLive(h: number, key: number): number {
    const head = this.head
    const remaining = head[h + ANCHOR]! + this.windowTicks - 1 - key // window ticks above `key`
    if (remaining <= 0) return -1
    const ladder = head[h + LADDER]! // a multiple of windowTicks: slot pairs start on an even slot
    const sizes = this.sizes
    const pairs = this.pairs
    let idx = (key + 1) & this.mask
    let d = 0 // ticks from key + 1 to slot idx
    if ((idx & 1) !== 0) { // the second slot of its pair: alone
      if (sizes[ladder + idx] !== 0) return key + 1
      d = 1
      idx = (idx + 1) & this.mask
    }
    for (; d < remaining; d += 2, idx = (idx + 2) & this.mask) {
      if (pairs[(ladder + idx) >>> 1] !== 0) {
        if (sizes[ladder + idx] === 0) d++
        return d < remaining ? key + 1 + d : -1
      }
    }
    return -1
  }

  /** Largest live window key in `lowest .. before - 1`, or -1. Precondition: anchor ≤ lowest ≤ before ≤ anchor + windowTicks. */
  private prevLive(h: number, before: number, lowest: number): number {
    const span = before - lowest // ticks to look at, from before - 1 down
    if (span <= 0) return -1
    const ladder = this.head[h + LADDER]!
    const sizes = this.sizes
    const pairs = this.pairs
    let idx = (before - 1) & this.mask
    let d = 0 // ticks from before - 1 down to slot idx
    if ((idx & 1) === 0) { // the first slot of its pair: alone
      if (sizes[ladder + idx] !== 0) return before - 1
      d = 1
      idx = (idx - 1) & this.mask
    }
    for (; d < span; d += 2, idx = (idx - 2) & this.mask) {
      if (pairs[(ladder + idx) >>> 1] !== 0) {
        if (sizes[ladder + idx] === 0) d++
        return d < span ? before - 1 - d : -1
      }
    }
    return -1
  }

  private acquireLadder(h: number): void {
    let ladder: number
    if (this.homes) ladder = ((h >>> 4) * 2 + ((h & 15) >>> 1)) * this.windowTicks // side: h & 15 is 0 or 3
    else if (this.ladderFreeCount > 0) ladder = this.ladderFree[--this.ladderFreeCount]!
    else {
      if (this.ladderTop + this.windowTicks > this.sizes.length) this.growLadders()
      ladder = this.ladderTop
      this.ladderTop += this.windowTicks
    }
    this.head[h + LADDER] = ladder
  }

  /** Gives an empty side's ladder (all slots 0) back, and marks the side empty. */
  private releaseLadder(h: number): void {
    const head = this.head
    if (!this.homes) this.ladderFree[this.ladderFreeCount++] = head[h + LADDER]!
    head[h + ANCHOR] = NO_ANCHOR
    head[h + BEST_W] = NO_BEST
  }

  private growLadders(): void {
    const length = Math.min(this.sizes.length * 2, MAX_POOL_SLOTS)
    if (length < this.ladderTop + this.windowTicks) {
      throw new RangeError(`order book ladder pool is full: ${this.sizes.length} slots`)
    }
    const sizes = uint16OnLines(length)
    sizes.set(this.sizes)
    this.sizes = sizes
    if (this.big.length !== 0) {
      const big = new Float64Array(length)
      big.set(this.big)
      this.big = big
    }
    this.pairs = pairsOf(sizes)
    const free = new Int32Array(length / this.windowTicks)
    free.set(this.ladderFree)
    this.ladderFree = free
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: the far array (keys descending; the level nearest the touch last).

  /** Index of `key` in the side's far array, or -1. */
  private farFind(h: number, key: number): number {
    const far = this.far
    const fh = this.farOf(h)
    const at = far[fh + FAR_AT]!
    const length = far[fh + FAR_LENGTH]!
    const i = this.farLowerBound(at, length, key)
    return i < length && this.farKeys[at + i] === key ? i : -1
  }

  /** First index whose key is ≤ `key` (keys descending), in `0 .. length`. */
  private farLowerBound(at: number, length: number, key: number): number {
    const keys = this.farKeys
    let lo = 0
    let hi = length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (keys[at + mid]! > key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Adds `size` to (or sets) the far level at `key`, opening it if needed. Returns the new size or a code. */
  private putFar(h: number, key: number, size: number, add: boolean): number {
    const far = this.far
    const fh = this.farOf(h)
    const length = far[fh + FAR_LENGTH]!
    const i = this.farLowerBound(far[fh + FAR_AT]!, length, key)
    if (i < length && this.farKeys[far[fh + FAR_AT]! + i] === key) {
      const f = far[fh + FAR_AT]! + i
      const next = add ? this.farSizes[f]! + size : size
      if (next > SIZE_MAX) return SIZE_OVERFLOW
      this.farSizes[f] = next
      return next
    }
    if (length === far[fh + FAR_CAPACITY]) this.resizeFar(h, Math.max(MIN_FAR_BLOCK, 2 * length))
    const at = far[fh + FAR_AT]!
    this.shiftFar(at + i, at + length, 1)
    this.farKeys[at + i] = key
    this.farSizes[at + i] = size
    far[fh + FAR_LENGTH] = length + 1
    return size
  }

  /** Takes `size` (> 0) off the far level at `key`, closing it at 0. Returns the new size or a code. */
  private takeFar(h: number, key: number, size: number): number {
    const far = this.far
    const fh = this.farOf(h)
    const at = far[fh + FAR_AT]!
    const length = far[fh + FAR_LENGTH]!
    const i = this.farLowerBound(at, length, key)
    if (i === length || this.farKeys[at + i] !== key) return CANCEL_EXCEEDS_LEVEL
    const old = this.farSizes[at + i]!
    if (size > old) return CANCEL_EXCEEDS_LEVEL
    const next = old - size
    if (next !== 0) {
      this.farSizes[at + i] = next
      return next
    }
    this.shiftFar(at + i + 1, at + length, -1)
    this.setFarLength(h, length - 1)
    return 0
  }

  /**
   * Moves far slots `from .. to - 1` by `by` (±1): opens or closes a slot. New far levels usually open
   * near the end (just beyond the window), so most shifts are short: a plain loop, `copyWithin` for long ones.
   */
  private shiftFar(from: number, to: number, by: number): void {
    const keys = this.farKeys
    const sizes = this.farSizes
    if (to - from > 32) {
      keys.copyWithin(from + by, from, to)
      sizes.copyWithin(from + by, from, to)
    } else if (by > 0) {
      for (let j = to - 1; j >= from; j--) {
        keys[j + 1] = keys[j]!
        sizes[j + 1] = sizes[j]!
      }
    } else {
      for (let j = from; j < to; j++) {
        keys[j - 1] = keys[j]!
        sizes[j - 1] = sizes[j]!
      }
    }
  }

  /** Appends a level nearer than every far level (the window moving down). */
  private farPush(h: number, key: number, size: number): void {
    const far = this.far
    const fh = this.farOf(h)
    const length = far[fh + FAR_LENGTH]!
    if (length === far[fh + FAR_CAPACITY]) this.resizeFar(h, Math.max(MIN_FAR_BLOCK, 2 * length))
    const at = far[fh + FAR_AT]!
    this.farKeys[at + length] = key
    this.farSizes[at + length] = size
    far[fh + FAR_LENGTH] = length + 1
  }

  /** Sets the far length after levels left; frees the block when empty, halves it when a quarter full. */
  private setFarLength(h: number, length: number): void {
    const far = this.far
    const fh = this.farOf(h)
    far[fh + FAR_LENGTH] = length
    const capacity = far[fh + FAR_CAPACITY]!
    if (length === 0) {
      if (capacity !== 0) this.freeFar(far[fh + FAR_AT]!, capacity)
      far[fh + FAR_CAPACITY] = 0
    } else if (capacity > MIN_FAR_BLOCK && length <= capacity >>> 2) this.resizeFar(h, capacity >>> 1)
  }

  /** Moves the side's far levels to a block of `capacity` (≥ length) and frees the old block. */
  private resizeFar(h: number, capacity: number): void {
    const far = this.far
    const fh = this.farOf(h)
    const length = far[fh + FAR_LENGTH]!
    const old = far[fh + FAR_AT]!
    const oldCapacity = far[fh + FAR_CAPACITY]!
    const at = this.allocFar(capacity)
    if (length > 0) {
      this.farKeys.copyWithin(at, old, old + length)
      this.farSizes.copyWithin(at, old, old + length)
    }
    if (oldCapacity !== 0) this.freeFar(old, oldCapacity)
    far[fh + FAR_AT] = at
    far[fh + FAR_CAPACITY] = capacity
  }

  /** A far block of `capacity` (a power of two): from its free list, else fresh (growing the pool). */
  private allocFar(capacity: number): number {
    const c = 31 - Math.clz32(capacity)
    const free = this.farFree[c]!
    if (free >= 0) {
      this.farFree[c] = this.farKeys[free]! // the next free block of this class
      return free
    }
    if (this.farTop + capacity > this.farKeys.length) this.growFar(this.farTop + capacity)
    const at = this.farTop
    this.farTop += capacity
    return at
  }

  private freeFar(at: number, capacity: number): void {
    const c = 31 - Math.clz32(capacity)
    this.farKeys[at] = this.farFree[c]!
    this.farFree[c] = at
  }

  private growFar(needed: number): void {
    const length = Math.min(Math.max(this.farKeys.length * 2, needed), MAX_POOL_SLOTS)
    if (length < needed) throw new RangeError(`order book far pool is full: ${this.farKeys.length} slots`)
    const keys = new Int32Array(length)
    keys.set(this.farKeys)
    this.farKeys = keys
    const sizes = new Float64Array(length)
    sizes.set(this.farSizes)
    this.farSizes = sizes
  }
}
