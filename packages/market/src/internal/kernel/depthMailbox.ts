/**
 * The depth mailbox (kernel tier): how any thread asks a running L2 book stage for the top levels of
 * one symbol's book, without stopping it. One slot per stage instance (a partitioned stage has
 * several; the instance that owns the symbol answers with its book, the others with theirs, untouched).
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once
 *          │ 0x7E1B0D01           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ slots    i32         │ levels   i32         │  make(), plain, once (levels: most per side)
 *  byte 16 ├──────────────────────┼──────────────────────┘
 *          │ lock     i32         │  requesters: compareExchange 0 → 1, Atomics.store 0 (one request at a time)
 *  byte 20 ├──────────────────────┘
 *          │ padding to 64
 *  byte 64 ├─────────────────────────────────────────────┐
 *          │ slot 0 (instance 0), SLOT_BYTES(levels):    │
 *          │  +0   request  i32   requester, Atomics.store (publish: symbol, wanted)
 *          │  +4   symbol   i32   requester, plain, before request
 *          │  +8   wanted   i32   requester, plain, before request (levels per side, ≤ levels)
 *          │  +12  padding to 64: the requester's line
 *          │  +64  response i32   the stage, Atomics.store + notify (publish: all below): = request served
 *          │  +68  state    i32   the stage, plain: sync state (0–4) | TOUCHED (bit 8); -1 unknown symbol
 *          │  +72  bids     i32   the stage, plain: levels written
 *          │  +76  asks     i32   the stage, plain
 *          │  +80  nextSeq  f64   the stage, plain: the sequence number the book expects next (LIVE)
 *          │  +88  padding to 128
 *          │  +128 bid levels: (price f64, size f64) × levels, best first
 *          │  then ask levels: (price f64, size f64) × levels, best first
 *          ├─────────────────────────────────────────────┤
 *          │ slot 1 …                                    │
 *          └─────────────────────────────────────────────┘
 * ```
 *
 * Protocol: a requester takes the lock, writes `symbol` and `wanted` in every slot, then stores a new
 * `request` number (publish), and waits (`Atomics.waitAsync`) on each slot's `response` until it
 * equals that number; then reads the slot and releases the lock. The stage checks its slot's
 * `request` (one Atomics.load) from its timer, between batches: a new number is answered from the book
 * as it stands at that instant — a consistent book, never one mid-update — and `response` stored and
 * notified. JS Atomics are sequentially consistent: the plain writes before each publishing store are
 * visible to a thread whose acquiring load sees that store.
 */
import { ASK, BID, type OrderBooks } from "./orderBook.ts"

export const MAGIC = 0x7e1b0d01
export const VERSION = 1
export const HEADER_BYTES = 64
export const MAX_LEVELS = 4096

// i32 words of the header.
const MAGIC_WORD = 0
const VERSION_WORD = 1
const SLOTS_WORD = 2
const LEVELS_WORD = 3
export const LOCK_WORD = 4

// Offsets within a slot.
export const REQUEST = 0
export const SYMBOL = 4
export const WANTED = 8
export const RESPONSE = 64
export const STATE = 68
export const BIDS = 72
export const ASKS = 76
export const NEXT_SEQ = 80
export const LEVELS_OFFSET = 128
/** `state` bit: the symbol had an update since the answering book was made. */
export const TOUCHED = 256
/** `state` of an answer for a symbol the book does not have. */
export const UNKNOWN = -1

export const slotBytes = (levels: number): number => LEVELS_OFFSET + levels * 2 * 2 * 8
export const slotOffset = (levels: number, slot: number): number => HEADER_BYTES + slot * slotBytes(levels)

export const makeMailbox = (slots: number, levels: number): SharedArrayBuffer => {
  if (!(Number.isInteger(slots) && slots >= 1 && slots <= 1024)) {
    throw new RangeError(`instances must be an integer in 1..1024: instances=${slots}`)
  }
  if (!(Number.isInteger(levels) && levels >= 1 && levels <= MAX_LEVELS)) {
    throw new RangeError(`levels must be an integer in 1..${MAX_LEVELS}: levels=${levels}`)
  }
  const buffer = new SharedArrayBuffer(slotOffset(levels, slots))
  const words = new Int32Array(buffer, 0, HEADER_BYTES / 4)
  words[MAGIC_WORD] = MAGIC
  words[VERSION_WORD] = VERSION
  words[SLOTS_WORD] = slots
  words[LEVELS_WORD] = levels
  return buffer
}

/** `[slots, levels]` of a mailbox, or undefined when `u` is not one. */
export const mailboxShape = (u: unknown): readonly [number, number] | undefined => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return undefined
  const words = new Int32Array(u, 0, HEADER_BYTES / 4)
  if (words[MAGIC_WORD] !== MAGIC || words[VERSION_WORD] !== VERSION) return undefined
  const slots = words[SLOTS_WORD]!
  const levels = words[LEVELS_WORD]!
  return u.byteLength === slotOffset(levels, slots) ? [slots, levels] : undefined
}

/**
 * The stage's side: answers its slot's requests from its books. `syncOf` and `touched` read the
 * books' sequencing state (an `L2Books`; a plain `OrderBooks` answers LIVE and touched).
 */
export class DepthResponder {
  private readonly words: Int32Array
  private readonly f64: Float64Array
  private readonly base: number
  private readonly levels: number
  private readonly scratch: Float64Array

  constructor(buffer: SharedArrayBuffer, slot: number) {
    const shape = mailboxShape(buffer)
    if (shape === undefined) throw new TypeError("depth must be a mailbox from L2Depth.make")
    const [slots, levels] = shape
    if (!(Number.isInteger(slot) && slot >= 0 && slot < slots)) {
      throw new RangeError(`the depth mailbox has ${slots} slot(s), one per instance; this is instance ${slot}`)
    }
    this.words = new Int32Array(buffer)
    this.f64 = new Float64Array(buffer)
    this.base = slotOffset(levels, slot)
    this.levels = levels
    this.scratch = new Float64Array(2 * levels)
  }

  /** Answers a pending request, if any (one atomic load when there is none). */
  serve(
    books: OrderBooks,
    syncOf: (symbol: number) => number,
    touched: (symbol: number) => boolean,
    nextSeq: (symbol: number) => number
  ): void {
    const w = this.words
    const at = this.base >> 2
    // acquire: a new request, with the symbol and count written before it.
    const request = Atomics.load(w, at + (REQUEST >> 2))
    if (request === w[at + (RESPONSE >> 2)]) return
    const symbol = w[at + (SYMBOL >> 2)]!
    const wanted = Math.min(Math.max(w[at + (WANTED >> 2)]!, 0), this.levels)
    const sync = syncOf(symbol)
    const f = this.f64
    const at64 = this.base >> 3
    if (sync < 0) {
      w[at + (STATE >> 2)] = UNKNOWN
      w[at + (BIDS >> 2)] = 0
      w[at + (ASKS >> 2)] = 0
      f[at64 + (NEXT_SEQ >> 3)] = NaN
    } else {
      w[at + (STATE >> 2)] = sync | (touched(symbol) ? TOUCHED : 0)
      f[at64 + (NEXT_SEQ >> 3)] = nextSeq(symbol)
      w[at + (BIDS >> 2)] = this.copy(books, symbol, BID, wanted, at64 + (LEVELS_OFFSET >> 3))
      w[at + (ASKS >> 2)] = this.copy(books, symbol, ASK, wanted, at64 + (LEVELS_OFFSET >> 3) + 2 * this.levels)
    }
    // publish: the answer above, for this request.
    Atomics.store(w, at + (RESPONSE >> 2), request)
    Atomics.notify(w, at + (RESPONSE >> 2))
  }

  private copy(books: OrderBooks, symbol: number, side: number, wanted: number, to: number): number {
    const k = books.depth(symbol, side, wanted, this.scratch)
    if (k <= 0) return 0
    this.f64.set(this.scratch.subarray(0, 2 * k), to)
    return k
  }
}
