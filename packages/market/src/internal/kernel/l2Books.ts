/**
 * L2 feed books (kernel tier): exact books kept in sync with a market-by-price feed, symbol by symbol,
 * by per-symbol sequence numbers — gaps make a book stale, a snapshot resyncs it — and the top of book
 * they publish (best bid and offer with sizes; crossed and locked books flagged, never "fixed").
 *
 * One update is `apply(symbol, op, side, price, size, seq)`. Its outcome is a code:
 *
 * - {@link APPLIED}: applied to the book; the published top of book did not change.
 * - {@link APPLIED_TOP}: applied, and the top of book changed: publish it (the fields `bidPrice` …
 *   `flags` hold it).
 * - {@link DROPPED_STALE}: not applied, because the book is not in sync with the feed (or the update
 *   itself showed a gap).
 * - {@link DROPPED_DUPLICATE}: not applied, because the book has already seen its sequence number.
 * - a negative code: refused (the book unchanged), one of the refusal codes below.
 *
 * After every call `announceStale` says whether that update took the book out of sync: publish a
 * record flagged {@link STALE_FLAG} (the fields hold the last top of book, flagged) to tell downstream
 * that this symbol's quote is no longer live. Exactly one outcome per update, so
 * `updates read = applied + dropped (stale, duplicate) + refused (by code)`.
 *
 * Sequencing, per symbol (`seq` is the feed's per-symbol sequence number, an integer ≥ 0):
 *
 * ```
 *                 update (before any snapshot)          gap, refused update, snapshot out of order
 *   WAITING ──────────────────────────────▶ STALE ◀───────────────────────────────────── LIVE
 *      │ SnapshotBegin(S)                    │ SnapshotBegin(S)        SnapshotEnd(S) ▲  │ SnapshotBegin(S ≥ next)
 *      └─────────────────────────▶ RESYNCING ◀┘ ──────────────────────────────────────┘  ▼
 *                                           (REFRESHING, from LIVE, ends the same way) REFRESHING
 * ```
 *
 * - LIVE, expecting `next`: an incremental (`Add`, `Update`, `Delete`) with `seq = next` is applied
 *   (`next` moves on, whether it is applied or refused); `seq < next` is a duplicate (dropped);
 *   `seq > next` is a gap: the book goes STALE and the update is dropped.
 * - A refused incremental in its place in the sequence also makes the book STALE: the book has missed
 *   a change of the feed it could not apply, so it no longer mirrors it.
 * - STALE (and WAITING): every update is dropped as stale until a `SnapshotBegin`.
 * - A snapshot is `SnapshotBegin`, `SnapshotLevel`s, `SnapshotEnd`, all with the same `seq = S`, the
 *   last sequence number the snapshot reflects. `SnapshotBegin` clears the book; each level sets one
 *   (replacing any level at its price); `SnapshotEnd` makes the book LIVE expecting `S + 1` and
 *   publishes its top of book (flagged {@link SNAPSHOT_FLAG}). A snapshot message whose `seq` differs
 *   from its snapshot's is refused (`SnapshotMismatch`) and the book goes STALE.
 * - Snapshots are applied contiguously: an incremental beyond `S` arriving mid-snapshot cannot be
 *   applied, so the book goes STALE (and the update is dropped); one at or below `S` is a duplicate.
 * - A LIVE book drops a snapshot that reflects no more than it has (`S < next`: duplicate, all its
 *   messages); a newer one refreshes it (REFRESHING, then LIVE at `S + 1`). A snapshot level or end
 *   whose begin the book never saw means a message was lost: the book goes STALE (dropped as stale).
 * - With `firstSeq` set, every book starts LIVE and empty expecting `firstSeq` (a feed replayed from the
 *   start of its session); otherwise every book WAITs for its first snapshot.
 *
 * Updates:
 * - `Add`: a new level at `price` with `size` lots (≥ 1); a level already there is refused
 *   (`LevelExists`).
 * - `Update`: the level's size becomes `size` (0 removes it, as many feeds send it); a missing level is
 *   refused (`LevelMissing`).
 * - `Delete`: the level goes; a missing level is refused (`LevelMissing`); `size` is not read.
 * - `SnapshotLevel`: sets the level (size ≥ 1). `SnapshotBegin` / `SnapshotEnd` read only `seq`.
 * Checks, in order: the symbol, the sequence number (not an integer ≥ 0: `InvalidSequence`) and the op
 * (`BadOp`) — refused without touching the book's state, as the update cannot be placed — then the
 * sequencing above, then the side, the price (a tick in `1 .. maxTick`), the size, the level.
 *
 * Top of book: after each applied incremental (and at `SnapshotEnd`), best bid / best ask and their
 * sizes, and flags {@link CROSSED_FLAG} (bid > ask) or {@link LOCKED_FLAG} (bid = ask) when both sides
 * have levels. It is published when any of these differ from the last one published for the symbol
 * (and always at `SnapshotEnd`). An empty side publishes price 0 and size 0.
 *
 * The status table (optional, see `l2Status.ts`) gets every sync state change and the counts of gaps,
 * stale spells, snapshots, resyncs, crossed and locked books. A symbol's row takes this book's state
 * with the symbol's first update (until then it shows what it showed: `WAITING` in a fresh table, or
 * what a predecessor of a restarted stage left).
 *
 * `L2Books` is an `OrderBooks` (every query of the books works on it); its per-symbol state — the
 * sequence number, the sync state, the last top of book published — lives in the owner words of the
 * symbol's 64-byte block, beside both side headers, so an update reads and writes one line of
 * per-symbol state besides the ladder slot it changes.
 *
 * No `effect` import, no allocation, closure or throw per update. One thread.
 */
import {
  ABSENT,
  BEST,
  BID,
  NEAR_OUTCOMES,
  OrderBooks,
  type OrderBooksOptions,
  OWNER_WORD,
  PRESENT,
  SIDE_WORDS,
  sizeCode,
  SYMBOL_WORDS
} from "./orderBook.ts"
import {
  CROSSED_BIT,
  CROSSED_EVENTS,
  GAPS,
  LIVE,
  LOCKED_BIT,
  LOCKED_EVENTS,
  MISSING,
  REFRESHING,
  RESYNCING,
  RESYNCS,
  SNAPSHOTS,
  STALE,
  STALE_EVENTS,
  StatusWriter,
  tableSymbols
} from "./l2Status.ts"

// The hot path's constants, module-local. V8 reads an exported or imported binding through its module
// cell, with a hole check, at every use (about six instructions, never folded); a module-local `const`
// it folds into the code. So the constants `apply`'s fast path and the publish use are copied here,
// and this module's own exported ones are defined here and exported below their local name.
const WORDS = SYMBOL_WORDS
const SIDE_W = SIDE_WORDS
const BEST_W = BEST
const BID_SIDE = BID
const NEW_LEVEL = ABSENT
const OLD_LEVEL = PRESENT
const LIVE_STATE = LIVE
const NOT_NEAR_CODE = NEAR_OUTCOMES.NOT_NEAR
const NEAR_KEPT_CODE = NEAR_OUTCOMES.NEAR_KEPT
const OP_ADD = 0
const OP_UPDATE = 1
const OP_DELETE = 2
const OP_SNAPSHOT_BEGIN = 3
const OP_SNAPSHOT_LEVEL = 4
const OP_SNAPSHOT_END = 5
const OUT_APPLIED = 0
const OUT_APPLIED_TOP = 1
const FLAG_LOCKED = 1
const FLAG_CROSSED = 2
const SEQ_MAX = Number.MAX_SAFE_INTEGER

/** Operations. */
export const ADD = OP_ADD
export const UPDATE = OP_UPDATE
export const DELETE = OP_DELETE
export const SNAPSHOT_BEGIN = OP_SNAPSHOT_BEGIN
export const SNAPSHOT_LEVEL = OP_SNAPSHOT_LEVEL
export const SNAPSHOT_END = OP_SNAPSHOT_END

/** Outcomes (≥ 0). */
export const APPLIED = OUT_APPLIED
export const APPLIED_TOP = OUT_APPLIED_TOP
export const DROPPED_STALE = 2 as const
export const DROPPED_DUPLICATE = 3 as const

/**
 * Refusals (< 0): the book kernel's codes where they apply (`PRICE_OUT_OF_RANGE` −1, `INVALID_SIZE` −2,
 * `SIZE_OVERFLOW` −3, `UNKNOWN_SYMBOL` −5, `INVALID_SIDE` −6, `LEVEL_EXISTS` −7, `LEVEL_MISSING` −8),
 * then these.
 */
export const BAD_OP = -9 as const
export const INVALID_SEQUENCE = -10 as const
export const SNAPSHOT_MISMATCH = -11 as const

/** Top-of-book flags. */
export const LOCKED_FLAG = FLAG_LOCKED
export const CROSSED_FLAG = FLAG_CROSSED
/** The book went out of sync: the prices are the last published, no longer live. */
export const STALE_FLAG = 4 as const
/** Published at the end of a snapshot. */
export const SNAPSHOT_FLAG = 8 as const
// A symbol's L2 state lives in the owner words of its book block (`OrderBooks` OWNER_WORD..15), the
// same 64 bytes as its two side headers: an update touches one line of per-symbol state. What every
// update reads (both side headers, the sequence number, the state word: words 0..8, 36 bytes) comes
// first, and what only a top-of-book change reads (the published top) last. `OrderBooks` puts each
// block on a line where Node on Linux places the array (its `LINE_SKEW`); where it does not, a block
// spans two lines, and with the hot words first an update still reads one.
/** f64 slot (of the block's 8) of the sequence number: LIVE, the next expected; RESYNCING / REFRESHING, the snapshot's. */
const SEQ_SLOT = OWNER_WORD >>> 1
/** Int32 word: sync state (bits 0–3), the last published state flags (bits 4–7), touched (bit 8). */
const STATE_WORD = OWNER_WORD + 2
/** f64 slots of the last published best bid size and best ask size (word OWNER_WORD + 3 is free). */
const BID_SIZE_SLOT = SEQ_SLOT + 2
const ASK_SIZE_SLOT = SEQ_SLOT + 3
/** Int32 words of the last published best bid and best ask (ticks). */
const BID_PRICE_WORD = OWNER_WORD + 8
const ASK_PRICE_WORD = OWNER_WORD + 9
/** f64 slots per symbol block. */
const SLOTS = SYMBOL_WORDS >>> 1
const SYNC_BITS = 15
const FLAGS_SHIFT = 4
/** Set once the symbol's first update arrived (its row in the status table is then this book's). */
const TOUCHED_BIT = 256
/** The state word's bits `apply`'s fast path tests, and their value there: LIVE, touched. */
const SYNC_TOUCHED = SYNC_BITS | TOUCHED_BIT
const LIVE_TOUCHED = LIVE_STATE | TOUCHED_BIT

/** Largest sequence number: f64 integers are exact to 2^53. */
export const MAX_SEQUENCE = SEQ_MAX

export interface L2BooksOptions extends OrderBooksOptions {
  /** Books start LIVE and empty, expecting this sequence number; without it they wait for a snapshot. */
  readonly firstSeq?: number
  /** A status table (`l2Status.makeTable(symbols)`) to write sync states and event counts into. */
  readonly status?: SharedArrayBuffer
}

/**
 * The feed's books: an `OrderBooks` (every query of the books works on it) that also sequences: `apply`
 * one update at a time; read the published top of book from the fields.
 */
export class L2Books extends OrderBooks {
  // `declare`d fields (as `OrderBooks`'s) are set once, by the constructor alone: see there why.
  /** f64 view of the symbol blocks (8 slots per symbol). */
  declare private readonly slots: Float64Array
  /** The top of book just read. */
  private readonly now = new Float64Array(4)
  declare private readonly status: StatusWriter | undefined

  // The top of book to publish after `APPLIED_TOP`, or the stale record after `announceStale`.
  bidPrice = 0
  bidSize = 0
  askPrice = 0
  askSize = 0
  flags = 0
  /** The last call took its symbol's book out of sync: publish a record flagged `STALE_FLAG`. */
  announceStale = false

  constructor(options: L2BooksOptions) {
    super(options)
    const head = this.head
    this.slots = new Float64Array(head.buffer, head.byteOffset, head.length >>> 1)
    const firstSeq = options.firstSeq
    if (firstSeq !== undefined) {
      if (!(Number.isInteger(firstSeq) && firstSeq >= 0 && firstSeq <= SEQ_MAX)) {
        throw new RangeError(`firstSeq must be an integer in 0..2^53 - 1: firstSeq=${firstSeq}`)
      }
      for (let s = 0; s < options.symbols; s++) {
        head[s * WORDS + STATE_WORD] = LIVE_STATE
        this.slots[s * SLOTS + SEQ_SLOT] = firstSeq
      }
    }
    if (options.status !== undefined) {
      const held = tableSymbols(options.status)
      if (held < options.symbols) {
        throw new RangeError(
          held < 0
            ? "status must be a status table (L2Status.make)"
            : `the status table holds ${held} symbols, the books ${options.symbols}`
        )
      }
    }
    this.status = options.status === undefined ? undefined : new StatusWriter(options.status)
  }

  /** The sync state of `symbol` (`WAITING`, `LIVE`, `STALE`, `RESYNCING`, `REFRESHING`); -1 for a bad symbol. */
  syncOf(symbol: number): number {
    return (symbol >>> 0) === symbol && symbol < this.symbols ? this.head[symbol * WORDS + STATE_WORD]! & SYNC_BITS : -1
  }

  /** Whether `symbol` had an update since this book was made (its status row is this book's). */
  touched(symbol: number): boolean {
    return (symbol >>> 0) === symbol && symbol < this.symbols && (this.head[symbol * WORDS + STATE_WORD]! & TOUCHED_BIT) !== 0
  }

  /** The sequence number `symbol` expects next when LIVE (else the snapshot's, or what it last expected). */
  expectedSeq(symbol: number): number {
    return this.slots[symbol * SLOTS + SEQ_SLOT]!
  }

  /** Applies one update; returns its outcome (see the module comment). */
  apply(symbol: number, op: number, side: number, price: number, size: number, seq: number): number {
    this.announceStale = false
    // Most updates in one pass: a live book's next incremental, at a level in the near window, that
    // does not move the window. The top of book changed only if the update moved the best or resized it:
    // a live book's block holds its top, so the rest is not read. Anything else — and anything this
    // path would refuse — goes the general way, with the book as it was.
    const b = symbol * WORDS
    const q = (b >>> 1) + SEQ_SLOT
    const live = (symbol >>> 0) === symbol && symbol < this.symbols &&
      (this.head[b + STATE_WORD]! & SYNC_TOUCHED) === LIVE_TOUCHED && seq === this.slots[q] && seq < SEQ_MAX &&
      (op >>> 0) === op && op < OP_SNAPSHOT_BEGIN && side === (side & 1) // BID or ASK
    // `putNear` is called for every update (a header < 0 when this is not its case): see there why.
    const h = b + side * SIDE_W
    const next = op === OP_DELETE ? 0 : size
    const near = this.putNear(live ? h : -1, side, price, next, op === OP_ADD)
    if (near !== NOT_NEAR_CODE) {
      this.slots[q] = seq + 1
      // The published top (the block's: the book's before this update) differs only on this side, and
      // only if its best moved or was resized; so it is written without comparing it.
      return near === NEAR_KEPT_CODE ? OUT_APPLIED : this.publishSide(symbol, side, price, next)
    }
    return this.applyInOrder(symbol, op, side, price, size, seq)
  }

  /** `apply`'s every case, in the order of the checks the module comment lists. */
  private applyInOrder(symbol: number, op: number, side: number, price: number, size: number, seq: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return -5 // UNKNOWN_SYMBOL
    const b = symbol * WORDS
    const word = this.head[b + STATE_WORD]!
    if ((word & TOUCHED_BIT) === 0) this.touch(symbol)
    if (!(seq >= 0 && seq <= SEQ_MAX && Math.floor(seq) === seq)) return INVALID_SEQUENCE
    if (!((op >>> 0) === op && op <= OP_SNAPSHOT_END)) return BAD_OP
    const slots = this.slots
    const q = symbol * SLOTS + SEQ_SLOT
    const state = word & SYNC_BITS
    if (op < OP_SNAPSHOT_BEGIN) {
      if (state === LIVE_STATE) {
        const next = slots[q]!
        if (seq !== next) return seq < next ? DROPPED_DUPLICATE : this.gap(symbol, seq - next)
        slots[q] = next + 1
        // Add: a new level (size ≥ 1); Update: a level's new size (0 removes it); Delete: it goes.
        const r = op === OP_ADD
          ? (size === 0 ? this.zeroAdd(symbol, side, price) : this.put(symbol, side, price, size, NEW_LEVEL))
          : this.put(symbol, side, price, op === OP_UPDATE ? size : 0, OLD_LEVEL)
        if (r < 0) {
          this.goStale(symbol)
          return r
        }
        return this.publishUpdate(symbol, side, price, r)
      }
      if ((state === RESYNCING || state === REFRESHING) && seq <= slots[q]!) return DROPPED_DUPLICATE
      // Waiting, stale, or an update past a snapshot still being applied: it cannot be applied.
      if (state !== STALE) this.goStale(symbol)
      return DROPPED_STALE
    }
    if (op === OP_SNAPSHOT_BEGIN) {
      if (state === LIVE_STATE && seq < slots[q]!) return DROPPED_DUPLICATE
      this.clear(symbol)
      this.setSync(symbol, state === LIVE_STATE || state === REFRESHING ? REFRESHING : RESYNCING)
      slots[q] = seq
      return OUT_APPLIED
    }
    if (state === RESYNCING || state === REFRESHING) {
      if (seq !== slots[q]) {
        this.goStale(symbol)
        return SNAPSHOT_MISMATCH
      }
      if (op === OP_SNAPSHOT_LEVEL) {
        // A level replaces any at its price; size 0 is refused (as an Add's), after side and price.
        const r = size === 0 ? this.zeroAdd(symbol, side, price) : this.set(symbol, side, price, size)
        if (r < 0) {
          this.goStale(symbol)
          return r
        }
        return OUT_APPLIED
      }
      // SnapshotEnd: live again.
      this.status?.add(symbol, SNAPSHOTS, 1)
      if (state === RESYNCING) this.status?.add(symbol, RESYNCS, 1)
      this.setSync(symbol, LIVE_STATE)
      slots[q] = seq + 1
      return this.publish(symbol, SNAPSHOT_FLAG)
    }
    if (state === LIVE_STATE && seq < slots[q]!) return DROPPED_DUPLICATE // the rest of an old snapshot
    // A snapshot level or end whose begin this book never saw: a message lost.
    if (state !== STALE) this.goStale(symbol)
    return DROPPED_STALE
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The symbol's first update since this book was made: its row in the status table takes this book's
   * state (a restarted stage starts its books over, and says so symbol by symbol as updates arrive).
   */
  private touch(symbol: number): void {
    const w = symbol * WORDS + STATE_WORD
    this.head[w]! |= TOUCHED_BIT
    this.status?.setSync(symbol, this.head[w]! & SYNC_BITS)
    this.status?.setTop(symbol, 0)
  }

  /** An add of size 0: refused for its size, once side and price have been checked (in that order). */
  private zeroAdd(symbol: number, side: number, price: number): number {
    const where = this.levelSize(symbol, side, price)
    return where < 0 ? where : sizeCode(0, 1)
  }

  /** A sequence gap of `missing` numbers: the book goes stale; the update that showed it is dropped. */
  private gap(symbol: number, missing: number): number {
    this.status?.add(symbol, GAPS, 1)
    this.status?.add(symbol, MISSING, missing > 0x7fffffff ? 0x7fffffff : missing)
    this.goStale(symbol)
    return DROPPED_STALE
  }

  /** Out of sync: the last top of book published, flagged stale, is to be announced. */
  private goStale(symbol: number): void {
    this.setSync(symbol, STALE)
    this.status?.add(symbol, STALE_EVENTS, 1)
    const b = symbol * WORDS
    const head = this.head
    this.bidPrice = head[b + BID_PRICE_WORD]!
    this.askPrice = head[b + ASK_PRICE_WORD]!
    this.bidSize = this.slots[symbol * SLOTS + BID_SIZE_SLOT]!
    this.askSize = this.slots[symbol * SLOTS + ASK_SIZE_SLOT]!
    this.flags = ((head[b + STATE_WORD]! >>> FLAGS_SHIFT) & 15) | STALE_FLAG
    head[b + STATE_WORD] = (head[b + STATE_WORD]! & ~(15 << FLAGS_SHIFT)) | (this.flags << FLAGS_SHIFT)
    this.announceStale = true
  }

  private setSync(symbol: number, sync: number): void {
    const w = symbol * WORDS + STATE_WORD
    this.head[w] = (this.head[w]! & ~SYNC_BITS) | sync
    this.status?.setSync(symbol, sync)
  }

  /** Reads the whole top of book (a snapshot just ended) and publishes it, flagged `mark`. */
  private publish(symbol: number, mark: number): number {
    const now = this.now
    this.readTop(symbol, now, 0)
    return this.compare(symbol, now[0]!, now[1]!, now[2]!, now[3]!, mark)
  }

  /**
   * The top of book after a live update of `side` that left the level at `price` with `size`. While a
   * book is live its block holds its current top (every change was published), and one update moves
   * only its own side: the best there is the book's, and its size is the update's (the update was at
   * the best), the block's (the best did not move), or — the best moved to another level — read.
   * Most updates so read no ladder slot beyond the one they changed.
   */
  private publishUpdate(symbol: number, side: number, price: number, size: number): number {
    const b = symbol * WORDS
    const head = this.head
    const slots = this.slots
    const q = symbol * SLOTS
    const best = head[b + side * SIDE_W + BEST_W]! // symbol and side were checked by the update
    // Bid and ask words (and slots) are adjacent: `+ side` picks the side without a branch.
    const was = head[b + BID_PRICE_WORD + side]!
    const bestSize = best === 0
      ? 0
      : best === price
      ? size
      : best === was
      ? slots[q + BID_SIZE_SLOT + side]!
      : this.bestSize(symbol, side)
    return side === BID_SIDE
      ? this.compare(symbol, best, bestSize, head[b + ASK_PRICE_WORD]!, slots[q + ASK_SIZE_SLOT]!, 0)
      : this.compare(symbol, head[b + BID_PRICE_WORD]!, slots[q + BID_SIZE_SLOT]!, best, bestSize, 0)
  }

  /**
   * Publishes a live book's top after an update at `price` (the level now holds `size` lots) that moved
   * or resized `side`'s best: the other side is the block's, as published.
   */
  private publishSide(symbol: number, side: number, price: number, size: number): number {
    const b = symbol * WORDS
    const head = this.head
    const slots = this.slots
    const q = symbol * SLOTS
    const best = head[b + side * SIDE_W + BEST_W]!
    // Bid and ask words (and slots) are adjacent: `+ side` picks the side without a branch.
    head[b + BID_PRICE_WORD + side] = best
    slots[q + BID_SIZE_SLOT + side] = best === price ? size : this.bestSize(symbol, side)
    const bid = head[b + BID_PRICE_WORD]!
    const ask = head[b + ASK_PRICE_WORD]!
    const state = bid === 0 || ask === 0 ? 0 : bid > ask ? FLAG_CROSSED : bid === ask ? FLAG_LOCKED : 0
    const word = head[b + STATE_WORD]!
    const before = (word >>> FLAGS_SHIFT) & 15
    if (state !== before) this.flagsChanged(symbol, word, before, state)
    this.bidPrice = bid
    this.bidSize = slots[q + BID_SIZE_SLOT]!
    this.askPrice = ask
    this.askSize = slots[q + ASK_SIZE_SLOT]!
    this.flags = state
    return OUT_APPLIED_TOP
  }

  /** The crossed / locked state of a symbol's published top changed: stored, counted, shown. */
  private flagsChanged(symbol: number, word: number, before: number, state: number): void {
    this.head[symbol * WORDS + STATE_WORD] = (word & ~(15 << FLAGS_SHIFT)) | (state << FLAGS_SHIFT)
    if ((state & ~before & (FLAG_CROSSED | FLAG_LOCKED)) !== 0) {
      this.status?.add(symbol, state === FLAG_CROSSED ? CROSSED_EVENTS : LOCKED_EVENTS, 1)
    }
    if ((state ^ before) & (FLAG_CROSSED | FLAG_LOCKED)) {
      this.status?.setTop(symbol, (state & FLAG_CROSSED ? CROSSED_BIT : 0) | (state & FLAG_LOCKED ? LOCKED_BIT : 0))
    }
  }

  /** Publishes the top of book if it differs from the last published for the symbol (or `mark` is set). */
  private compare(symbol: number, bid: number, bidSize: number, ask: number, askSize: number, mark: number): number {
    const state = bid === 0 || ask === 0 ? 0 : bid > ask ? FLAG_CROSSED : bid === ask ? FLAG_LOCKED : 0
    const b = symbol * WORDS
    const head = this.head
    const slots = this.slots
    const q = symbol * SLOTS
    const word = head[b + STATE_WORD]!
    const before = (word >>> FLAGS_SHIFT) & 15
    if (
      mark === 0 && state === before && bid === head[b + BID_PRICE_WORD] && bidSize === slots[q + BID_SIZE_SLOT] &&
      ask === head[b + ASK_PRICE_WORD] && askSize === slots[q + ASK_SIZE_SLOT]
    ) return OUT_APPLIED
    head[b + BID_PRICE_WORD] = bid
    head[b + ASK_PRICE_WORD] = ask
    slots[q + BID_SIZE_SLOT] = bidSize
    slots[q + ASK_SIZE_SLOT] = askSize
    if (state !== before) this.flagsChanged(symbol, word, before, state)
    this.bidPrice = bid
    this.bidSize = bidSize
    this.askPrice = ask
    this.askSize = askSize
    this.flags = state | mark
    return OUT_APPLIED_TOP
  }
}
